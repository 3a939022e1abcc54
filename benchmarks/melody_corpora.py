"""Melody collections for the melody benchmark, parsed once and cached as note lists with meter and key.

Corpora: ``essen`` (music21's Essen folk songs, 8,500 tunes in 2/4, 3/4, 4/4, 6/8), ``ryans`` (Ryan's Mammoth
Collection of fiddle tunes: reels, jigs, hornpipes), ``bach-soprano`` (the soprano line of the 371 Bach
chorales), or a folder of MIDI / ABC / MusicXML files (MIDI through the studio's own reader, the others
through music21 like the named corpora).

Every tune is bar-aligned (a pickup is shifted so bar lines fall on multiples of the bar length), with the
time signature governing most of its bars and a tonic pitch class (from the key signature, else the last
note). Parsing with music21 is slow (minutes for Essen), so the tunes are cached per corpus under
``$XDG_CACHE_HOME/generative-studio/melody-benchmark`` (or ``~/.cache``); ``--refresh`` rebuilds.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.core.audio.events import Note  # noqa: E402

CACHE_VERSION = 1
CORPORA = ("essen", "ryans", "bach-soprano")
MUSIC_SUFFIXES = {".mid", ".midi", ".abc", ".xml", ".musicxml", ".mxl", ".krn"}


@dataclass
class Tune:
    notes: list[Note]
    beats: int = 4        # time signature numerator
    unit: int = 4         # time signature denominator
    tonic: int = 0        # pitch class 0-11

    @property
    def bar_steps(self) -> int:
        """Bar length on the 16th grid (6/8 -> 12, 3/4 -> 12, 2/4 -> 8); 16 for odd signatures."""
        steps = self.beats * 16 // self.unit if self.unit in (1, 2, 4, 8, 16) else 0
        return steps if 4 <= steps <= 32 and self.beats * 16 % self.unit == 0 else 16

    @property
    def meter(self) -> str:
        return f"{self.beats}/{self.unit}"


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "generative-studio" / "melody-benchmark"


# -- parsing (music21) --------------------------------------------------------------
def _tune_from_part(part) -> Tune | None:
    """One music21 part -> a bar-aligned Tune (None when it has fewer than 8 notes)."""
    from music21 import key as m21key
    measures = list(part.getElementsByClass("Measure"))
    counts: dict[str, int] = {}
    current = None
    for m in measures:
        if m.timeSignature is not None:
            current = m.timeSignature.ratioString
        if current:
            counts[current] = counts.get(current, 0) + 1
    ratio = max(counts, key=counts.get) if counts else "4/4"
    beats, unit = (int(x) for x in ratio.split("/"))
    bar_q = beats * 4 / unit
    # a pickup bar is shorter than a full one: shift so the second bar starts on a bar line
    shift = (bar_q - float(measures[1].offset) % bar_q) % bar_q if len(measures) > 1 else 0.0
    notes = []
    flat = part.flatten()
    for n in flat.notes:
        ql = float(n.quarterLength)
        if ql <= 0:
            continue  # grace notes
        pitch = max(p.midi for p in n.pitches)  # the top line of any chord
        start = int(round((float(n.offset) + shift) * 4))
        tie = getattr(n, "tie", None)
        if tie is not None and tie.type in ("continue", "stop") and notes and notes[-1].pitch == pitch:
            last = notes[-1]
            notes[-1] = Note(last.pitch, last.start, max(1, start + int(round(ql * 4)) - last.start))
            continue
        notes.append(Note(int(pitch), start, max(1, int(round(ql * 4)))))
    if len(notes) < 8:
        return None
    tonic = notes[-1].pitch % 12
    for ks in flat.getElementsByClass(m21key.KeySignature)[:1]:
        k = ks if isinstance(ks, m21key.Key) else ks.asKey("major")
        tonic = k.tonic.pitchClass
    return Tune(notes, beats, unit, tonic)


def _parse_music21_path(path: str) -> list[tuple]:
    from music21 import converter, stream
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = converter.parse(path)
        except Exception:  # noqa: BLE001 - a bad file just contributes nothing
            return out
        scores = parsed.scores if isinstance(parsed, stream.Opus) else [parsed]
        for score in scores:
            try:
                part = score.parts[0] if score.parts else score  # Bach: the soprano; folk: the tune
                tune = _tune_from_part(part)
            except Exception:  # noqa: BLE001
                continue
            if tune is not None:
                out.append(_pack(tune))
    return out


def _pack(t: Tune) -> tuple:
    return ([(n.pitch, n.start, n.duration) for n in t.notes], t.beats, t.unit, t.tonic)


def _unpack(row) -> Tune:
    notes, beats, unit, tonic = row
    return Tune([Note(*map(int, n)) for n in notes], int(beats), int(unit), int(tonic))


def _corpus_paths(name: str) -> list[str]:
    from music21 import corpus
    if name == "essen":
        paths = corpus.getComposer("essenFolksong")
        return sorted(str(p) for p in paths if not Path(p).name.startswith("test"))
    if name == "ryans":
        return sorted(str(p) for p in corpus.getWork("ryansMammoth"))
    if name == "bach-soprano":
        names = list(corpus.chorales.Iterator(returnType="filename"))
        return [str(corpus.getWork(n)) if not isinstance(corpus.getWork(n), list) else str(corpus.getWork(n)[0])
                for n in names]
    raise ValueError(f"unknown corpus {name!r}; choose {', '.join(CORPORA)} or a folder")


# -- folders (the studio's importer) ------------------------------------------------
_TONIC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def _tonic_of(key_name: str | None, notes: list[Note]) -> int:
    """'D major', 'e minor', 'F#' or MIDI 'Bbm' -> tonic pitch class; else the last note's."""
    if key_name:
        k = key_name.strip()
        if k and k[0].upper() in _TONIC:
            pc = _TONIC[k[0].upper()]
            rest = k[1:].lstrip()
            if rest.startswith(("#", "♯")):
                pc += 1
            elif rest.startswith(("b", "-", "♭")) and not rest.lower().startswith("b "):
                pc -= 1
            return pc % 12
    return notes[-1].pitch % 12


def _parse_folder_file(path: str) -> list[tuple]:
    from studio.core.datasets.music_read import MusicSkip, read_midi_melody
    if Path(path).suffix.lower() not in (".mid", ".midi"):
        # ABC / MusicXML: music21 directly, as for the named corpora, so pickups are shifted onto bar lines
        return _parse_music21_path(path)
    data = Path(path).read_bytes()
    try:
        melodies = [read_midi_melody(data, Path(path).name)]
    except MusicSkip as exc:
        print(f"  skipped {path}: {exc}", file=sys.stderr)
        return []
    out = []
    for mel in melodies:
        if len(mel.notes) < 8:
            continue
        beats, unit = 4, 4
        if mel.time_signature and "/" in mel.time_signature:
            a, b = mel.time_signature.split("/", 1)
            if a.isdigit() and b.isdigit() and int(a) > 0 and int(b) > 0:
                beats, unit = int(a), int(b)
        t = Tune(list(mel.notes), beats, unit, _tonic_of(mel.key, mel.notes))
        first = min(n.start for n in t.notes)  # files start at bar 1; drop leading silence of whole bars
        bar = t.bar_steps
        t.notes = [Note(n.pitch, n.start - first // bar * bar, n.duration) for n in t.notes]
        out.append(_pack(t))
    return out


def _folder_paths(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MUSIC_SUFFIXES)


# -- cache --------------------------------------------------------------------------
def _cache_file(name: str, paths: list[str]) -> Path:
    if name in CORPORA:
        tag = name
    else:  # a folder: keyed by its path and its files' sizes and times, so edits re-parse
        h = hashlib.sha1()
        for p in paths:
            st = os.stat(p)
            h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        tag = f"dir-{Path(name).name[:40]}-{h.hexdigest()[:16]}"
    return cache_dir() / f"{tag}-v{CACHE_VERSION}.npz"


def _save(path: Path, rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = np.array([n for r in rows for n in r[0]], dtype=np.int64).reshape(-1, 3)
    meta = np.array([(len(r[0]), r[1], r[2], r[3]) for r in rows], dtype=np.int64).reshape(-1, 4)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, notes=flat, meta=meta)
    os.replace(tmp, path)


def _load(path: Path) -> list[Tune]:
    d = np.load(path, allow_pickle=False)
    tunes, i = [], 0
    for count, beats, unit, tonic in d["meta"]:
        tunes.append(Tune([Note(int(p), int(s), int(u)) for p, s, u in d["notes"][i:i + count]],
                          int(beats), int(unit), int(tonic)))
        i += int(count)
    return tunes


def load_corpus(name: str, workers: int = 1, refresh: bool = False, log=print) -> list[Tune]:
    """Every tune of a corpus (a name in CORPORA or a folder path), parsed once then read from the cache."""
    if name in CORPORA:
        paths, parse = _corpus_paths(name), _parse_music21_path
    else:
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise ValueError(f"{name}: not a corpus name ({', '.join(CORPORA)}) nor a folder")
        paths, parse = _folder_paths(folder), _parse_folder_file
        if not paths:
            raise ValueError(f"{folder}: no MIDI, ABC or MusicXML files")
    cache = _cache_file(name, paths)
    if cache.exists() and not refresh:
        return _load(cache)
    # each file's tunes are kept as soon as parsed, so an interrupted parse of Essen resumes where it stopped
    parts = cache.with_name(cache.stem + "-parts")
    parts.mkdir(parents=True, exist_ok=True)

    def part_of(path: str) -> Path:
        return parts / (hashlib.sha1(path.encode()).hexdigest()[:20] + ".json")

    todo = [p for p in paths if refresh or not part_of(p).exists()]
    if todo:
        log(f"  parsing {len(todo)} of {len(paths)} files of {name} (cached per file in {parts})")
    done = 0

    def keep(path: str, got: list[tuple]) -> None:
        nonlocal done
        tmp = part_of(path).with_suffix(".tmp")
        tmp.write_text(json.dumps(got))
        os.replace(tmp, part_of(path))
        done += 1
        if done % 50 == 0 or done == len(todo):
            log(f"  parsed {done}/{len(todo)} files")

    if workers > 1 and len(todo) > 1:
        from multiprocessing import Pool
        with Pool(workers) as pool:
            for path, got in zip(todo, pool.imap(parse, todo)):
                keep(path, got)
    else:
        for path in todo:
            keep(path, parse(path))
    rows = [tuple(r) for p in paths for r in json.loads(part_of(p).read_text())]
    _save(cache, rows)
    log(f"  {len(rows)} tunes cached in {cache}")
    return [_unpack(r) for r in rows]


if __name__ == "__main__":  # python benchmarks/melody_corpora.py essen ryans bach-soprano  (fills the cache)
    import argparse
    from collections import Counter
    ap = argparse.ArgumentParser(description="Parse and cache melody corpora")
    ap.add_argument("corpora", nargs="+")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--refresh", action="store_true")
    a = ap.parse_args()
    for c in a.corpora:
        ts = load_corpus(c, a.workers, a.refresh, log=lambda m: print(m, file=sys.stderr, flush=True))
        print(c, len(ts), "tunes; meters", Counter(t.meter for t in ts).most_common(6), flush=True)
