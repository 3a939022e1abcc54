"""Melodies through the General MIDI SoundFont: real instruments, in tune, deterministic; a bad
SoundFont is refused in words and the built-in one (or the numpy synth) plays instead."""
from __future__ import annotations

import logging
import os
import sys

import mido
import numpy as np
import pytest

from studio.core.audio import soundfont
from studio.core.audio.events import Note, notes_to_events
from studio.core.audio.instruments import DEFAULT_PROGRAM, GM_PROGRAMS, parse_program
from studio.core.audio.render import SOUNDFONT_TAIL, render_melody
from studio.core.audio.synth import render, step_seconds

SR = 44100
A4 = notes_to_events([Note(69, 0, 16)], 16)  # two seconds of A4 at 120 BPM
FLUTE, PIANO, VIOLIN = 73, 0, 40


@pytest.fixture(autouse=True)
def own_preferences(tmp_path, monkeypatch):
    """Each test its own config folder (the SoundFont choice) and its own once-only log."""
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(soundfont, "_reported", set())


def spectrum(audio):
    x = audio[int(0.1 * SR):int(1.5 * SR)].astype(np.float64)  # the held part, after the attack
    mag = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=1 << 18))
    return np.fft.rfftfreq(1 << 18, 1 / SR), mag


def fundamental(audio) -> float:
    f, mag = spectrum(audio)
    band = (f > 300) & (f < 600)  # around A4; a stronger harmonic elsewhere must not win
    return float(f[band][np.argmax(mag[band])])


def harmonics(audio, n=8) -> np.ndarray:
    """Amplitudes of harmonics 1..n of A4 relative to the first."""
    f, mag = spectrum(audio)
    f0 = fundamental(audio)
    amps = np.array([mag[(f > k * f0 * 0.97) & (f < k * f0 * 1.03)].max() for k in range(1, n + 1)])
    return amps / amps[0]


def test_the_builtin_general_midi_soundfont_is_found_and_plays():
    choice, loaded = soundfont.current_synth()
    assert choice.engine == "soundfont" and choice.source == "built-in" and loaded is not None
    assert choice.path.name == "TimGM6mb.sf2" and "pretty_midi" not in sys.modules  # found, not imported
    sound = render_melody(A4, program=FLUTE, volume=0.8)
    assert sound.synth == {"engine": "soundfont", "soundfont": "TimGM6mb.sf2", "program": FLUTE,
                           "instrument": "Flute", "sample_rate": SR}
    assert sound.audio.dtype == np.float32 and np.isfinite(sound.audio).all()
    assert len(sound.audio) == round(16 * step_seconds(120) * SR) + round(SOUNDFONT_TAIL * SR)
    assert np.abs(sound.audio).max() == pytest.approx(0.8, abs=1e-4)  # volume is the peak, as with the numpy synth
    assert abs(float(sound.audio[-1])) < 1e-3  # faded at the end, no click


@pytest.mark.parametrize("program", [FLUTE, PIANO, VIOLIN])
def test_a4_is_in_tune_and_has_harmonics(program):
    audio = render_melody(A4, program=program).audio
    assert fundamental(audio) == pytest.approx(440.0, rel=0.01)  # 17 cents: a wrong note is 100
    h = harmonics(audio)
    assert h[1:5].sum() > 0.2  # overtones a sine does not have
    assert harmonics(render(A4, voice="sine"))[1:5].sum() < 0.01


def test_instruments_sound_different_from_each_other_and_from_the_numpy_synth():
    flute, piano, violin = (harmonics(render_melody(A4, program=p).audio) for p in (FLUTE, PIANO, VIOLIN))
    sine = harmonics(render(A4, voice="sine"))
    assert np.abs(flute - piano).sum() > 0.15 and np.abs(flute - violin).sum() > 0.3
    assert np.abs(piano - violin).sum() > 0.3
    for h in (flute, piano, violin):
        assert np.abs(h - sine).sum() > 0.5


def test_rendering_is_deterministic_even_after_another_instrument():
    tune = notes_to_events([Note(67, 0, 4), Note(72, 4, 2), Note(72, 6, 2), Note(74, 8, 8)], 16)
    first = render_melody(tune, program=FLUTE).audio
    render_melody(tune, program=VIOLIN)  # leaves voices ringing in the cached synth
    assert np.array_equal(render_melody(tune, program=FLUTE).audio, first)


def test_program_names_and_numbers():
    assert len(GM_PROGRAMS) == 128 and GM_PROGRAMS[FLUTE] == "Flute" and DEFAULT_PROGRAM == FLUTE
    assert parse_program("Flute") == parse_program("flute") == parse_program(" 73 ") == FLUTE
    assert parse_program("acoustic grand piano") == 0 and parse_program("nylon") == 24
    with pytest.raises(ValueError, match="ambiguous.*Acoustic Grand Piano"):
        parse_program("piano")
    with pytest.raises(ValueError, match=r"unknown instrument 'Kazoo'.*--program list"):
        parse_program("Kazoo")
    with pytest.raises(ValueError, match="0-127"):
        parse_program(128)


def test_exported_midi_names_the_instrument(tmp_path):
    from studio.core.audio.midi import read_midi
    from studio.core.export.midi import save_midi

    for program, name in ((VIOLIN, "violin"), (None, "default")):
        kw = {} if program is None else {"program": program}
        path = save_midi(A4, tmp_path / f"{name}.mid", {"seed": 1}, **kw)
        msgs = list(mido.MidiFile(path).tracks[0])
        changes = [m for m in msgs if m.type == "program_change"]
        first_note = next(i for i, m in enumerate(msgs) if m.type == "note_on")
        assert [(m.program, m.channel) for m in changes] == [(program or DEFAULT_PROGRAM, 0)]
        assert msgs.index(changes[0]) < first_note  # set before the first note sounds
        assert read_midi(path).program == (program or DEFAULT_PROGRAM)


def _bad(tmp_path, kind):
    path = tmp_path / f"{kind}.sf2"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # opening it would block forever: it must be refused from its stat alone
    elif kind == "garbage":
        path.write_bytes(b"\x00\x13garbage" * 1000)
    elif kind == "broken":
        path.write_bytes(b"RIFF\x10\x00\x00\x00sfbk" + b"\xff" * 4000)
    elif kind == "huge":
        with open(path, "wb") as fh:  # sparse: no disk used
            fh.write(b"RIFF\x00\x00\x00\x00sfbk")
            fh.truncate(soundfont.MAX_BYTES + 1)
    return path


BAD = {"missing": "not found", "folder": "not a regular file", "fifo": "not a regular file",
       "garbage": "not a SoundFont 2 file", "broken": "not a usable SoundFont", "huge": "larger than the 512 MiB"}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_soundfont_is_refused_by_name_and_the_builtin_one_plays(tmp_path, kind, caplog):
    if kind == "fifo" and not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    good = tmp_path / "mine.sf2"
    good.write_bytes(soundfont.builtin_soundfont().read_bytes())
    assert soundfont.choose_soundfont(good) == good.resolve()
    bad = _bad(tmp_path, kind)
    with pytest.raises(soundfont.SoundFontError, match=rf"{kind}\.sf2: .*{BAD[kind]}"):
        soundfont.choose_soundfont(bad)
    assert soundfont.chosen_soundfont() == good.resolve()  # the choice stays as it was
    assert soundfont.current_synth()[0].source == "preferences"

    # the chosen file goes bad later (moved, overwritten): said once, the built-in SoundFont plays
    (tmp_path / "config" / soundfont.PREFS_FILE).write_text(f'{{"soundfont": "{bad}"}}')
    with caplog.at_level(logging.WARNING, logger="studio.core.audio.soundfont"):
        first = render_melody(A4, program=VIOLIN)
        again = render_melody(A4, program=VIOLIN)
    assert first.synth["engine"] == again.synth["engine"] == "soundfont"
    assert first.synth["soundfont"] == "TimGM6mb.sf2"
    said = [r.getMessage() for r in caplog.records if f"{kind}.sf2" in r.getMessage()]
    assert len(said) == 1 and BAD[kind] in said[0] and "using the built-in SoundFont" in said[0]


def test_without_tinysoundfont_or_a_soundfont_the_numpy_synth_plays(monkeypatch, caplog):
    expected = render(A4, voice="pluck", volume=0.5)
    monkeypatch.setitem(sys.modules, "tinysoundfont", None)  # import fails as if it were not installed
    with caplog.at_level(logging.WARNING, logger="studio.core.audio.soundfont"):
        sound = render_melody(A4, program=FLUTE, voice="pluck", volume=0.5)
        render_melody(A4, program=FLUTE, voice="pluck", volume=0.5)
    assert sound.synth == {"engine": "numpy", "voice": "pluck", "program": FLUTE, "instrument": "Flute",
                           "sample_rate": SR}
    assert np.array_equal(sound.audio, expected)
    assert len([r for r in caplog.records if "tinysoundfont cannot be used" in r.getMessage()]) == 1
    monkeypatch.delitem(sys.modules, "tinysoundfont")
    monkeypatch.setattr(soundfont, "builtin_soundfont", lambda: None)  # pretty_midi not installed
    choice, loaded = soundfont.current_synth()
    assert choice.engine == "numpy" and loaded is None and "TimGM6mb.sf2" in choice.notes[0]


def test_a_users_soundfont_is_used_and_can_be_dropped_again(tmp_path):
    mine = tmp_path / "My Bank.sf2"
    mine.write_bytes(soundfont.builtin_soundfont().read_bytes())
    soundfont.choose_soundfont(mine)
    assert render_melody(A4, program=PIANO).synth["soundfont"] == "My Bank.sf2"
    soundfont.choose_soundfont(None)
    assert soundfont.chosen_soundfont() is None
    assert render_melody(A4, program=PIANO).synth["soundfont"] == "TimGM6mb.sf2"
