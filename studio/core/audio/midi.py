"""Melody events <-> Standard MIDI files (mido).

Export writes one track with tempo, the time signature (4/4 unless told), the track name, a
program change and (optionally) the generation parameters as a JSON text
meta event, so other tools read the file back and the studio can tell how it
was made. Import takes the top line of all tracks (the highest sounding note
at each onset, drums ignored) quantised to the 16th-note grid.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mido

from studio.core.audio.events import (MAX_PITCH, MIN_PITCH, STEPS_PER_QUARTER, Note, events_to_notes, notes_to_events,
                                      parse_time_signature)
from studio.core.audio.instruments import DEFAULT_PROGRAM, check_program
from studio.core.audio.note_spans import (HostileTiming, TooManyNotes, check_span_length, check_ticks_per_beat,
                                          tempo_bpm, track_note_spans)
from studio.core.fileio import UnreadableFileError, atomic_write_bytes, read_small_file

TICKS_PER_BEAT = 480
TEXT_PREFIX = "studio:"  # marks our generation-parameter text event
MAX_NOTES = 200_000  # a melody file never holds more; bounds the work on hostile files
MAX_MIDI_BYTES = 16 * 1024 * 1024  # as the importer


class MidiError(ValueError):
    """A MIDI file that cannot be read as a melody, with the file and the reason."""


@dataclass
class MidiMelody:
    events: list[int]
    notes: list[Note]
    bpm: float = 120.0
    track_name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    program: int | None = None  # the first melodic program_change (None: the file names no instrument)


_KEY_NAMES = {"C": "C", "C#": "C#", "DB": "Db", "D": "D", "D#": "D#", "EB": "Eb", "E": "E", "F": "F", "F#": "F#",
              "GB": "Gb", "G": "G", "G#": "G#", "AB": "Ab", "A": "A", "A#": "A#", "BB": "Bb", "B": "B", "CB": "Cb"}


def midi_key_name(key: str | None) -> str | None:
    """'D major' / 'e minor' / 'B- major' (music21) / 'F#m' (MIDI) -> mido's 'D', 'Em', 'Bb', 'F#m'; None if unclear."""
    text = str(key or "").strip()
    if not text:
        return None
    minor = text.lower().endswith(("minor", "m")) or (text[0].islower() and "major" not in text.lower())
    tonic = text.split()[0].rstrip("m") if " " in text else text.rstrip("m")
    tonic = tonic.replace("-", "b").replace("♭", "b").replace("♯", "#").upper()
    name = _KEY_NAMES.get(tonic)
    return None if name is None else name + ("m" if minor else "")


def events_to_midi(events, bpm: float = 120, program: int = DEFAULT_PROGRAM, track_name: str = "Melody",
                   text_meta: dict | None = None, min_pitch: int = MIN_PITCH, velocity: int = 90,
                   time_signature: str | None = None, key: str | None = None) -> mido.MidiFile:
    """A one-track MIDI file of the melody (16th-note steps at ``bpm``), in ``time_signature`` (a jig stays
    in 6/8; 4/4 when unknown) with a key signature meta event when ``key`` names one."""
    if bpm <= 0:
        raise ValueError(f"tempo must be positive, got {bpm}")
    step_ticks = TICKS_PER_BEAT // STEPS_PER_QUARTER
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("track_name", name=str(track_name), time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    num, den = parse_time_signature(time_signature)
    track.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    if midi_key_name(key):
        track.append(mido.MetaMessage("key_signature", key=midi_key_name(key), time=0))
    if text_meta:
        track.append(mido.MetaMessage("text", text=TEXT_PREFIX + json.dumps(text_meta, default=str), time=0))
    track.append(mido.Message("program_change", program=check_program(program), channel=0, time=0))
    # Absolute-time messages, then deltas; note-offs sort before note-ons at the same tick.
    timeline: list[tuple[int, int, mido.Message]] = []
    for n in events_to_notes(events, min_pitch):
        pitch = max(0, min(127, n.pitch))
        timeline.append((n.start * step_ticks, 1, mido.Message("note_on", note=pitch, velocity=velocity, channel=0)))
        timeline.append(((n.start + n.duration) * step_ticks, 0, mido.Message("note_off", note=pitch, velocity=0, channel=0)))
    timeline.sort(key=lambda t: (t[0], t[1]))
    now = 0
    for tick, _, msg in timeline:
        track.append(msg.copy(time=tick - now))
        now = tick
    end = len(events) * step_ticks
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
    return mid


def midi_bytes(mid: mido.MidiFile) -> bytes:
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def save_midi(events, path: str | Path, **kwargs) -> Path:
    """Write ``events`` as a .mid file atomically; kwargs as :func:`events_to_midi`."""
    path = Path(path)
    atomic_write_bytes(path, midi_bytes(events_to_midi(events, **kwargs)))
    return path


def _open(source) -> tuple[mido.MidiFile, str]:
    if isinstance(source, mido.MidiFile):
        return source, source.filename or "<midi>"
    if isinstance(source, (bytes, bytearray)):
        name = "<bytes>"
        opener = lambda: mido.MidiFile(file=io.BytesIO(bytes(source)))  # noqa: E731
    else:
        name = str(source)
        try:  # the guarded reader: a FIFO or a /dev/zero link named .mid is refused, never read
            data = read_small_file(source, MAX_MIDI_BYTES, what="MIDI file")
        except FileNotFoundError as exc:
            raise MidiError(f"{name}: file not found") from exc
        except UnreadableFileError as exc:
            raise MidiError(str(exc)) from None
        except OSError as exc:
            raise MidiError(f"{name}: cannot be read ({exc.strerror or exc})") from exc
        opener = lambda: mido.MidiFile(file=io.BytesIO(data))  # noqa: E731
    try:
        return opener(), name
    except FileNotFoundError as exc:
        raise MidiError(f"{name}: file not found") from exc
    except Exception as exc:  # noqa: BLE001 - mido raises OSError/EOFError/ValueError/KeyError/IndexError/...
        raise MidiError(f"{name}: not a readable MIDI file ({type(exc).__name__}: {str(exc)[:120]})") from None


def read_midi(source, min_pitch: int = MIN_PITCH, max_pitch: int = MAX_PITCH,
              length: int | None = None) -> MidiMelody:
    """The top line of a MIDI file (path, bytes or MidiFile) on the 16th grid."""
    mid, name = _open(source)
    try:  # the importer's guards (note_spans): hostile timing is refused before any allocation
        tpb = check_ticks_per_beat(mid.ticks_per_beat)
    except HostileTiming as exc:
        raise MidiError(f"{name}: {exc}") from None
    step_ticks = tpb / STEPS_PER_QUARTER
    bpm, track_name, meta, program = None, "", {}, None
    spans: list[tuple[int, int, int]] = []  # (start_tick, end_tick, pitch)
    for track in mid.tracks:
        for msg in track:
            if msg.type == "program_change" and program is None and msg.channel != 9:  # 9: drums
                program = msg.program
            if not msg.is_meta:
                continue
            if msg.type == "set_tempo" and bpm is None:
                bpm = tempo_bpm(msg.tempo)[0] or 120.0  # tempo 0 once raised ZeroDivisionError
            elif msg.type == "track_name" and not track_name:
                track_name = msg.name
            elif msg.type == "text" and msg.text.startswith(TEXT_PREFIX):
                try:
                    meta = json.loads(msg.text[len(TEXT_PREFIX):])
                except ValueError:
                    meta = {}
        try:  # the same bounded scan the importer uses, so a hostile primer file is refused too
            spans.extend(track_note_spans(track, MAX_NOTES - len(spans))[0])
        except TooManyNotes as exc:
            raise MidiError(f"{name}: {exc}") from None
    if not spans:
        raise MidiError(f"{name}: no notes found (drum-only or empty file)")
    try:
        check_span_length(spans, tpb)
    except HostileTiming as exc:
        raise MidiError(f"{name}: {exc}") from None
    # Quantise, then keep the highest pitch per onset step (the top line).
    by_step: dict[int, tuple[int, int]] = {}
    for start, end, pitch in spans:
        s = int(round(start / step_ticks))
        d = max(1, int(round(end / step_ticks)) - s)
        if s not in by_step or pitch > by_step[s][0]:
            by_step[s] = (pitch, d)
    notes = [Note(p, s, d) for s, (p, d) in sorted(by_step.items())]
    events = notes_to_events(notes, length, min_pitch, max_pitch)
    return MidiMelody(events, notes, float(bpm or 120.0), track_name, meta, program)


def midi_to_events(source, min_pitch: int = MIN_PITCH, max_pitch: int = MAX_PITCH,
                   length: int | None = None) -> list[int]:
    """Event ids of a MIDI file's top line (see :func:`read_midi`)."""
    return read_midi(source, min_pitch, max_pitch, length).events
