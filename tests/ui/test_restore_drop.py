"""Drop-to-restore driven like a user: files exported from real tiny runs are dropped on the window,
the recipe dialog is answered, and the panels show the restored seed, vector and settings."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from studio.core.export import read_provenance
from tests.fixtures.tiny_runs import train_tiny
from tests.fixtures.toy_plugins import data as toy_data
from tests.ui.restore_helpers import answer, dialog_rows, drop  # noqa: F401 - answer: a fixture

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Two real runs (3 training steps each) and files exported from them with their recipes."""
    from studio.core.export.generate import GenerateRequest, generate_files, source_for_run
    from studio.core.project import Project
    from studio.core.training.checkpoints import load_model
    base = tmp_path_factory.mktemp("restore")
    project = Project.create(base / "proj", "Restore")
    images = toy_data.write_dataset(base / "faces", toy_data.image_spec(32), toy_data.image_tensors(16, 32), "toy32")
    tunes = toy_data.write_melody_dataset(base / "tunes")
    vae_run, mel_run = project.runs_dir / "faces-vae", base / "elsewhere" / "tunes-rnn"
    train_tiny("vae", images, vae_run)
    train_tiny("melody-rnn", tunes, mel_run)
    words_old = project.runs_dir / "words-old"
    train_tiny("char-rnn", toy_data.write_text_dataset(base / "fox"), words_old)
    out = base / "exports"
    from studio.core.session import open_run as open_session

    session = open_session(vae_run)  # records the latent vectors in the recipes, as `studio generate` does
    pngs = generate_files(session.model, session.plugin,
                          GenerateRequest(out=out / "pics", n=2, seed=5, temperature=0.7),
                          source_for_run(vae_run, load_model(vae_run)[2]), draw_vectors=session.draw_vectors)
    model, plugin, info = load_model(mel_run)
    [mid] = generate_files(model, plugin, GenerateRequest(out=out / "tune.mid", seed=11, temperature=0.9, top_k=5,
                                                          length=32), source_for_run(mel_run, info))
    model, plugin, info = load_model(words_old)
    texts = generate_files(model, plugin, GenerateRequest(out=out / "texts", n=2, seed=3, temperature=0.6, top_k=4,
                                                          length=20, prime="the "), source_for_run(words_old, info))
    words = words_old.rename(project.runs_dir / "words")  # renamed after export: found by its id in the project
    for run in (vae_run, words):
        project.add_run(run)
    project.save()
    plain = out / "holiday.png"
    from PIL import Image
    Image.new("RGB", (8, 8), (200, 30, 30)).save(plain)
    return {"project": project, "vae": vae_run, "melody": mel_run, "png": pngs[1], "mid": mid, "plain": plain,
            "base": base, "words": words, "txt": texts[1]}


@pytest.fixture
def window(make_studio_window, made):
    win = make_studio_window(project=made["project"], discover=False)
    win.resize(1300, 800)
    selected: list[str] = []
    win.ctx.run_selected.connect(selected.append)
    win.selected = selected
    return win


def test_dropping_a_png_restores_its_vector_in_the_latent_grid(qtbot, window, made, answer):
    recipe = read_provenance(made["png"])
    drop(qtbot, window, made["png"])
    qtbot.waitUntil(lambda: window.restore_drop.last is not None, timeout=10_000)
    shown = answer.seen[0]["rows"]
    assert "faces-vae" in shown["Run"] and "vae" in shown["Model"] and shown["Seed"] == "5 (sample 2 of 2)"
    assert shown["Latent vector"].startswith("4 values") and "temperature 0.7" in shown["Sampling"]
    assert shown["Restores into"] == "Latent grid"
    assert "Content Credentials valid" in shown["Content Credentials"]  # signed at export, checked at the drop
    assert window.selected == [str(made["vae"])]                   # the run opened everywhere
    latent = window.panels["latent"]
    qtbot.waitUntil(lambda: latent.restored is not None, timeout=60_000)
    np.testing.assert_array_equal(latent.selected_vector(), np.asarray(recipe["vector"], np.float32))
    assert latent.restored["seed"] == 5 and "seed 5" in latent.status.text()
    assert Path(latent.loaded.checkpoint).name == Path(recipe["checkpoint"]["path"]).name
    qtbot.waitUntil(lambda: "seed 5" in latent.preview.caption, timeout=20_000)  # shown large too
    # the restored cell decodes to the exported picture
    from PIL import Image
    z = torch.tensor(recipe["vector"])[None]
    want = (latent.loaded.model.decode(z)[0, 0].numpy() * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(np.asarray(Image.open(made["png"])), want)


def test_dropping_a_midi_whose_run_moved_offers_to_pick_the_folder(qtbot, window, made, answer, monkeypatch,
                                                                   tmp_path):
    moved = tmp_path / "moved-run"
    shutil.copytree(made["melody"], moved)
    shutil.rmtree(made["melody"])
    try:
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(moved))
        answer.plan["buttons"] = ["choose", "restore"]
        drop(qtbot, window, made["mid"])
        qtbot.waitUntil(lambda: window.restore_drop.last is not None, timeout=10_000)
    finally:
        shutil.copytree(moved, made["melody"])
    first = answer.seen[0]
    assert "is missing (moved or deleted)" in first["rows"]["Run"] and first["choose_visible"]
    assert first["restore_text"] == "Restore settings only"
    assert window.selected == [str(moved)]
    melody = window.panels["melody"]
    assert (melody.seed.value(), melody.temperature.value(), melody.top_k.value()) == (11, pytest.approx(0.9), 5)
    assert melody.bars.value() == 2 and len(melody.roll.notes) > 0           # the notes came back too
    qtbot.waitUntil(lambda: melody.model is not None and melody.source is not None, timeout=60_000)
    # and what the panel exports now names that run
    out = melody.export(tmp_path / "again.mid")
    assert read_provenance(out)["run"]["path"] == str(moved.resolve())


def test_dropping_a_text_finds_its_renamed_run_and_restores_prime_and_seed(qtbot, window, made, answer):
    drop(qtbot, window, made["txt"])
    qtbot.waitUntil(lambda: window.restore_drop.last is not None, timeout=10_000)
    rows = answer.seen[0]["rows"]
    assert "found in the project" in rows["Run"] and rows["Prime"] == "the " and rows["Restores into"] == "Text"
    assert window.selected == [str(made["words"])]
    text = window.panels["text"]
    assert text.prime.toPlainText() == "the " and text.seed.value() == 4 and text.samples.value() == 1
    assert (text.length.value(), text.temperature.value(), text.top_k.value()) == (20, pytest.approx(0.6), 4)
    qtbot.waitUntil(lambda: text.model is not None, timeout=60_000)
    with qtbot.waitSignal(text.jobs.finished, timeout=30_000):
        text.generate_button.click()
    body = made["txt"].read_text(encoding="utf-8").split("\n\n# ---- ")[0]
    assert text.views[0].text() == body                    # the same sample, written again


def test_a_file_without_a_recipe_is_offered_to_datasets(qtbot, window, made, monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda _p, _t, text, *a, **k: asked.append(text) or QMessageBox.StandardButton.Yes)
    imported: list = []
    monkeypatch.setattr(window.panels["datasets"], "import_paths", lambda paths, *a: imported.append(paths) or True)
    drop(qtbot, window, made["plain"])
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    assert "holiday.png carries no studio recipe" in asked[0] and "Import into Datasets" in asked[0]
    assert imported == [[str(made["plain"])]] and window.selected == []
    # folders and other kinds are not the window's: the Datasets panel keeps its own drops
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(made["base"]))])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    enter.ignore()
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


@pytest.mark.parametrize("field, value, words", [("vector", "abc", "'vector'"), ("format", 5, "not a studio recipe"),
                                                 ("seed", 1e300, "'seed'")])
def test_a_file_with_a_malformed_recipe_is_refused_in_words(qtbot, window, made, monkeypatch, tmp_path,
                                                            field, value, words):
    """Any JSON can sit in a file: a wrong type says which file and field, and nothing is restored."""
    from PIL import Image

    from studio.core.export.images import encode_image

    recipe = {**read_provenance(made["png"]), field: value}
    bad = tmp_path / "tampered.png"
    bad.write_bytes(encode_image(Image.open(made["png"]), recipe))
    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a, **k: warned.append(text))
    drop(qtbot, window, bad)
    qtbot.waitUntil(lambda: bool(warned), timeout=10_000)
    assert "tampered.png" in warned[0] and words in warned[0]
    assert window.restore_drop.last is None and window.selected == []


def test_a_tampered_file_says_so(qtbot, window, made, monkeypatch, tmp_path):
    """One byte of the compressed pixels changed: the picture no longer decodes whole, and its Content
    Credentials say it was changed after export."""
    data = bytearray(made["png"].read_bytes())
    data[data.index(b"IDAT") + 12] ^= 0x01
    bad = tmp_path / "edited.png"
    bad.write_bytes(bytes(data))
    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a, **k: warned.append(text))
    drop(qtbot, window, bad)
    qtbot.waitUntil(lambda: bool(warned), timeout=20_000)
    assert "edited.png" in warned[0] and "TAMPERED" in warned[0]
    assert window.restore_drop.last is None


def test_content_credentials_are_checked_off_the_window_thread(qtbot, made, monkeypatch):
    """The dialog opens at once with "checking…"; the answer replaces it when the background check ends,
    and a file over the size limit is left to `studio verify` in words."""
    import threading

    from studio.core.export import restore_spec
    from studio.ui import restore_dialog
    from studio.ui.restore_dialog import RestoreDialog
    from studio.ui.restore_recipe import Restore

    gate, real = threading.Event(), restore_dialog.check_credentials
    monkeypatch.setattr(restore_dialog, "check_credentials", lambda path: gate.wait(30) and real(path))
    recipe = read_provenance(made["png"])
    dialog = RestoreDialog(Restore(made["png"], recipe, restore_spec(recipe)))
    qtbot.addWidget(dialog)
    assert dialog_rows(dialog)["Content Credentials"] == "checking…"   # the window did not wait for the hash
    assert dialog.check.thread.name == "studio-verify" and dialog.check.thread.is_alive()
    gate.set()
    qtbot.waitUntil(lambda: "valid" in dialog_rows(dialog)["Content Credentials"], timeout=20_000)

    monkeypatch.setattr(restore_dialog, "check_credentials", real)
    monkeypatch.setattr(restore_dialog, "VERIFY_MAX_BYTES", 1000)
    big = RestoreDialog(Restore(made["png"], recipe, restore_spec(recipe)))
    qtbot.addWidget(big)
    qtbot.waitUntil(lambda: "studio verify" in dialog_rows(big)["Content Credentials"], timeout=20_000)
