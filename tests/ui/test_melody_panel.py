"""Melody panel driven like a user: edit with undo, generate variations, play/stop, export, no-sound path."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from studio.core.audio.events import STEPS_PER_BAR, Note, notes_to_events
from tests.plugins.melody_fixtures import SPEC, tiny_rnn
from tests.ui.screens import save_widget

torch.set_num_threads(1)


@pytest.fixture
def panel(qtbot):
    from studio.ui.context import StudioContext
    from studio.ui.panels.melody import MelodyPanel

    ctx = StudioContext()
    w = MelodyPanel(ctx)
    qtbot.addWidget(w)
    w.resize(1100, 520)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def click_cell(qtbot, roll, step, pitch, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
    from studio.ui.panels.piano_roll import ROW_H, STEP_W
    pos = roll.mapFromScene(step * STEP_W + STEP_W / 2, roll.y_of(pitch) + ROW_H / 2)
    qtbot.mouseClick(roll.viewport(), button, modifier, pos)


def test_edit_notes_with_the_mouse_and_undo(qtbot, panel):
    roll = panel.roll
    assert not panel.play_btn.isEnabled() and not panel.midi_btn.isEnabled()  # empty roll: nothing to play/export
    click_cell(qtbot, roll, 0, 60)
    click_cell(qtbot, roll, 8, 64)
    assert roll.notes == [Note(60, 0, 4), Note(64, 8, 4)]
    # drag the first note up two semitones and two steps later
    from studio.ui.panels.piano_roll import ROW_H, STEP_W
    start = roll.mapFromScene(1 * STEP_W + 3, roll.y_of(60) + ROW_H / 2)
    end = roll.mapFromScene(3 * STEP_W + 3, roll.y_of(62) + ROW_H / 2)
    qtbot.mousePress(roll.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(roll.viewport(), end)
    qtbot.mouseRelease(roll.viewport(), Qt.MouseButton.LeftButton, pos=end)
    assert roll.notes[0] == Note(62, 2, 4)
    # lengthen the second note by dragging its right edge
    edge = roll.mapFromScene(12 * STEP_W - 2, roll.y_of(64) + ROW_H / 2)
    qtbot.mousePress(roll.viewport(), Qt.MouseButton.LeftButton, pos=edge)
    qtbot.mouseMove(roll.viewport(), roll.mapFromScene(15 * STEP_W + 2, roll.y_of(64) + ROW_H / 2))
    qtbot.mouseRelease(roll.viewport(), Qt.MouseButton.LeftButton,
                       pos=roll.mapFromScene(15 * STEP_W + 2, roll.y_of(64) + ROW_H / 2))
    assert roll.notes[1] == Note(64, 8, 8)
    click_cell(qtbot, roll, 9, 64, button=Qt.MouseButton.RightButton)  # delete
    assert roll.notes == [Note(62, 2, 4)]
    qtbot.mouseClick(panel.undo_btn, Qt.MouseButton.LeftButton)
    assert roll.notes == [Note(62, 2, 4), Note(64, 8, 8)]
    for _ in range(2):
        qtbot.mouseClick(panel.undo_btn, Qt.MouseButton.LeftButton)
    assert roll.notes == [Note(60, 0, 4), Note(64, 8, 4)]
    qtbot.mouseClick(panel.redo_btn, Qt.MouseButton.LeftButton)
    assert roll.notes[0] == Note(62, 2, 4)
    click_cell(qtbot, roll, 20, 60, modifier=Qt.KeyboardModifier.ShiftModifier)  # pick bar 2
    assert roll.selected_bar == 1 and panel.bar.value() == 2
    assert panel.midi_btn.isEnabled()


def test_generate_continue_play_stop_export(qtbot, panel, tmp_path):
    from studio.core.audio.midi import read_midi
    from studio.ui.panels.melody import demo_notes

    sf = pytest.importorskip("soundfile")
    assert not panel.gen_btn.isEnabled()  # no model yet
    panel.set_model(tiny_rnn(), "tiny rnn")
    assert panel.gen_btn.isEnabled()
    panel.roll.apply(demo_notes(), 'demo')
    panel.bar.setValue(3)  # continue after two bars of primer
    panel.bars.setValue(2)
    panel.variations.setValue(3)
    panel.seed.setValue(5)
    qtbot.mouseClick(panel.gen_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.var_list.count() == 3 and not panel.jobs.busy, timeout=30_000)
    first = panel.var_list.item(0).data(Qt.ItemDataRole.UserRole)[0]
    primer = notes_to_events(demo_notes(), 64, SPEC.min_pitch, SPEC.max_pitch)[: 2 * STEPS_PER_BAR]
    assert first[: 2 * STEPS_PER_BAR] == primer  # the primer is kept
    assert len(first) == 4 * STEPS_PER_BAR
    assert panel.events() == first  # the first variation is loaded into the roll
    # keep variation 2, regenerate with the same seed: same melodies, the kept one stays on top
    panel.var_list.item(1).setCheckState(Qt.CheckState.Checked)
    kept = panel.var_list.item(1).data(Qt.ItemDataRole.UserRole)[0]
    panel.roll.apply(demo_notes(), 'demo')
    qtbot.mouseClick(panel.gen_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.var_list.count() == 4 and not panel.jobs.busy, timeout=30_000)
    assert panel.var_list.item(0).data(Qt.ItemDataRole.UserRole)[0] == kept
    assert panel.var_list.item(1).data(Qt.ItemDataRole.UserRole)[0] == first

    # play (on the ALSA null device) and stop
    panel.tempo.setValue(300)
    assert panel.play_btn.isEnabled()
    qtbot.mouseClick(panel.play_btn, Qt.MouseButton.LeftButton)
    assert panel.player.is_playing or panel.player.wait(0)
    qtbot.mouseClick(panel.stop_btn, Qt.MouseButton.LeftButton)
    assert not panel.player.is_playing and not panel._timer.isActive()

    # export the three formats; other readers open them, and each carries the recipe
    from studio.core.export import read_provenance
    panel.load_variation(panel.var_list.item(1))           # the first variation of the second run: seed 5
    mid = panel.export(tmp_path / "tune.mid")
    back = read_midi(mid, SPEC.min_pitch, SPEC.max_pitch, length=len(panel.events()))
    assert back.events == panel.events() and back.bpm == pytest.approx(300, abs=0.5)
    recipe = read_provenance(mid)
    assert recipe["disclosure"] == "AI-generated" and recipe["seed"] == 5 and recipe["model"] == "tiny rnn"
    assert recipe["sampling"] == {"temperature": pytest.approx(1.0), "top_k": 0, "top_p": pytest.approx(1.0),
                                  "length_bars": 2, "primer_steps": 2 * STEPS_PER_BAR}
    assert recipe["edited_by_hand"] is False and recipe["bpm"] == 300
    for ext in ("wav", "flac"):
        out = panel.export(tmp_path / f"tune.{ext}")
        data, sr = sf.read(str(out))
        assert sr == 44100 and np.abs(data).max() > 0.05
        synth = read_provenance(out)["synth"]
        assert read_provenance(out)["seed"] == 5 and synth["program"] == panel.instrument.program()
    # a note changed by hand: the next export says so
    panel.roll.apply(panel.roll.notes[:-1], "delete the last note")
    assert read_provenance(panel.export(tmp_path / "edited.mid"))["edited_by_hand"] is True


def test_playhead_moves_with_the_sound(qtbot, panel):
    from studio.ui.panels.melody import demo_notes
    panel.roll.apply(demo_notes(), 'demo')
    panel.loop.setChecked(True)
    seen = []
    orig = panel.roll.set_playhead
    panel.roll.set_playhead = lambda s: (seen.append(s), orig(s))
    assert panel.play()
    qtbot.waitUntil(lambda: len([s for s in seen if s is not None]) >= 3, timeout=5000)
    panel.stop()
    steps = [s for s in seen if s is not None]
    assert len(set(steps)) > 1 and all(0 <= s < 64 for s in steps)
    assert seen[-1] is None  # hidden after stop


def test_load_midi_primer(qtbot, panel, tmp_path, monkeypatch):
    import studio.ui.panels.melody as melody_mod
    from studio.core.audio.midi import save_midi
    path = save_midi(notes_to_events([Note(60, 0, 4), Note(65, 4, 12)]), tmp_path / "primer.mid", bpm=90)
    assert panel.load_midi(path)
    assert panel.roll.notes == [Note(60, 0, 4), Note(65, 4, 12)] and panel.tempo.value() == 90
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"nope")
    shown = []
    monkeypatch.setattr(melody_mod.QMessageBox, "warning", staticmethod(lambda *a: shown.append(a[2])))
    assert not panel.load_midi(bad)
    assert shown and "bad.mid" in shown[0]
    assert panel.roll.notes == [Note(60, 0, 4), Note(65, 4, 12)]  # a bad file leaves the melody alone


def test_without_portaudio_the_panel_says_so_and_keeps_working(qtbot, monkeypatch, tmp_path):
    from studio.core.audio import playback
    from studio.ui.context import StudioContext
    from studio.ui.panels.melody import MelodyPanel, demo_notes

    def missing():
        raise OSError("cannot load library 'libportaudio.so.2'")
    monkeypatch.setattr(playback, "load_sounddevice", missing)
    w = MelodyPanel(StudioContext())
    qtbot.addWidget(w)
    w.show()
    assert not w.audio_label.isHidden() and "PortAudio" in w.audio_label.text()
    w.roll.apply(demo_notes(), 'demo')
    assert not w.play_btn.isEnabled() and "PortAudio" in w.play_btn.toolTip()
    assert w.play() is False
    w.set_model(tiny_rnn())
    w.variations.setValue(1)
    qtbot.mouseClick(w.gen_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.var_list.count() == 1 and not w.jobs.busy, timeout=30_000)
    assert w.wav_btn.isEnabled() and w.export(tmp_path / "x.wav").stat().st_size > 1000
    w.shutdown()


def test_run_selected_loads_through_the_engine_or_explains(qtbot, panel, tmp_path):
    panel.ctx.run_selected.emit(str(tmp_path / "no-such-run"))
    qtbot.waitUntil(lambda: "Could not load" in panel.model_label.text(), timeout=20_000)
    assert "no-such-run" in panel.model_label.text() and panel.model is None


def test_screenshot(qtbot, panel):
    from studio.ui.panels.melody import demo_notes
    panel.set_model(tiny_rnn(), "Melody RNN · demo")
    panel.roll.apply(demo_notes(), 'demo')
    panel.roll.select_bar(2)
    panel.roll.set_playhead(21.5)
    qtbot.wait(50)
    save_widget(panel, "melody-panel", min_colours=20)
