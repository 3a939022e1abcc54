"""Datasets panel driven like a user: drop a folder, watch progress, read the report, preview, cancel."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from studio.core.project import Project
from studio.ui.context import StudioContext
from studio.ui.panels.datasets import DatasetsPanel
from tests.core.datasets.corpus import SCALE, melody_events, midi_raw, png_bytes
from tests.ui.screens import save_widget


@pytest.fixture
def panel(qtbot, tmp_path):
    ctx = StudioContext(project=Project.create(tmp_path / "proj", "Test"))
    w = DatasetsPanel(ctx)
    qtbot.addWidget(w)
    w.resize(560, 720)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def _drop(widget, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)


def _pictures(folder: Path) -> Path:
    for kind, colour in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
        (folder / kind).mkdir(parents=True)
        for i in range(4):
            (folder / kind / f"{i}.png").write_bytes(png_bytes((40, 30 + i), colour=colour))
    (folder / "red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n-- cut short")
    (folder / "notes.txt").write_text("a text file among the pictures")
    return folder


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")
def test_drop_a_folder_shows_report_and_adds_dataset(panel, qtbot, tmp_path):
    src = _pictures(tmp_path / "My Pictures")
    added, selected = [], []
    panel.ctx.dataset_added.connect(added.append)
    panel.ctx.dataset_selected.connect(selected.append)
    panel.labels.setChecked(True)
    with qtbot.waitSignal(panel.import_ended, timeout=60_000) as sig:
        _drop(panel, [src])
        assert panel.progress.isVisibleTo(panel) and panel.cancel_btn.isEnabled()
    assert sig.args == ["done"]
    rows = dict((Path(p).name, why) for p, why in panel.report.rows())
    assert rows == {"broken.png": "damaged PNG image (header cannot be read)", "notes.txt": "not an image file (.txt)"}
    assert "8 images accepted, 2 skipped" in panel.report.summary.text()
    assert "red 4" in panel.report.summary.text()
    folder = Path(added[0])
    assert folder.parent == tmp_path / "proj" / "datasets" and folder.name == "My-Pictures-images"
    assert panel.ctx.project.datasets == ["datasets/My-Pictures-images"]
    assert Project.open(tmp_path / "proj").datasets == ["datasets/My-Pictures-images"]
    assert selected[-1] == str(folder) and panel.list.count() == 1
    assert not panel.progress.isVisibleTo(panel)
    assert panel.tabs.currentWidget() is panel.report
    # dropping the same folder again is a cache hit into the same dataset
    with qtbot.waitSignal(panel.import_finished, timeout=60_000) as again:
        _drop(panel, [src])
    assert again.args[0].cached and panel.list.count() == 1
    # a narrow dock: the reasons (and the small-dataset note) wrap instead of being cut off
    panel.resize(330, 720)
    qtbot.wait(50)
    assert not panel.report.reasons_cut(), panel.report.reasons_cut()
    save_widget(panel, "datasets-panel-report")


def test_melody_preview_and_nothing_usable(panel, qtbot, tmp_path):
    src = tmp_path / "tunes"
    src.mkdir()
    (src / "scale.mid").write_bytes(midi_raw(melody_events(SCALE)))
    (src / "drums.mid").write_bytes(midi_raw(melody_events(SCALE, channel=9)))
    with qtbot.waitSignal(panel.import_ended, timeout=60_000):
        assert panel.import_paths([str(src)])
    assert panel.preview.currentIndex() == 1 and "phrases of 32" in panel.preview.caption.text()
    assert any("drums only" in why for _p, why in panel.report.rows())
    panel.tabs.setCurrentWidget(panel.preview)
    save_widget(panel, "datasets-panel-melody")
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "x.txt").write_bytes(b"\0" * 64)
    with qtbot.waitSignal(panel.import_ended, timeout=60_000) as sig:
        panel.import_paths([str(junk)], modality="text")
    assert sig.args == ["empty"] and "Nothing usable" in panel.report.summary.text()
    assert panel.list.count() == 1


def test_cancel_leaves_nothing(panel, qtbot, tmp_path, monkeypatch):
    import studio.core.datasets.images as images

    src = _pictures(tmp_path / "pics")
    real = images.decode_batch

    def slow(*a, **k):  # hold the worker until the user has clicked Cancel
        qtbot.waitUntil(lambda: panel.job._cancel.is_set(), timeout=10_000)
        return real(*a, **k)
    monkeypatch.setattr(images, "decode_batch", slow)
    with qtbot.waitSignal(panel.import_ended, timeout=60_000) as sig:
        panel.import_paths([str(src)], modality="image")
        qtbot.mouseClick(panel.cancel_btn, Qt.MouseButton.LeftButton)
    assert sig.args == ["cancelled"] and "nothing was written" in panel.status.text()
    assert list((tmp_path / "proj" / "datasets").iterdir()) == []


def test_demo_shapes_preview_screenshot(panel, qtbot, monkeypatch):
    import studio.core.datasets.demo as demo

    real = demo.import_demo
    monkeypatch.setattr(demo, "import_demo", lambda m, out, **kw: real(m, out, n=24, **kw))
    panel.size.setValue(32)
    with qtbot.waitSignal(panel.import_ended, timeout=120_000) as sig:
        panel.import_demo("image")
    assert sig.args == ["done"]
    assert panel.tabs.currentWidget() is panel.preview and "24 images" in panel.preview.caption.text()
    assert panel.preview.picture.pixmap().width() > 300
    save_widget(panel, "datasets-panel")


def test_no_project_imports_into_data_dir(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))  # keep other tests' windows free of it
    ctx = StudioContext(project=None)
    w = DatasetsPanel(ctx)
    qtbot.addWidget(w)
    f = tmp_path / "poem.txt"
    f.write_text("Roses are red\nviolets are blue\n" * 20)
    with qtbot.waitSignal(w.import_ended, timeout=60_000):
        w.import_paths([str(f)])
    from studio.core import paths
    assert paths.data_dir() == tmp_path / "data"
    assert (paths.data_dir() / "datasets" / "poem-text" / "manifest.json").is_file()
    assert w.list.count() == 1 and w.list.item(0).text() == "poem-text — 1 text file"
    assert "characters" in w.preview.caption.text()
    w.shutdown()


def test_list_tolerates_manifests_written_by_other_tools(panel, tmp_path):
    import json

    folder = panel.ctx.project.folder / "datasets" / "from-elsewhere"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"format": "studio-dataset/1", "modality": "image", "accepted": 7, "skipped": None}))
    panel.ctx.project.add_dataset(folder)
    panel.refresh()
    texts = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert "from-elsewhere — 7 images" in texts
