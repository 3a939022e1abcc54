"""The numpy synth: audible, the right length, finite, click-free, every voice; WAV/FLAC export."""
from __future__ import annotations

import numpy as np
import pytest

from studio.core.audio.events import Note, notes_to_events
from studio.core.audio.synth import VOICES, render, step_seconds, write_audio

EVENTS = notes_to_events([Note(60, 0, 4), Note(64, 4, 4), Note(67, 8, 2), Note(72, 10, 6)], 16)


@pytest.mark.parametrize("voice", VOICES)
def test_render_is_audible_finite_and_the_right_length(voice):
    audio = render(EVENTS, bpm=120, voice=voice, volume=0.8, sample_rate=22050, tail=0.25)
    assert audio.dtype == np.float32
    assert len(audio) == round(16 * step_seconds(120) * 22050) + round(0.25 * 22050)
    assert np.isfinite(audio).all()
    assert np.sqrt(np.mean(audio ** 2)) > 0.01  # not silent
    assert np.abs(audio).max() <= 0.8 + 1e-6  # volume is the ceiling


@pytest.mark.parametrize("voice", VOICES)
def test_no_clicks_between_notes(voice):
    # back-to-back notes: no sample-to-sample jump larger than a steady tone of the highest pitch makes
    events = notes_to_events([Note(60 + (i % 5) * 2, i * 2, 2) for i in range(8)], 16)
    audio = render(events, voice=voice, volume=1.0)
    steady = render(notes_to_events([Note(68, 0, 16)], 16), voice=voice, volume=1.0)
    assert np.abs(np.diff(audio)).max() <= 1.25 * np.abs(np.diff(steady)).max()
    assert abs(float(audio[0])) < 1e-3 and abs(float(audio[-1])) < 1e-3


def test_rests_are_silent_and_volume_scales():
    events = notes_to_events([Note(60, 8, 4)], 16)
    audio = render(events, tail=0.0)
    assert np.abs(audio[: int(8 * step_seconds(120) * 44100)]).max() == 0.0
    loud, quiet = render(EVENTS, volume=0.8), render(EVENTS, volume=0.2)
    assert np.allclose(quiet * 4, loud, atol=1e-5)


def test_unknown_voice_is_refused():
    with pytest.raises(ValueError, match="voice"):
        render(EVENTS, voice="kazoo")


@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_write_audio_at_44k(tmp_path, ext):
    sf = pytest.importorskip("soundfile")
    audio = render(EVENTS)
    path = write_audio(tmp_path / f"m{ext}", audio)
    data, sr = sf.read(str(path), dtype="float32")
    assert sr == 44100 and len(data) == len(audio)
    assert np.abs(data - audio).max() < 1e-3
    with pytest.raises(ValueError, match="unknown audio format"):
        write_audio(tmp_path / "m.mp3", audio)
