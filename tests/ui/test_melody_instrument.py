"""Choosing an instrument in the Melody panel: Play, the WAV file and the MIDI file's program agree."""
from __future__ import annotations

import sys

import mido
import numpy as np
import pytest
from PySide6.QtCore import Qt

from studio.core.audio import soundfont
from studio.core.audio.events import Note, notes_to_events


class RecordingPlayer:
    """Stands in for the sound card (none on CI machines without PortAudio): keeps what Play sends."""
    available, is_playing, reason = True, False, ""

    def __init__(self):
        self.played = []

    def play(self, audio, step_seconds, **kw):
        self.played.append(np.array(audio))
        return True

    def stop(self): pass
    def position_steps(self): return 0.0
    def devices(self): return []
    def close(self): pass


@pytest.fixture
def panel(qtbot, monkeypatch, tmp_path):
    from studio.ui.context import StudioContext
    from studio.ui.panels.melody import MelodyPanel, demo_notes

    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(soundfont, "_reported", set())
    w = MelodyPanel(StudioContext())
    w.player = RecordingPlayer()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.roll.apply(demo_notes(), "demo")
    w._sync()
    yield w
    w.shutdown()


def test_chosen_instrument_plays_exports_and_is_named_in_the_midi(qtbot, panel, tmp_path):
    sf = pytest.importorskip("soundfile")
    from studio.core.export import read_provenance

    assert panel.instrument.currentText() == "Flute"  # the default suits folk tunes
    panel.instrument.setFocus()
    qtbot.keyClicks(panel.instrument, "Violin")  # type to find it, as in any list
    assert panel.instrument.currentText() == "Violin" and panel.instrument.program() == 40
    qtbot.mouseClick(panel.play_btn, Qt.MouseButton.LeftButton)
    [heard] = panel.player.played
    assert not panel.voice.isVisible()  # the SoundFont plays: the numpy voice choice does not matter
    assert "SoundFont TimGM6mb.sf2" in panel.instrument.toolTip()

    wav = panel.export(tmp_path / "tune.wav")
    data, sr = sf.read(str(wav), dtype="float32")
    assert sr == 44100 and len(data) == len(heard) and np.abs(data - heard).max() < 1e-3  # file == preview
    recipe = read_provenance(wav)
    assert recipe["program"] == 40 and recipe["instrument"] == "Violin"
    assert recipe["synth"]["engine"] == "soundfont" and recipe["synth"]["instrument"] == "Violin"

    mid = panel.export(tmp_path / "tune.mid")
    assert [m.program for m in mido.MidiFile(mid).tracks[0] if m.type == "program_change"] == [40]
    assert read_provenance(mid)["instrument"] == "Violin"

    # another instrument sounds different
    panel.instrument.set_program(0)
    qtbot.mouseClick(panel.play_btn, Qt.MouseButton.LeftButton)
    assert np.abs(panel.player.played[-1] - heard).max() > 0.1


def test_a_loaded_midi_file_brings_its_instrument(panel, tmp_path):
    from studio.core.audio.midi import save_midi
    path = save_midi(notes_to_events([Note(60, 0, 4), Note(64, 4, 4)]), tmp_path / "guitar.mid", program=24)
    assert panel.load_midi(path)
    assert panel.instrument.program() == 24 and panel.instrument.currentText() == "Acoustic Guitar (nylon)"


def test_without_a_soundfont_the_voice_choice_appears_and_play_still_works(qtbot, panel, monkeypatch):
    from studio.ui.panels.instrument_picker import InstrumentPicker

    assert not panel.voice.isVisible()
    monkeypatch.setitem(sys.modules, "tinysoundfont", None)  # e.g. uninstalled while the studio runs
    qtbot.mouseClick(panel.play_btn, Qt.MouseButton.LeftButton)
    assert panel.player.played and np.abs(panel.player.played[-1]).max() > 0.1
    assert panel.voice.isVisible() and "built-in synth voice plays instead" in panel.instrument.toolTip()
    picker = InstrumentPicker()  # a panel built without a SoundFont says so from the start
    qtbot.addWidget(picker)
    assert picker.engine == "numpy" and "built-in synth voice" in picker.toolTip()
