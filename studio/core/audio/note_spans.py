"""Note spans of a MIDI track: the one loop the importer and the primer loader share (no mido import)."""
from __future__ import annotations

DRUM_CHANNEL = 9  # General MIDI channel 10


class TooManyNotes(ValueError):
    """More notes than a melody file could hold: refuse instead of looping over millions."""


def track_note_spans(track, max_notes: int | None = None) -> tuple[list[tuple[int, int, int]], int]:
    """``(start_tick, end_tick, pitch)`` of a track's non-drum notes, and the number of drum hits.

    A note never switched off ends with the track. ``max_notes`` bounds the work on hostile files.
    """
    spans: list[tuple[int, int, int]] = []
    drums = 0
    now = 0
    open_notes: dict[tuple[int, int], list[int]] = {}
    for msg in track:
        now += msg.time
        if msg.is_meta or msg.type not in ("note_on", "note_off"):
            continue
        if msg.channel == DRUM_CHANNEL:
            drums += 1
            continue
        key = (msg.channel, msg.note)
        if msg.type == "note_on" and msg.velocity > 0:
            open_notes.setdefault(key, []).append(now)
        elif open_notes.get(key):
            spans.append((open_notes[key].pop(0), now, msg.note))
            if max_notes is not None and len(spans) > max_notes:
                raise TooManyNotes(f"more than {max_notes:,} notes; not a melody file")
    for (_channel, note), starts in open_notes.items():
        spans.extend((s, max(now, s + 1), note) for s in starts)
    return spans, drums
