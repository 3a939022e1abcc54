"""MIDI export: the melody plus text meta events carrying the recipe and the disclosure.

Builds on :func:`studio.core.audio.midi.events_to_midi`, which writes the
recipe as a ``studio:``-prefixed JSON text event (the form its reader already
understands). We add the disclosure line as a second text event so other MIDI
tools show that the file is AI-generated. The copyright event is left out: it is
the artist's to fill in.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import mido

from studio.core.audio.instruments import DEFAULT_PROGRAM
from studio.core.export.credentials import write_sidecar
from studio.core.export.naming import check_target
from studio.core.export.provenance import DISCLOSURE_LINE, finalize, source_label
from studio.core.fileio import atomic_write_bytes


def melody_midi(events: Any, recipe: dict[str, Any] | None, *, bpm: float = 120,
                program: int = DEFAULT_PROGRAM, min_pitch: int | None = None,
                time_signature: str | None = None, key: str | None = None) -> mido.MidiFile:
    from studio.core.audio.midi import events_to_midi

    if hasattr(events, "detach"):
        events = events.detach().cpu().reshape(-1).tolist()
    recipe = finalize(recipe)
    kwargs = {} if min_pitch is None else {"min_pitch": int(min_pitch)}
    mid = events_to_midi(list(map(int, events)), bpm=bpm, program=program, track_name=source_label(recipe),
                         text_meta=recipe, time_signature=time_signature, key=key, **kwargs)
    # Disclosure as its own plain-text event, right after the recipe's (which stays the first text event,
    # where readers look for it), for tools that show meta text. Not the copyright event: that is the artist's.
    track = mid.tracks[0]
    at = next((i + 1 for i, m in enumerate(track) if m.is_meta and m.type == "text"), 1)
    track.insert(at, mido.MetaMessage("text", text=DISCLOSURE_LINE, time=0))
    return mid


def save_midi(events: Any, path: str | Path, recipe: dict[str, Any] | None, *, bpm: float = 120,
              program: int = DEFAULT_PROGRAM, min_pitch: int | None = None, overwrite: bool = False,
              time_signature: str | None = None, key: str | None = None) -> Path:
    """Write the melody; ``time_signature`` / ``key`` as the dataset's manifest records them (4/4, none if unknown)."""
    from studio.core.audio.midi import midi_bytes

    path = check_target(path, overwrite)
    atomic_write_bytes(path, midi_bytes(melody_midi(events, recipe, bpm=bpm, program=program, min_pitch=min_pitch,
                                                    time_signature=time_signature, key=key)))
    write_sidecar(path, finalize(recipe))  # MIDI has no C2PA embedding: Content Credentials in NAME.mid.c2pa
    return path
