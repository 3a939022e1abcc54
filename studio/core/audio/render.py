"""Melody events -> audio with a General MIDI instrument: what Play, WAV/FLAC export and
``studio generate`` all call, so every route sounds the same.

A SoundFont plays the chosen program (``studio.core.audio.soundfont``); without one the numpy
synth's ``voice`` plays instead. Each rendering says which synth made it, for the recipe.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from studio.core.audio.events import MIN_PITCH, Note, events_to_notes
from studio.core.audio.instruments import DEFAULT_PROGRAM, check_program, program_name
from studio.core.audio.synth import SAMPLE_RATE, render_notes, step_seconds

SOUNDFONT_TAIL = 0.6  # seconds after the last step: sampled instruments ring longer than the numpy voices


@dataclass
class Rendering:
    audio: np.ndarray                      # float32 mono, peak at most ``volume``
    synth: dict = field(default_factory=dict)  # what made it, for the recipe


def render_melody_notes(notes: list[Note], n_steps: int, *, bpm: float = 120, program: int = DEFAULT_PROGRAM,
                        volume: float = 0.8, sample_rate: int = SAMPLE_RATE, voice: str = "sine",
                        tail: float | None = None) -> Rendering:
    """``notes`` played by GM ``program`` through the SoundFont, or the numpy ``voice`` without one."""
    from studio.core.audio.soundfont import current_synth, render_sf

    program = check_program(program)
    choice, loaded = current_synth(sample_rate)
    info = {"program": program, "instrument": program_name(program), "sample_rate": int(sample_rate)}
    if loaded is not None:
        audio = render_sf(loaded, notes, n_steps, step_seconds(bpm), program, sample_rate,
                          SOUNDFONT_TAIL if tail is None else tail)
        peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
        # SoundFonts differ in level: scale to the same peak the numpy synth reaches
        audio = (audio * (float(volume) / peak) if peak > 0 else audio).astype(np.float32)
        return Rendering(audio, {"engine": "soundfont", "soundfont": choice.path.name, **info})
    audio = render_notes(notes, n_steps, bpm, voice, volume, sample_rate, 0.25 if tail is None else tail)
    return Rendering(audio, {"engine": "numpy", "voice": voice, **info})


def render_melody(events, *, bpm: float = 120, program: int = DEFAULT_PROGRAM, volume: float = 0.8,
                  sample_rate: int = SAMPLE_RATE, min_pitch: int = MIN_PITCH, voice: str = "sine",
                  tail: float | None = None) -> Rendering:
    """Event ids -> :class:`Rendering`, ``len(events)`` steps plus the instrument's release."""
    events = [int(e) for e in events]
    return render_melody_notes(events_to_notes(events, min_pitch), len(events), bpm=bpm, program=program,
                               volume=volume, sample_rate=sample_rate, voice=voice, tail=tail)
