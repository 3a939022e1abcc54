"""Latent grid: the artist's own picture, dropped on the grid or chosen (right-click › Place your own
file…), is encoded into a bookmark that remembers the file; the cell exported there and walks along a
path made from such bookmarks name the file (and its SHA-256) as a C2PA ingredient, as
`studio interpolate --from-file` does. Other cells claim nothing; a studio export dropped on the grid is
left to the window (restore)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from studio.core.export import read_provenance
from studio.core.export.verification import verify_file
from studio.core.plugins.api import DataSpec, config_from_dict
from studio.core.project import Project
from tests.ui.screens import save_widget
from tests.ui.latent_pointer import centre_of, click, make_panel

pytest.importorskip("c2pa", reason="c2pa-python is a dependency (pyproject.toml)")
torch.set_num_threads(1)


def _vae():
    from studio.core.plugins.registry import get_plugin

    plugin = get_plugin("vae")
    torch.manual_seed(0)
    return plugin.build(config_from_dict(plugin.Config, {"latent_size": 4, "width": 8}),
                        DataSpec(modality="image", image_size=32, channels=3)).eval()


@pytest.fixture
def ctx(tmp_path):
    from studio.ui.context import StudioContext

    return StudioContext(project=Project.create(tmp_path / "proj"))


@pytest.fixture
def panel(qtbot, ctx, monkeypatch, tmp_path):
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))   # this test's own signing key
    p = make_panel(qtbot, ctx, _vae())
    yield p
    p.shutdown()


def _picture(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(path)
    return path


def _drag(widget, path: Path) -> tuple[bool, bool]:
    """Drag ``path`` over ``widget`` and drop it; (enter accepted, drop accepted)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(30, 30), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(QPointF(30, 30), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    if enter.isAccepted():
        QApplication.sendEvent(widget, drop)
    return enter.isAccepted(), drop.isAccepted()


def _ingredients(path) -> list[dict]:
    v = verify_file(path)
    assert v.state == "valid", v.describe()
    return [{k: i[k] for k in ("title", "sha256")} for i in v.ingredient_files]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")
def test_a_placed_picture_is_an_ingredient_of_its_cell_and_walks(qtbot, panel, ctx, tmp_path, monkeypatch):
    import studio.ui.panels.latent_from_file as from_file

    mine = _picture(tmp_path / "my drawing.png", 1)
    before = mine.read_bytes()
    with qtbot.waitSignal(panel.placer.placed, timeout=30_000) as placed:
        assert _drag(panel, mine) == (True, True)
    bm = placed.args[0]
    assert bm["from_file"] == {"name": "my drawing.png", "path": str(mine.resolve())} and "thumbnail" in bm
    assert [b["name"] for b in ctx.project.bookmarks] == ["my drawing"]        # kept in the project
    assert "from your file my drawing.png" in panel.bookmarks.list.item(0).toolTip()
    assert np.allclose(panel.selected_vector(), bm["vector"])                   # selected, mid-grid
    qtbot.waitUntil(lambda: panel.view.cache.get((0, 0)) is not None, timeout=20_000)
    assert panel.status.text().startswith("Placed my drawing.png as the bookmark “my drawing”")

    # the cell where the picture landed
    cell = panel.export_cell(str(tmp_path / "cell.png"))
    assert _ingredients(cell) == [{"title": "my drawing.png", "sha256": _sha(mine)}]
    assert read_provenance(cell)["latent"]["from_files"] == ["my drawing.png"]
    panel.tabs.setCurrentWidget(panel.bookmarks)
    save_widget(panel, "latent-grid-placed-file")

    # a second picture, chosen from the cell menu; a walk between the two names both
    theirs = _picture(tmp_path / "second.png", 2)
    monkeypatch.setattr(from_file.QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(theirs), "")))
    menu = panel.build_context_menu((0, 0), panel.selected_vector())
    [place] = [a for a in menu.actions() if a.text() == "Place your own file…"]
    with qtbot.waitSignal(panel.placer.placed, timeout=30_000):
        place.trigger()
    path = panel.path_from_bookmarks(["my drawing", "second"])
    assert [f["name"] for f in path["from_files"]] == ["my drawing.png", "second.png"]
    out = tmp_path / "walk.gif"
    with qtbot.waitSignal(panel.export_done, timeout=30_000):
        panel.export_walk(str(out), path["name"])
    assert _ingredients(out) == [{"title": "my drawing.png", "sha256": _sha(mine)},
                                 {"title": "second.png", "sha256": _sha(theirs)}]

    # a cell elsewhere, and a walk between plain cells, claim no file
    qtbot.waitUntil(panel.view.complete, timeout=20_000)   # the grid re-centred on the second picture
    click(panel.view, centre_of(panel.view, (1, 1)))
    assert _ingredients(panel.export_cell(str(tmp_path / "other.png"))) == []
    a, b = panel.bookmark(panel.selected_vector(), (1, 1)), panel.bookmark(np.zeros(4, np.float32), None, "zero")
    plain = panel.path_from_bookmarks([a["name"], b["name"]])
    with qtbot.waitSignal(panel.export_done, timeout=30_000):
        panel.export_walk(str(tmp_path / "plain.gif"), plain["name"])
    assert _ingredients(tmp_path / "plain.gif") == []
    assert mine.read_bytes() == before   # the user's file is only read

    # a studio export dropped on the grid is not placed: the window restores it
    assert _drag(panel, cell) == (False, False)


def test_a_file_the_model_cannot_read_is_refused_in_words(qtbot, panel, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    with qtbot.waitSignal(panel.placer.message, timeout=30_000,
                          check_params_cb=lambda m: m.startswith("notes.png:")) as said:
        panel.placer.place(bad)
    assert "notes.png" in said.args[0] and not panel.ctx.project.bookmarks


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")
def test_a_model_that_cannot_encode_leaves_the_drop_to_the_window(qtbot, ctx, tmp_path):
    from tests.ui.latent_doubles import TinyImageModel

    p = make_panel(qtbot, ctx, TinyImageModel())   # decodes only, like a GAN
    try:
        assert _drag(p, _picture(tmp_path / "mine.png", 3)) == (False, False)   # the window offers to import it
        [place] = [a for a in p.build_context_menu((0, 0), np.zeros(p.loaded.latent_dim, np.float32)).actions()
                   if a.text() == "Place your own file…"]
        assert not place.isEnabled() and "cannot encode" in place.toolTip()
    finally:
        p.shutdown()


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")
def test_a_placed_melody_is_an_ingredient_of_its_midi_cell(qtbot, ctx, tmp_path, monkeypatch):
    from studio.core.audio.events import Note, notes_to_events
    from studio.core.audio.midi import save_midi
    from studio.core.plugins.registry import get_plugin

    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    plugin = get_plugin("melody-vae")
    torch.manual_seed(0)
    model = plugin.build(config_from_dict(plugin.Config, {"latent_dim": 4, "enc_hidden": 16, "dec_hidden": 32,
                                                          "dec_layers": 1, "embed": 8, "dropout": 0.0}),
                         DataSpec(modality="melody", phrase_length=32, min_pitch=48, max_pitch=84)).eval()
    tune = save_midi(notes_to_events([Note(p, 4 * i, 4) for i, p in enumerate([60, 62, 64, 65, 67, 65, 64, 62])]),
                     tmp_path / "my tune.mid", bpm=100)
    p = make_panel(qtbot, ctx, model)
    try:
        with qtbot.waitSignal(p.placer.placed, timeout=30_000):
            assert _drag(p, tune) == (True, True)
        qtbot.waitUntil(lambda: p.view.cache.get((0, 0)) is not None, timeout=20_000)
        cell = p.export_cell(str(tmp_path / "cell.mid"))
        assert (tmp_path / "cell.mid.c2pa").is_file()   # MIDI: the credentials in a sidecar
        assert _ingredients(cell) == [{"title": "my tune.mid", "sha256": _sha(tune)}]
    finally:
        p.shutdown()
