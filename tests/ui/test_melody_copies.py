"""The Melody panel's copy check, driven like a user: open a trained run, generate, read the note under
the variations; a model that returns the training tunes is marked as copying."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.fixtures.tiny_runs import train_tiny
from tests.fixtures.toy_plugins import data as toy_data

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def melody_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("copies")
    tunes = toy_data.write_melody_dataset(base / "tunes")
    run = base / "tunes-rnn"
    train_tiny("melody-rnn", tunes, run)
    return run, tunes


@pytest.fixture
def panel(qtbot, melody_run):
    from studio.ui.context import StudioContext
    from studio.ui.panels.melody import MelodyPanel

    w = MelodyPanel(StudioContext())
    qtbot.addWidget(w)
    w.resize(1100, 560)
    w.show()
    w.open_run(str(melody_run[0]))
    qtbot.waitUntil(lambda: w.model is not None and w.copy_index is not None, timeout=60_000)
    yield w
    w.shutdown()


def generate(qtbot, panel, n=3):
    panel.variations.setValue(n)
    qtbot.mouseClick(panel.gen_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.var_list.count() == n and not panel.jobs.busy and bool(panel.copy_note.text()),
                    timeout=60_000)


def test_a_batch_says_how_much_comes_from_the_training_tunes(qtbot, panel):
    generate(qtbot, panel)
    note = panel.copy_note.text()
    assert note.startswith("Original: ") or "starts to copy" in note
    assert "8-note figures" in note


def test_variations_that_copy_the_training_tunes_are_marked(qtbot, panel, melody_run):
    """The index holds the variations themselves (a model that copies by construction)."""
    from studio.core.datasets import load_dataset
    from studio.core.melody_originality import MelodyCopyIndex

    generate(qtbot, panel, n=2)
    made = [panel.var_list.item(i).data(Qt.ItemDataRole.UserRole)[0] for i in range(2)]
    spec = load_dataset(melody_run[1]).spec
    panel.copy_index = MelodyCopyIndex(made, spec.min_pitch)
    panel.var_list.clear()
    generate(qtbot, panel, n=2)  # the same seed: the same two melodies, now found in the "training tunes"
    assert all(panel.var_list.item(i).text().endswith("100% copied") for i in range(2))
    assert "starts to copy" in panel.copy_note.text() and "bold" in panel.copy_note.styleSheet()


def test_a_jig_collection_keeps_its_6_8_in_the_roll_the_lengths_and_the_midi(qtbot, panel, tmp_path):
    import mido

    panel.set_meter("6/8")
    roll = panel.roll
    assert (roll.bar_steps, roll.beat_steps) == (12, 6)  # two dotted-quarter beats a bar
    assert panel.bars.suffix() == " bars of 6/8"
    panel.bars.setValue(2)
    panel.variations.setValue(1)
    generate(qtbot, panel, n=1)
    events = panel.var_list.item(0).data(Qt.ItemDataRole.UserRole)[0]
    assert len(events) == 24 and "· 2 bars" in panel.var_list.item(0).text()
    roll.select_bar(1)
    from studio.ui.panels.piano_roll import STEP_W
    rect = roll._bar_item.rect()
    assert (rect.x(), rect.width()) == (12 * STEP_W, 12 * STEP_W)  # the second bar: steps 12-23
    out = panel.export(tmp_path / "jig.mid")
    sigs = [m for m in mido.MidiFile(str(out)).tracks[0] if m.type == "time_signature"]
    assert [(m.numerator, m.denominator) for m in sigs] == [(6, 8)]


def test_tunes_imported_after_the_model_opened_are_picked_up(qtbot, melody_run, tmp_path):
    """As on the demo: the run opens before its dataset is imported; the import completes the check."""
    import json
    import shutil

    from studio.ui.context import StudioContext
    from studio.ui.panels.melody import MelodyPanel

    run = tmp_path / "late-run"
    shutil.copytree(melody_run[0], run)
    info = json.loads((run / "run.json").read_text())
    dataset = info["dataset"]["path"]
    (run / "run.json").write_text(json.dumps({**info, "dataset": {**info["dataset"], "path": ""}}))
    w = MelodyPanel(StudioContext())
    qtbot.addWidget(w)
    w.open_run(str(run))
    qtbot.waitUntil(lambda: w.model is not None and not w.jobs.busy, timeout=60_000)
    qtbot.wait(200)
    assert w.copy_index is None
    (run / "run.json").write_text(json.dumps(info))  # what the demo import does: the run learns its dataset
    w.ctx.dataset_added.emit(dataset)
    qtbot.waitUntil(lambda: w.copy_index is not None, timeout=30_000)
    w.shutdown()
