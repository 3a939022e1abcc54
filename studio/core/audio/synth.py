"""A small numpy synth: melody events -> float32 mono audio.

Each note is an oscillator shaped by an ADSR envelope that starts and ends at
zero, so consecutive notes never click; releases ring into the next note and
are mixed, like a real instrument. Voices: sine, square (band-limited odd
harmonics), pluck (bright attack whose upper harmonics die first, a cheap
plucked string) and pad (two detuned band-limited saws, slow attack).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core.audio.events import MIN_PITCH, STEPS_PER_QUARTER, Note, events_to_notes

SAMPLE_RATE = 44100
VOICES = ("sine", "square", "pluck", "pad")
AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC"}


@dataclass(frozen=True)
class Envelope:
    attack: float   # seconds
    decay: float    # seconds
    sustain: float  # level 0..1
    release: float  # seconds


ENVELOPES = {
    "sine": Envelope(0.006, 0.08, 0.75, 0.06),
    "square": Envelope(0.004, 0.05, 0.6, 0.05),
    "pluck": Envelope(0.002, 0.35, 0.0, 0.08),
    "pad": Envelope(0.12, 0.2, 0.8, 0.35),
}


def step_seconds(bpm: float) -> float:
    """Length of one 16th-note step at ``bpm`` quarter notes per minute."""
    return 60.0 / float(bpm) / STEPS_PER_QUARTER


def midi_to_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def adsr(n_on: int, env: Envelope, sr: int) -> np.ndarray:
    """Envelope for a note held ``n_on`` samples followed by its release (starts and ends at 0)."""
    a = max(1, int(env.attack * sr))
    d = max(1, int(env.decay * sr))
    r = max(1, int(env.release * sr))
    shape = np.concatenate([
        np.linspace(0.0, 1.0, a, endpoint=False),
        np.linspace(1.0, env.sustain, d, endpoint=False),
    ])
    if len(shape) >= n_on:
        held = shape[:n_on]
    else:
        held = np.concatenate([shape, np.full(n_on - len(shape), env.sustain)])
    level = held[-1] if len(held) else 0.0
    release = np.linspace(level, 0.0, r + 1)[1:]  # ends exactly at zero
    return np.concatenate([held, release]).astype(np.float32)


def _oscillator(voice: str, f: float, n: int, sr: int) -> np.ndarray:
    t = np.arange(n, dtype=np.float64) / sr
    if voice == "sine":
        return np.sin(2 * np.pi * f * t)
    nyq = sr / 2
    if voice == "square":
        out = np.zeros(n)
        for k in range(1, 40, 2):  # odd harmonics below Nyquist: no aliasing
            if k * f >= nyq:
                break
            out += np.sin(2 * np.pi * k * f * t) / k
        return out * (4 / np.pi) * 0.6
    if voice == "pluck":
        out = np.zeros(n)
        for k in range(1, 16):
            if k * f >= nyq:
                break
            # higher harmonics decay faster, as on a plucked string
            out += np.sin(2 * np.pi * k * f * t) * np.exp(-t * (2.0 + 3.0 * k)) / k
        return out
    if voice == "pad":
        out = np.zeros(n)
        for detune in (-0.004, 0.004):
            fd = f * (1 + detune)
            for k in range(1, 12):
                if k * fd >= nyq:
                    break
                out += np.sin(2 * np.pi * k * fd * t + detune * 100 * k) / (k * 1.6)
        return out * 0.35
    raise ValueError(f"voice {voice!r} is not one of {', '.join(VOICES)}")


def render_notes(notes: list[Note], n_steps: int, bpm: float = 120, voice: str = "sine", volume: float = 0.8,
                 sample_rate: int = SAMPLE_RATE, tail: float = 0.25) -> np.ndarray:
    """Mono float32 audio of ``n_steps`` steps plus ``tail`` seconds for the last release."""
    if voice not in VOICES:
        raise ValueError(f"voice {voice!r} is not one of {', '.join(VOICES)}")
    sr = int(sample_rate)
    step = step_seconds(bpm) * sr
    total = int(round(n_steps * step)) + int(round(tail * sr))
    out = np.zeros(total, dtype=np.float32)
    env = ENVELOPES[voice]
    for note in notes:
        start = int(round(note.start * step))
        if start >= total:
            continue
        n_on = max(1, int(round(note.duration * step)))
        shape = adsr(n_on, env, sr)
        n = min(len(shape), total - start)
        wave = _oscillator(voice, midi_to_hz(note.pitch), n, sr).astype(np.float32)
        if n < len(shape):  # cut by the end of the buffer: fade out quickly instead of clicking
            fade = min(n, int(0.005 * sr))
            shape = shape[:n].copy()
            shape[n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        out[start:start + n] += wave * shape[:n]
    peak = float(np.max(np.abs(out))) if total else 0.0
    if peak > 1.0:  # overlapping releases: scale down rather than clip
        out /= peak
    return (out * float(volume)).astype(np.float32)


def render(events, bpm: float = 120, voice: str = "sine", volume: float = 0.8, sample_rate: int = SAMPLE_RATE,
           min_pitch: int = MIN_PITCH, tail: float = 0.25) -> np.ndarray:
    """Event ids -> float32 mono audio, ``len(events)`` steps long plus ``tail`` seconds."""
    events = [int(e) for e in events]
    return render_notes(events_to_notes(events, min_pitch), len(events), bpm, voice, volume, sample_rate, tail)


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """WAV (16-bit) or FLAC (16-bit) by extension, written atomically."""
    import io

    import soundfile as sf

    from studio.core.fileio import atomic_write_bytes

    path = Path(path)
    fmt = AUDIO_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown audio format (use {', '.join(AUDIO_FORMATS)})")
    buf = io.BytesIO()
    sf.write(buf, np.clip(audio, -1.0, 1.0), int(sample_rate), format=fmt, subtype="PCM_16")
    atomic_write_bytes(path, buf.getvalue())
    return path
