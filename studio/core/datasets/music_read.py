"""Reading melodies from MIDI (mido) and ABC/MusicXML/Humdrum (music21), defensively.

Each reader returns :class:`Melody` objects: monophonic notes on the 16th-note grid
(the top line of the non-drum channels, or of one chosen track/part), plus tempo,
key and time signature where the file says them. Hostile files (data bytes above
127, absurd tempos, ticks far in the future, drums only) raise :class:`MusicSkip`
with the reason, or add a warning and carry on.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field

from studio.core.audio.events import STEPS_PER_QUARTER, Note
from studio.core.audio.note_spans import (MAX_BPM, MIN_BPM, HostileTiming, TooManyNotes, check_ticks_per_beat,
                                          tempo_bpm, track_note_spans)

MAX_MIDI_BYTES = 16 * 1024 * 1024
MAX_NOTES = 200_000
# music21's ABC parser is quadratic in a tune's length (measured: 500 notes 0.7 s, 1,000 3.5 s,
# 2,000 12 s on a loaded 2-core machine; a 2.2 MB tune never finished): longer tunes are skipped.
MAX_ABC_NOTES = 2_000
MAX_ABC_TUNE_CHARS = 64 * 1024
_ABC_NOTE = re.compile(r"[A-Ga-gz]")
_ABC_SKIP = re.compile(r'"[^"\n]*"|![^!\n]*!|\+[^+\n]*\+|%[^\n]*')  # chord symbols, decorations, comments


class MusicSkip(Exception):
    """A music file (or tune) that gives no melody, with the human reason."""


@dataclass
class Melody:
    notes: list[Note]
    name: str = ""
    bpm: float | None = None
    key: str | None = None
    time_signature: str | None = None
    warnings: list[str] = field(default_factory=list)


def _top_line(spans: list[tuple[float, float, int]], step_ticks: float) -> list[Note]:
    """Quantise (start, end, pitch) spans and keep the highest pitch at each onset step."""
    by_step: dict[int, tuple[int, int]] = {}
    for start, end, pitch in spans:
        s = int(round(start / step_ticks))
        d = max(1, int(round(end / step_ticks)) - s)
        if s not in by_step or pitch > by_step[s][0]:
            by_step[s] = (pitch, d)
    return [Note(p, s, d) for s, (p, d) in sorted(by_step.items())]


def read_midi_melody(data: bytes, name: str, track: int | None = None) -> Melody:
    """The top line of a type-0/1 MIDI file; ``track`` picks one track instead of all."""
    import mido

    if len(data) > MAX_MIDI_BYTES:
        raise MusicSkip(f"MIDI file of {len(data):,} bytes is larger than the {MAX_MIDI_BYTES >> 20} MB limit")
    if data[:4] != b"MThd":
        from studio.core.datasets.sniff import sniff
        what = sniff(data[:64])
        raise MusicSkip(f"not a MIDI file ({'the content is a ' + what if what else 'no MThd header'})")
    try:
        mid = mido.MidiFile(file=io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - mido raises OSError/EOFError/ValueError/KeyError/IndexError
        msg = str(exc)
        if "data byte" in msg or "127" in msg:
            raise MusicSkip(f"damaged MIDI: a data byte is above 127 ({msg})") from None
        if isinstance(exc, EOFError) or "end of file" in msg.lower():
            raise MusicSkip("truncated MIDI file") from None
        raise MusicSkip(f"damaged MIDI file ({type(exc).__name__}: {msg[:120]})") from None
    try:
        tpb = check_ticks_per_beat(mid.ticks_per_beat)  # shared with the primer loader (audio.midi)
    except HostileTiming as exc:
        raise MusicSkip(str(exc)) from None
    tracks = mid.tracks
    if track is not None:
        if not 0 <= track < len(tracks):
            raise MusicSkip(f"has {len(tracks)} track(s); track {track} does not exist")
        tracks = [tracks[track]]
    mel = Melody([], name)
    spans: list[tuple[float, float, int]] = []
    drums = 0
    for trk in tracks:
        for msg in trk:
            if not msg.is_meta:
                continue
            if msg.type == "set_tempo" and mel.bpm is None:
                bpm, warning = tempo_bpm(msg.tempo)
                mel.bpm = bpm or 120.0
                if warning:
                    mel.warnings.append(warning)
            elif msg.type == "key_signature" and mel.key is None:
                mel.key = msg.key
            elif msg.type == "time_signature" and mel.time_signature is None:
                mel.time_signature = f"{msg.numerator}/{msg.denominator}"
            elif msg.type == "track_name" and not mel.name:
                mel.name = msg.name
        try:
            track_spans, track_drums = track_note_spans(trk, MAX_NOTES - len(spans))
        except TooManyNotes:
            raise MusicSkip(f"more than {MAX_NOTES:,} notes; not a melody file") from None
        spans.extend(track_spans)
        drums += track_drums
    if not spans:
        raise MusicSkip("MIDI has no melodic notes (drums only)" if drums else "MIDI has no notes")
    mel.notes = _top_line(spans, tpb / STEPS_PER_QUARTER)
    return mel


# -- music21 formats -------------------------------------------------------
_FORMATS = {".abc": "abc", ".xml": "musicxml", ".musicxml": "musicxml", ".mxl": "musicxml", ".krn": "humdrum"}


def _decode_text(data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1", "replace")


def split_abc(text: str) -> list[str]:
    """An ABC file holds many tunes, each starting with ``X:``; parse them one by one."""
    header, *tunes = re.split(r"(?m)^(?=X:)", text)
    return [t for t in tunes if t.strip()] if tunes else ([header] if header.strip() else [])


def abc_tune_too_big(tune: str) -> str | None:
    """Why one ABC tune is not handed to music21 (too long: minutes of parsing, GBs of objects), else None."""
    if len(tune) > MAX_ABC_TUNE_CHARS:
        return f"{len(tune):,} characters, more than the {MAX_ABC_TUNE_CHARS // 1024} KB an ABC tune may have"
    body = [ln for ln in tune.splitlines() if not re.match(r"^[A-Za-z+]:", ln)]  # header/field lines hold no notes
    notes = len(_ABC_NOTE.findall(_ABC_SKIP.sub("", "\n".join(body))))
    if notes > MAX_ABC_NOTES:
        return f"about {notes:,} notes, more than the {MAX_ABC_NOTES:,} a tune may have"
    return None


def _melody_from_score(score, name: str, part: int | None) -> Melody:
    from music21 import chord, key, meter, note, tempo

    parts = list(getattr(score, "parts", [])) or [score]
    if part is not None:
        if not 0 <= part < len(parts):
            raise MusicSkip(f"has {len(parts)} part(s); part {part} does not exist")
        parts = [parts[part]]
    spans: list[tuple[float, float, int]] = []
    mel = Melody([], name)
    title = getattr(getattr(score, "metadata", None), "title", None)
    if title:
        mel.name = str(title)
    for p in parts[:1] if part is None else parts:  # the first part carries the melody in lead sheets
        flat = p.flatten()
        for el in flat.notes:
            ql = float(el.quarterLength)
            if ql <= 0:
                continue  # grace notes
            start = float(el.offset) * STEPS_PER_QUARTER
            if isinstance(el, chord.Chord):
                pitch = max(n.pitch.midi for n in el.notes) if el.notes else None
            elif isinstance(el, note.Note):
                pitch = el.pitch.midi
            else:
                pitch = None
            if pitch is None:
                continue
            tie = getattr(el, "tie", None)
            if tie is not None and tie.type in ("continue", "stop") and spans and spans[-1][2] == pitch:
                s0, _e, p0 = spans[-1]
                spans[-1] = (s0, start + ql * STEPS_PER_QUARTER, p0)
                continue
            spans.append((start, start + ql * STEPS_PER_QUARTER, pitch))
        for ks in flat.getElementsByClass(key.KeySignature)[:1]:
            mel.key = str(ks.asKey()) if hasattr(ks, "asKey") else str(ks)
        for ts in flat.getElementsByClass(meter.TimeSignature)[:1]:
            mel.time_signature = ts.ratioString
        for mm in flat.getElementsByClass(tempo.MetronomeMark)[:1]:
            if mm.number and MIN_BPM <= float(mm.number) <= MAX_BPM:
                mel.bpm = float(mm.number)
    if not spans:
        raise MusicSkip("no notes in the melody part")
    mel.notes = _top_line(spans, 1.0)
    return mel


def read_music21_melodies(data: bytes, name: str, part: int | None = None, max_tunes: int | None = None) -> list[Melody]:
    """Melodies from an ABC (one per tune), MusicXML (.xml/.mxl) or Humdrum file; warnings for bad tunes."""
    import music21

    fmt = _FORMATS.get(os.path.splitext(name)[1].lower())
    if fmt is None:
        raise MusicSkip("not a music file this studio reads (MIDI, ABC, MusicXML, Humdrum)")
    melodies: list[Melody] = []
    problems: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt == "abc":
            tunes = split_abc(_decode_text(data))
            if not tunes:
                raise MusicSkip("empty ABC file (no tunes)")
            for i, tune in enumerate(tunes[:max_tunes] if max_tunes else tunes):
                too_big = abc_tune_too_big(tune)
                if too_big:
                    problems.append(f"tune {i + 1}: {too_big}")
                    continue
                try:
                    score = music21.converter.parseData(tune, format="abc")
                    melodies.append(_melody_from_score(score, f"tune {i + 1}", part))
                except MusicSkip as exc:
                    problems.append(f"tune {i + 1}: {exc}")
                except Exception as exc:  # noqa: BLE001 - music21 raises many kinds on bad ABC
                    problems.append(f"tune {i + 1} could not be read ({type(exc).__name__})")
        else:
            try:
                if name.lower().endswith(".mxl"):
                    melodies.append(_parse_via_temp(data, ".mxl", name, part))
                else:
                    score = music21.converter.parseData(_decode_text(data), format=fmt)
                    melodies.append(_melody_from_score(score, os.path.basename(name), part))
            except MusicSkip:
                raise
            except Exception as exc:  # noqa: BLE001
                raise MusicSkip(f"damaged {fmt} file ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not melodies:
        raise MusicSkip("no readable tunes" + (f" ({problems[0]})" if problems else ""))
    if problems:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        melodies[0].warnings.append(f"{len(problems)} tune(s) skipped: {shown}")
    return melodies


def _parse_via_temp(data: bytes, suffix: str, name: str, part: int | None) -> Melody:
    """Compressed MusicXML is a zip that music21 reads from a path: use a private temp file, never the source."""
    import music21

    fd, tmp = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        score = music21.converter.parse(tmp, format="musicxml", forceSource=True, storePickle=False)
        return _melody_from_score(score, os.path.basename(name), part)
    finally:
        os.unlink(tmp)
