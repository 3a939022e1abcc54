"""Place the user's own files in a model's latent space: an image or a melody file -> latent vector.

Used by ``studio interpolate --from-file/--to-file`` (morphs between two of the artist's files).
The file is read the way the importers read it, so the model sees what it was trained on:

* images: ``image_decode.decode_image`` at the model's size and channels, with the crop/pad and
  background of the run's dataset import when the run records it (else crop on white);
* melodies: the importer's readers (``music_read``: MIDI top line, ABC/MusicXML/Humdrum first
  tune), cut into bar-aligned phrases like the importer; the first phrase with at least
  ``MIN_NOTES`` notes is used, moved by whole octaves into the model's pitch range.

Every refusal is a :class:`FileEncodeError` whose message starts with the file name and says why.
No Qt here; torch only inside functions.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.audio.events import note_name

MAX_FILE_BYTES = 256 * 1024 * 1024  # a single picture or score is never this big; bounds the read
MIN_NOTES = 3                       # the importer's default: fewer notes is not a phrase


class FileEncodeError(ValueError):
    """A file that cannot be placed in the latent space (message names the file and the reason)."""


@dataclass
class FileCode:
    """A file placed in latent space: the vector, what the model saw, and notes for the user."""
    name: str                    # file name only (provenance records names, never content)
    vector: np.ndarray           # (latent_dim,) float32 latent mean
    modality: str
    data: np.ndarray             # image float (C,H,W) in [0,1], or melody events int64 (L,)
    notes: list[str] = field(default_factory=list)


def can_encode(model, plugin=None) -> bool:
    caps = getattr(plugin, "capabilities", None)
    if caps is not None and "encode" not in caps:
        return False
    return callable(getattr(model, "encode", None)) and bool(int(getattr(model, "latent_dim", 0) or 0))


def _spec(model):
    spec = getattr(model, "spec", None)
    if spec is None or getattr(spec, "modality", None) not in ("image", "melody"):
        raise FileEncodeError(f"{type(model).__name__}: the model has no image or melody data spec to read files for")
    return spec


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise FileEncodeError(f"{path.name}: file not found ({path})")
    if path.is_dir():
        raise FileEncodeError(f"{path.name}: is a folder, not a file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FileEncodeError(f"{path.name}: {size:,} bytes is larger than the {MAX_FILE_BYTES >> 20} MB limit")
        data = path.read_bytes()
    except OSError as exc:
        raise FileEncodeError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    if not data:
        raise FileEncodeError(f"{path.name}: the file is empty")
    return data


def dataset_settings(run_dir: str | Path | None) -> dict[str, Any]:
    """The import settings of a run's dataset (``fit``, ``background``...), or {} when unknown."""
    if not run_dir:
        return {}
    folder = Path(run_dir)
    if folder.is_file():  # a checkpoint file: RUN/checkpoints/step-N.safetensors
        folder = folder.parent.parent
    from studio.core.training.run_folder import RunFolderError, read_run
    try:
        run = read_run(folder)
        data_path = Path(str((run.get("dataset") or {}).get("path") or ""))
    except (RunFolderError, AttributeError):
        return {}
    if not str(data_path) or str(data_path) == ".":
        return {}
    if not data_path.is_absolute():
        data_path = folder / data_path
    from studio.core.datasets.writer import read_manifest

    manifest = read_manifest(data_path) or {}
    settings = manifest.get("settings")
    return settings if isinstance(settings, dict) else {}


# -- images -------------------------------------------------------------------
def read_image_for(model, path: str | Path, settings: dict[str, Any] | None = None) -> tuple[np.ndarray, list[str]]:
    """(C,H,W) float32 in [0,1] at the model's size and channels, plus notes; or FileEncodeError."""
    from studio.core.datasets.image_decode import ImageSkip, decode_image

    spec = _spec(model)
    if spec.modality != "image":
        raise FileEncodeError(f"{Path(path).name}: this is a {spec.modality} model; it cannot read an image")
    settings = settings or {}
    fit = settings.get("fit") if settings.get("fit") in ("crop", "pad") else "crop"
    bg = settings.get("background") or (255, 255, 255)
    try:
        background = tuple(int(c) for c in bg)[:3]
    except (TypeError, ValueError):
        background = (255, 255, 255)
    path = Path(path)
    data = _read_bytes(path)
    try:
        arr, _info, notes = decode_image(data, path.name, int(spec.image_size), int(spec.channels), fit, background)
    except ImageSkip as exc:
        raise FileEncodeError(f"{path.name}: {exc}") from None
    return np.transpose(arr, (2, 0, 1)).astype(np.float32) / 255.0, list(notes)


# -- melodies -----------------------------------------------------------------
def _read_melody(data: bytes, path: Path):
    from studio.core.datasets.music import MIDI_EXTS
    from studio.core.datasets.music_read import MusicSkip, read_midi_melody, read_music21_melodies
    from studio.core.datasets.sources import MUSIC_EXTS

    suffix = path.suffix.lower()
    try:
        if suffix in MIDI_EXTS or data[:4] == b"MThd":
            return read_midi_melody(data, path.name)
        if suffix in MUSIC_EXTS:  # the importer's rule: MIDI first (by name or content), then scores
            return read_music21_melodies(data, path.name, max_tunes=1)[0]
    except MusicSkip as exc:
        raise FileEncodeError(f"{path.name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - parsers raise anything on hostile input
        raise FileEncodeError(f"{path.name}: could not be read ({type(exc).__name__}: {str(exc)[:100]})") from None
    from studio.core.datasets.sniff import sniff

    what = sniff(data[:64])
    raise FileEncodeError(f"{path.name}: not a melody file ({'the content is ' + what if what else suffix or 'no extension'}); "
                          "use MIDI, ABC or MusicXML")


def octave_shift(lo: int, hi: int, min_pitch: int, max_pitch: int) -> int | None:
    """The smallest move by whole octaves that brings pitches lo..hi into min..max (None if none does)."""
    for k in sorted(range(-10, 11), key=abs):
        if min_pitch <= lo + 12 * k and hi + 12 * k <= max_pitch:
            return 12 * k
    return None


def melody_phrase(notes, name: str, length: int, min_pitch: int, max_pitch: int,
                  min_notes: int = MIN_NOTES) -> tuple[list[int], list[str]]:
    """The first importer phrase of ``length`` steps with ``min_notes`` notes, in the model's range."""
    from studio.core.audio.events import STEPS_PER_BAR, Note, events_to_notes, notes_to_events
    from studio.core.datasets.music import phrases_from_notes

    bars = max(1, length // STEPS_PER_BAR)
    # Cut with the full MIDI range (no folding), then move the whole phrase by octaves: keeps its shape.
    phrases, _ = phrases_from_notes(list(notes), length, min_notes, 0, 127)
    if not phrases:
        raise FileEncodeError(f"{name}: the melody is too short: no {bars}-bar phrase with at least {min_notes} notes "
                              f"(it has {len(notes)} note(s))")
    phrase = events_to_notes(phrases[0], 0)
    lo, hi = min(n.pitch for n in phrase), max(n.pitch for n in phrase)
    shift = octave_shift(lo, hi, min_pitch, max_pitch)
    if shift is None:
        raise FileEncodeError(f"{name}: the melody is out of range: its first phrase spans {note_name(lo)}..{note_name(hi)}, "
                              f"which does not fit the model's range {note_name(min_pitch)}..{note_name(max_pitch)} "
                              "even moved by octaves")
    notes_out: list[str] = []
    if shift:
        octs = abs(shift) // 12
        notes_out.append(f"moved {'up' if shift > 0 else 'down'} {octs} octave{'s' if octs > 1 else ''} "
                         f"into the model's range {note_name(min_pitch)}..{note_name(max_pitch)}")
    moved = [Note(n.pitch + shift, n.start, n.duration) for n in phrase]
    return notes_to_events(moved, length, min_pitch, max_pitch), notes_out


def read_melody_for(model, path: str | Path) -> tuple[np.ndarray, list[str]]:
    """(L,) int64 events of the file's first phrase at the model's phrase length, plus notes."""
    spec = _spec(model)
    path = Path(path)
    if spec.modality != "melody":
        raise FileEncodeError(f"{path.name}: this is an {spec.modality} model; it cannot read a melody")
    length = int(getattr(model, "window", 0) or getattr(model, "sequence_length", 0) or spec.phrase_length or 32)
    melody = _read_melody(_read_bytes(path), path)
    events, notes = melody_phrase(melody.notes, path.name, length, int(spec.min_pitch), int(spec.max_pitch))
    return np.asarray(events, dtype=np.int64), list(melody.warnings) + notes


# -- encoding -----------------------------------------------------------------
def encode_file(model, path: str | Path, plugin=None, run_dir: str | Path | None = None) -> FileCode:
    """Read ``path`` for ``model`` and return its latent mean; FileEncodeError with the reason otherwise."""
    import torch

    path = Path(path)
    if not can_encode(model, plugin):
        pid = getattr(plugin, "id", None) or type(model).__name__
        raise FileEncodeError(f"{path.name}: a {pid} model cannot place files in its latent space "
                              "(it has no 'encode' capability; use a VAE run such as vae or melody-vae)")
    spec = _spec(model)
    if spec.modality == "image":
        data, notes = read_image_for(model, path, dataset_settings(run_dir))
        x = torch.from_numpy(data).unsqueeze(0)
    else:
        data, notes = read_melody_for(model, path)
        x = torch.from_numpy(data).unsqueeze(0)
    with torch.inference_mode():
        z = model.encode(x)
    z = np.asarray(z.detach().cpu().numpy() if hasattr(z, "detach") else z, dtype=np.float32).reshape(-1)
    if z.shape[0] != int(model.latent_dim) or not np.all(np.isfinite(z)):
        raise FileEncodeError(f"{path.name}: the model's encoder gave no usable latent vector (shape {z.shape})")
    return FileCode(os.path.basename(str(path)), z, spec.modality, data, notes)
