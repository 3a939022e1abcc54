"""Read the recipe back from any file the studio exports (the drop-to-restore round trip)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from studio.core.export.provenance import ProvenanceError, from_json

SUPPORTED = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".mp4", ".wav", ".flac", ".mid", ".midi", ".txt", ".json")


def _image(path: Path) -> dict[str, Any] | None:
    from PIL import Image, UnidentifiedImageError

    from studio.core.export.images import EXIF_IFD, EXIF_USER_COMMENT, PNG_KEY
    from studio.core.export.xmp import recipe_from_xmp

    try:
        with Image.open(path) as im:
            info = dict(im.info)
            text = dict(getattr(im, "text", {}) or {})
            exif = im.getexif()
    except (UnidentifiedImageError, OSError) as exc:
        raise ProvenanceError(f"{path}: not a readable image ({exc})") from exc
    if PNG_KEY in text:
        return from_json(text[PNG_KEY], str(path))
    if "comment" in info:  # GIF comment extension
        try:
            return from_json(info["comment"], str(path))
        except ProvenanceError:
            pass
    for key in ("xmp", "XML:com.adobe.xmp"):
        raw = info.get(key) or text.get(key)
        if raw:
            found = recipe_from_xmp(raw, str(path))
            if found:
                return found
    comment = exif.get_ifd(EXIF_IFD).get(EXIF_USER_COMMENT)
    if isinstance(comment, bytes) and len(comment) > 8:
        return from_json(comment[8:], str(path))
    if isinstance(comment, str) and comment:
        return from_json(comment, str(path))
    return None


def _mp4(path: Path) -> dict[str, Any] | None:
    from studio.core.export.video import read_mp4_tags

    tags = read_mp4_tags(path)
    return from_json(tags["comment"], str(path)) if "comment" in tags else None


def _wav(path: Path) -> dict[str, Any] | None:
    from studio.core.export.audio import read_wav_info

    fields = read_wav_info(path)
    return from_json(fields["ICMT"], str(path)) if fields.get("ICMT") else None


def _flac(path: Path) -> dict[str, Any] | None:
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as fh:
            comment = fh.comment
    except RuntimeError as exc:
        raise ProvenanceError(f"{path}: not a readable FLAC file ({exc})") from exc
    return from_json(comment, str(path)) if comment else None


def _midi(path: Path) -> dict[str, Any] | None:
    import mido

    from studio.core.audio.midi import TEXT_PREFIX

    try:
        mid = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise ProvenanceError(f"{path}: not a readable MIDI file ({exc})") from exc
    for track in mid.tracks:
        for msg in track:
            if msg.is_meta and msg.type == "text" and msg.text.startswith(TEXT_PREFIX):
                return from_json(msg.text[len(TEXT_PREFIX):], str(path))
    return None


TEXT_EDGE_BYTES = 1 << 20  # the recipe block is a header or a footer: a long text is read at its two ends


def _text(path: Path) -> dict[str, Any] | None:
    from studio.core.export.text import sidecar_path, split_text
    from studio.core.fileio import read_small_text

    with open(path, "rb") as fh:  # a 1 GB text dropped on the window is not read whole
        head = fh.read(TEXT_EDGE_BYTES)
        size = fh.seek(0, 2)
        fh.seek(max(size - TEXT_EDGE_BYTES, len(head)))
        tail = fh.read(TEXT_EDGE_BYTES)
    recipe = None
    for part in (head, tail):
        _, recipe = split_text(part.decode("utf-8", errors="replace"), str(path))
        if recipe is not None:
            break
    sidecar = sidecar_path(path)
    if recipe is None and sidecar.exists():
        return from_json(read_small_text(sidecar, what="recipe sidecar"), str(sidecar))
    return recipe


def read_provenance(path: str | Path) -> dict[str, Any] | None:
    """The recipe embedded in ``path``, or ``None`` when the file carries none.

    Raises :class:`ProvenanceError` (naming the file) for unreadable files or
    corrupt studio metadata, ``ValueError`` for formats the studio does not write.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    ext = path.suffix.lower()
    if ext in (".png", ".jpg", ".jpeg", ".webp", ".gif"):
        return _image(path)
    if ext == ".mp4":
        return _mp4(path)
    if ext == ".wav":
        return _wav(path)
    if ext == ".flac":
        return _flac(path)
    if ext in (".mid", ".midi"):
        return _midi(path)
    if ext == ".txt":
        return _text(path)
    if ext == ".json":
        try:
            return from_json(path.read_text(encoding="utf-8"), str(path))
        except (OSError, json.JSONDecodeError) as exc:
            raise ProvenanceError(f"{path}: {exc}") from exc
    raise ValueError(f"{path}: the studio does not read metadata from {ext or 'extension-less'} files; "
                     f"supported: {', '.join(SUPPORTED)}")
