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


# -- guards the importer and the primer loader share (hostile timing) ------------------------------
MIN_BPM, MAX_BPM = 20.0, 400.0
MAX_MELODY_STEPS = 200_000  # 16th steps: 52 minutes at 240 BPM; a note beyond is a hostile file
STEPS_PER_QUARTER_GRID = 4


class HostileTiming(ValueError):
    """MIDI timing no melody has (SMPTE or zero ticks per beat, notes years away)."""


def check_ticks_per_beat(tpb) -> int:
    """``tpb`` when it is a usable metrical MIDI timing, else :class:`HostileTiming` in words."""
    if not isinstance(tpb, int) or tpb <= 0 or tpb > 32767:
        raise HostileTiming(f"MIDI timing of {tpb} ticks per beat is not supported (SMPTE or zero)")
    return tpb


def tempo_bpm(tempo) -> tuple[float | None, str | None]:
    """(BPM, None) for a sane ``set_tempo`` value, else (None, warning): tempo 0 must not divide by zero."""
    bpm = 60_000_000 / tempo if isinstance(tempo, (int, float)) and tempo > 0 else float("inf")
    if MIN_BPM <= bpm <= MAX_BPM:
        return round(bpm, 3), None
    return None, f"absurd tempo of {bpm:.4g} BPM ignored; 120 BPM assumed"


def check_span_length(spans, tpb: int) -> None:
    """Refuse notes that end absurdly far away (one note 0x0FFFFFFF ticks out would need GBs of events)."""
    if not spans:
        return
    last = max(end for _start, end, _pitch in spans)
    steps = last * STEPS_PER_QUARTER_GRID / tpb
    if steps > MAX_MELODY_STEPS:
        raise HostileTiming(f"a note ends {steps:,.0f} sixteenth steps in (more than {MAX_MELODY_STEPS:,}); "
                            "no melody is that long, so the file is refused")
