"""Audio export: WAV with a RIFF ``LIST/INFO`` chunk and an ID3 chunk, FLAC with Vorbis comments.

The WAV INFO chunk is written here (libsndfile's own INFO support truncates
long strings; mutagen writes only ID3 in WAV); fields: ``INAM`` title, ``ISBJ`` the
disclosure line, ``IKEY`` keywords, ``ISFT`` software, ``ICRD`` date, ``ICMT`` the recipe
JSON (ASCII). The ID3 chunk and the FLAC Vorbis comments are written with mutagen
(:mod:`studio.core.export.tags`). No format gets an artist or copyright field: those are the artist's.
"""
from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.export.credentials import sign_bytes
from studio.core.export.naming import check_target
from studio.core.export.provenance import (DISCLOSURE, DISCLOSURE_LINE, GENERATOR, finalize, source_label,
                                           to_json)
from studio.core.export.tags import tag_flac, tag_wav
from studio.core.fileio import atomic_write_bytes

AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC"}


def _as_audio(audio: Any) -> np.ndarray:
    if hasattr(audio, "detach"):
        audio = audio.detach().cpu().numpy()
    arr = np.asarray(audio, dtype=np.float32)
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise ValueError(f"expected mono (N,) or (N, channels) audio, got shape {arr.shape}")
    return np.clip(np.nan_to_num(arr), -1.0, 1.0)


def info_fields(recipe: dict[str, Any]) -> dict[str, str]:
    recipe = finalize(recipe)
    return {"INAM": source_label(recipe), "ISBJ": DISCLOSURE_LINE,
            "IKEY": f"{DISCLOSURE}; trainedAlgorithmicMedia", "ISFT": GENERATOR,
            "ICRD": recipe["created"], "ICMT": to_json(recipe)}


def info_chunk(fields: dict[str, str]) -> bytes:
    """A ``LIST`` chunk of type ``INFO`` (each value NUL-terminated, padded to even length)."""
    body = b"INFO"
    for key, value in fields.items():
        data = value.encode("latin-1", "replace") + b"\x00"
        body += key.encode("ascii") + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")
    return b"LIST" + struct.pack("<I", len(body)) + body


def wav_bytes(audio: Any, sample_rate: int, recipe: dict[str, Any] | None, subtype: str = "PCM_16") -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, _as_audio(audio), int(sample_rate), format="WAV", subtype=subtype)
    data = buf.getvalue()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("soundfile did not produce a RIFF/WAVE stream")
    riff_len = struct.unpack("<I", data[4:8])[0]
    data = data[: 8 + riff_len]
    if len(data) % 2:
        data += b"\x00"
    data += info_chunk(info_fields(recipe))
    return tag_wav(data[:4] + struct.pack("<I", len(data) - 8) + data[8:], recipe)


def flac_bytes(audio: Any, sample_rate: int, recipe: dict[str, Any] | None) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    arr = _as_audio(audio)
    with sf.SoundFile(buf, "w", int(sample_rate), 1 if arr.ndim == 1 else arr.shape[1], format="FLAC",
                      subtype="PCM_16") as fh:
        fh.write(arr)
    return tag_flac(buf.getvalue(), recipe)  # Vorbis comments by mutagen: DESCRIPTION, COMMENT, the studio's key


def save_audio(audio: Any, path: str | Path, recipe: dict[str, Any] | None, *, sample_rate: int = 44100,
               fmt: str | None = None, overwrite: bool = False) -> Path:
    """Write WAV or FLAC (from ``fmt`` or the extension) with the recipe embedded."""
    path = check_target(path, overwrite)
    key = "." + (fmt or path.suffix).lower().lstrip(".")
    if key not in AUDIO_FORMATS:
        raise ValueError(f"{path}: unsupported audio format {key}; use wav or flac")
    data = wav_bytes(audio, sample_rate, recipe) if key == ".wav" else flac_bytes(audio, sample_rate, recipe)
    atomic_write_bytes(path, sign_bytes(data, key, finalize(recipe), title=path.name))  # + Content Credentials
    return path


MAX_INFO_BYTES = 16 << 20  # a recipe is a few KB; a bigger LIST chunk is not ours


def read_wav_info(path: str | Path) -> dict[str, str]:
    """The ``LIST/INFO`` fields of a WAV file (empty when it has none).

    Walks the chunk headers and reads only ``LIST`` chunks (at most ``MAX_INFO_BYTES`` each): a 1 GB
    recording dropped on the window is not read into memory to find its recipe.
    """
    fields: dict[str, str] = {}
    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError(f"{path}: not a RIFF/WAVE file")
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                break
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid != b"LIST" or size > MAX_INFO_BYTES:
                fh.seek(size + (size % 2), 1)
                continue
            body = fh.read(size + (size % 2))[:size]
            if body[:4] != b"INFO":
                continue
            sub = 4
            while sub + 8 <= len(body):
                key, n = body[sub:sub + 4].decode("latin-1"), struct.unpack("<I", body[sub + 4:sub + 8])[0]
                fields[key] = body[sub + 8:sub + 8 + n].rstrip(b"\x00").decode("latin-1")
                sub += 8 + n + (n % 2)
    return fields
