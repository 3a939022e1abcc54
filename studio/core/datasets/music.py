"""Melody importer: MIDI, ABC, MusicXML -> phrases of event ids (REST/HOLD/note-on), (N, L) int64.

Melodies are cut into phrases of ``phrase_bars`` 4/4 bars on the 16th-note grid;
long silences split a melody (so hours of silence cost nothing), phrases with too
few notes are dropped, and the validation split is made per source file so no
song leaks into both sides. Transposition augmentation, when asked, is baked in
for the training phrases only (the loader applies only ``hflip`` at batch time).
"""
from __future__ import annotations

import bisect
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.audio.events import (DEFAULT_TIME_SIGNATURE, HOLD, MAX_PITCH, MIN_PITCH, STEPS_PER_BAR, Note,
                                      notes_to_events, steps_per_bar, vocab_size)
from studio.core.datasets.music_read import Melody, MusicSkip, read_midi_melody, read_music21_melodies
from studio.core.datasets.pipeline import Decoded, run_import, val_mask_for
from studio.core.datasets.report import CancelToken, ImportReport, ImportResult, Progress, ProgressCallback
from studio.core.datasets.sniff import sniff
from studio.core.datasets.sources import MUSIC_EXTS, SourceFile

MIDI_EXTS = {".mid", ".midi", ".kar", ".smf"}
TRANSPOSE_STEPS = (-3, -2, -1, 1, 2, 3)


def phrases_from_notes(notes: list[Note], phrase_length: int, min_notes: int = 3,
                       min_pitch: int = MIN_PITCH, max_pitch: int = MAX_PITCH,
                       bar_steps: int = STEPS_PER_BAR) -> tuple[list[list[int]], int]:
    """Cut a melody into phrases that start on its bar lines (``bar_steps``: 12 in 6/8, so a jig's phrases
    keep its beat); returns (phrases, steps of silence skipped)."""
    if not notes:
        return [], 0
    max_gap = 2 * phrase_length
    # A note held for hours (a lost note-off) is clipped: it must not make us walk empty windows.
    notes = sorted((Note(n.pitch, n.start, min(max(1, n.duration), max_gap)) for n in notes), key=lambda n: n.start)
    # Segments: runs of notes without a silence longer than max_gap.
    segments: list[list[Note]] = [[notes[0]]]
    silence = 0
    end = notes[0].start + notes[0].duration
    for n in notes[1:]:
        gap = n.start - end
        if gap > max_gap:
            silence += gap
            segments.append([])
        segments[-1].append(n)
        end = max(end, n.start + n.duration)
    phrases: list[list[int]] = []
    for seg in segments:
        first = (seg[0].start // bar_steps) * bar_steps
        # whole bars per phrase step: phrases of other meters overlap a little rather than start mid-bar
        stride = max(bar_steps, phrase_length // bar_steps * bar_steps)
        last = max(n.start + n.duration for n in seg)
        starts = [n.start for n in seg]
        w = first
        i = 0
        while w < last:
            window = []
            while i < len(seg) and seg[i].start < w + phrase_length:
                if seg[i].start >= w:
                    window.append(Note(seg[i].pitch, seg[i].start - w, seg[i].duration))
                i += 1
            if len(window) >= min_notes:
                phrases.append(notes_to_events(window, phrase_length, min_pitch, max_pitch))
            w += stride
            if stride < phrase_length:  # overlapping phrases: rewind to the first note of the next one
                i = bisect.bisect_left(starts, w)
    return phrases, silence


def transpose_events(events: np.ndarray, shift: int, vocab: int) -> np.ndarray | None:
    """Shift note-on ids by ``shift`` semitones; None when a note would leave the pitch range."""
    notes = events >= 2
    moved = events.copy()
    moved[notes] += shift
    if notes.any() and (moved[notes].min() < 2 or moved[notes].max() >= vocab):
        return None
    return moved


class MelodyImporter:
    def __init__(self, phrase_bars: int = 2, transpose: bool = False, track: int | None = None,
                 min_notes: int = 3, min_pitch: int = MIN_PITCH, max_pitch: int = MAX_PITCH,
                 val_fraction: float = 0.1, max_tunes_per_file: int | None = None):
        if not 1 <= phrase_bars <= 16:
            raise ValueError(f"phrase length must be 1 to 16 bars, got {phrase_bars}")
        self.phrase_bars, self.transpose, self.track = int(phrase_bars), bool(transpose), track
        self.min_notes, self.min_pitch, self.max_pitch = int(min_notes), int(min_pitch), int(max_pitch)
        self.val_fraction = float(val_fraction)
        self.max_tunes = max_tunes_per_file

    @property
    def phrase_length(self) -> int:
        return self.phrase_bars * STEPS_PER_BAR

    def settings(self) -> dict[str, Any]:
        return {"phrase_bars": self.phrase_bars, "transpose": self.transpose, "track": self.track,
                "min_notes": self.min_notes, "min_pitch": self.min_pitch, "max_pitch": self.max_pitch,
                "val_fraction": self.val_fraction, "max_tunes_per_file": self.max_tunes}

    def read(self, src: SourceFile) -> list[Melody]:
        data = src.read_bytes()
        if not data:
            raise MusicSkip("empty file")
        if src.suffix in MIDI_EXTS or data[:4] == b"MThd":
            return [read_midi_melody(data, src.path, self.track)]
        if src.suffix in MUSIC_EXTS:
            return read_music21_melodies(data, src.path, self.track, self.max_tunes)
        what = sniff(data[:64])
        raise MusicSkip(f"not a music file ({what or src.suffix or 'no extension'})")

    def decode(self, files: list[SourceFile], report: ImportReport, prog: Progress) -> Decoded | None:
        phrases: list[list[int]] = []
        owners: list[str] = []
        stats = Counter()
        pitches: list[int] = []
        tempos, keys, meters = [], Counter(), Counter()
        for k, src in enumerate(files):
            prog.update(k, len(files), f"reading {os.path.basename(src.rel)}")
            try:
                melodies = self.read(src)
            except MusicSkip as exc:
                report.skip(src.path, str(exc))
                continue
            except (OSError, ValueError) as exc:
                report.skip(src.path, f"cannot be read ({getattr(exc, 'strerror', None) or exc})")
                continue
            except Exception as exc:  # noqa: BLE001 - never let one hostile file stop the import
                report.skip(src.path, f"could not be read ({type(exc).__name__}: {str(exc)[:100]})")
                continue
            got = 0
            empty: list[str] = []
            for mel in melodies:
                for w in mel.warnings:
                    report.warn(src.path, w)
                ps, silence = phrases_from_notes(mel.notes, self.phrase_length, self.min_notes,
                                                 self.min_pitch, self.max_pitch,
                                                 steps_per_bar(mel.time_signature))
                if silence > 4 * 60 * STEPS_PER_BAR:  # > 60 bars of silence at 4/4 is worth telling
                    report.warn(src.path, f"{silence // STEPS_PER_BAR:,} bars of silence skipped")
                if not ps:
                    empty.append(mel.name or "untitled")
                phrases.extend(ps)
                owners.extend([src.path] * len(ps))
                got += len(ps)
                if ps:
                    stats["melodies"] += 1
                    stats["notes"] += len(mel.notes)
                    stats["steps"] += sum(n.duration for n in mel.notes)
                    pitches.extend(n.pitch for n in mel.notes)
                    if mel.bpm:
                        tempos.append(mel.bpm)
                    if mel.key:
                        keys[mel.key] += 1
                    meters[mel.time_signature or DEFAULT_TIME_SIGNATURE] += 1
            if got and empty:
                report.warn(src.path, f"{len(empty)} of {len(melodies)} tunes gave no usable phrase: "
                                      + ", ".join(empty[:5]) + (", ..." if len(empty) > 5 else ""))
            if got:
                report.accept(src.path)
            else:
                report.skip(src.path, f"no phrase of {self.phrase_bars} bar(s) with at least {self.min_notes} notes "
                                      f"(too short, or too sparse)")
        if not phrases:
            return None
        events = np.asarray(phrases, dtype=np.int64)
        # Split per source file (a song never lands on both sides), phrases within one file otherwise.
        unique = sorted(set(owners))
        if len(unique) >= 5:
            val_files = {f for f, v in zip(unique, val_mask_for(unique, self.val_fraction)) if v}
            val_mask = np.array([o in val_files for o in owners], dtype=bool)
        else:
            val_mask = val_mask_for([f"{o}#{i}" for i, o in enumerate(owners)], self.val_fraction)
        vocab = vocab_size(self.min_pitch, self.max_pitch)
        added = 0
        if self.transpose:
            extra = []
            for row in events[~val_mask]:
                for shift in TRANSPOSE_STEPS:
                    moved = transpose_events(row, shift, vocab)
                    if moved is not None:
                        extra.append(moved)
            if extra:
                added = len(extra)
                events = np.concatenate([events, np.stack(extra)])
                val_mask = np.concatenate([val_mask, np.zeros(added, dtype=bool)])
        report.stats.update({
            "melodies": stats["melodies"], "phrases": int(len(events)), "phrases_original": int(len(phrases)),
            "transposed_copies": added, "phrase_length": self.phrase_length, "notes": stats["notes"],
            "validation": int(val_mask.sum()),
            "pitch_range": [int(min(pitches)), int(max(pitches))] if pitches else None,
            "duration_quarters": stats["steps"] / 4,
            "tempo_bpm": {"min": min(tempos), "max": max(tempos)} if tempos else None,
            "keys": dict(keys.most_common(12)),
            "time_signatures": dict(meters.most_common(6)),
            "hold_fraction": round(float((events == HOLD).mean()), 3),
        })
        spec = {"modality": "melody", "image_size": 0, "channels": 0, "num_classes": 0, "vocab": [],
                "phrase_length": self.phrase_length, "min_pitch": self.min_pitch, "max_pitch": self.max_pitch}
        augment = {"hflip": False, "transpose": list(TRANSPOSE_STEPS) if self.transpose else [],
                   "transpose_baked": self.transpose}
        return Decoded(spec, {"events": events, "val_mask": val_mask}, augment,
                       {"tempo_bpm": float(np.median(tempos)) if tempos else 120.0,
                        "key": keys.most_common(1)[0][0] if keys else None,
                        # the piano roll's bar lines and the MIDI export's signature (events.steps_per_bar)
                        "time_signature": meters.most_common(1)[0][0] if meters else DEFAULT_TIME_SIGNATURE})


def import_music(sources, out_dir, *, phrase_bars: int = 2, transpose: bool = False, track: int | None = None,
                 min_notes: int = 3, val_fraction: float = 0.1, max_tunes_per_file: int | None = None,
                 progress: ProgressCallback | None = None, cancel: CancelToken = None,
                 license_note: str | None = None) -> ImportResult:
    """Import MIDI/ABC/MusicXML files, folders and zips into the dataset folder ``out_dir``."""
    imp = MelodyImporter(phrase_bars, transpose, track, min_notes, val_fraction=val_fraction,
                         max_tunes_per_file=max_tunes_per_file)
    srcs = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    explicit = {str(Path(s).expanduser()) for s in srcs if os.path.isfile(s)}

    def decode(files, report, prog):
        keep = []
        for f in files:
            if f.suffix in MUSIC_EXTS or f.suffix in MIDI_EXTS or f.path in explicit:
                keep.append(f)
            else:
                report.skip(f.path, f"not a music file ({f.suffix or 'no extension'})")
        return imp.decode(keep, report, prog)

    return run_import("melody", srcs, out_dir, imp.settings(), decode, progress=progress, cancel=cancel,
                      license_note=license_note)
