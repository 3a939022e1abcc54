"""Melody event encoding shared by the importer, the plugins, the synth and MIDI export.

A melody is a sequence of 16th-note steps. Each step holds one event id:
``REST`` (0: silence / note off), ``HOLD`` (1: keep the previous note or rest),
or a note-on ``2 + pitch - min_pitch`` for MIDI pitches in [min_pitch, max_pitch].
This is Magenta's melody encoding with non-negative ids.
"""
from __future__ import annotations

from dataclasses import dataclass

REST = 0
HOLD = 1
MIN_PITCH = 36   # C2
MAX_PITCH = 96   # C7
STEPS_PER_QUARTER = 4  # 16th-note grid
STEPS_PER_BAR = 16     # 4/4
DEFAULT_TIME_SIGNATURE = "4/4"


@dataclass(frozen=True)
class Note:
    pitch: int     # MIDI pitch
    start: int     # step index on the 16th grid
    duration: int  # steps, >= 1


NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(pitch: int) -> str:
    """MIDI pitch -> scientific pitch name (60 -> C4)."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def parse_time_signature(text: str | None) -> tuple[int, int]:
    """'6/8' -> (6, 8); anything unreadable or absurd (None, 'C', '0/4', '7/5') -> (4, 4)."""
    num, _, den = str(text or "").strip().partition("/")
    if num.isdigit() and den.isdigit():
        n, d = int(num), int(den)
        if 1 <= n <= 32 and d in (1, 2, 4, 8, 16, 32) and n * STEPS_PER_QUARTER * 4 % d == 0:
            return n, d
    return 4, 4


def steps_per_bar(time_signature: str | None) -> int:
    """Bar length on the 16th grid: 4/4 -> 16, 3/4 and 6/8 -> 12, 2/4 -> 8, 9/8 -> 18 (4/4 when unknown).

    The piano roll draws bar lines every ``steps_per_bar(manifest['time_signature'])`` steps and beat
    lines every ``beat_steps``; MIDI export writes the same signature.
    """
    n, d = parse_time_signature(time_signature)
    return n * STEPS_PER_QUARTER * 4 // d


def beat_steps(time_signature: str | None) -> int:
    """Steps per felt beat: a quarter in 2/4, 3/4, 4/4; a dotted quarter in compound 6/8, 9/8, 12/8."""
    n, d = parse_time_signature(time_signature)
    if d == 8 and n % 3 == 0 and n > 3:
        return 3 * STEPS_PER_QUARTER * 4 // d
    return STEPS_PER_QUARTER * 4 // d


def vocab_size(min_pitch: int = MIN_PITCH, max_pitch: int = MAX_PITCH) -> int:
    return 2 + (max_pitch - min_pitch + 1)


def pitch_to_event(pitch: int, min_pitch: int = MIN_PITCH, max_pitch: int = MAX_PITCH) -> int:
    # Fold out-of-range pitches by octaves so a melody keeps its shape.
    while pitch < min_pitch:
        pitch += 12
    while pitch > max_pitch:
        pitch -= 12
    return 2 + pitch - min_pitch


def event_to_pitch(event: int, min_pitch: int = MIN_PITCH) -> int | None:
    return None if event < 2 else min_pitch + event - 2


def notes_to_events(notes: list[Note], length: int | None = None, min_pitch: int = MIN_PITCH,
                    max_pitch: int = MAX_PITCH) -> list[int]:
    """Monophonic notes (later notes cut earlier ones) to an event list of ``length`` steps."""
    end = max((n.start + n.duration for n in notes), default=0)
    length = end if length is None else length
    events = [HOLD] * length
    if length:
        events[0] = REST
    for n in sorted(notes, key=lambda n: n.start):
        if n.start >= length:
            break
        events[n.start] = pitch_to_event(n.pitch, min_pitch, max_pitch)
        stop = n.start + max(1, n.duration)
        if stop < length:
            events[stop] = REST
    # A REST followed by HOLDs is fine; drop REST markers that immediately follow another REST.
    return events


def events_to_notes(events, min_pitch: int = MIN_PITCH) -> list[Note]:
    """Event ids back to notes (HOLD extends the current note; REST ends it)."""
    notes: list[Note] = []
    cur_pitch, cur_start = None, 0
    events = [int(e) for e in events]
    for i, e in enumerate(events):
        if e == HOLD:
            continue
        if cur_pitch is not None:
            notes.append(Note(cur_pitch, cur_start, i - cur_start))
            cur_pitch = None
        if e >= 2:
            cur_pitch, cur_start = event_to_pitch(e, min_pitch), i
    if cur_pitch is not None:
        notes.append(Note(cur_pitch, cur_start, len(events) - cur_start))
    return notes
