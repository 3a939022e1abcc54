"""Which files carry Content Credentials (C2PA) inside them, and which in a sidecar ``NAME.c2pa``.

A leaf module (no studio imports): export signs and verifies with it, the importer reads the
training preferences of incoming files with it.
"""
from __future__ import annotations

from pathlib import Path

#: Formats the manifest is embedded in (c2pa-python 0.38 signs each of these in place).
EMBEDDED = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
            ".gif": "image/gif", ".mp4": "video/mp4", ".wav": "audio/wav", ".flac": "audio/flac"}
#: Formats with no C2PA embedding: a sidecar ``.c2pa`` manifest covers their bytes.
SIDECAR = {".mid": "audio/midi", ".midi": "audio/midi", ".txt": "text/plain", ".json": "application/json"}
SIDECAR_SUFFIX = ".c2pa"


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def mime_type(path: str | Path) -> str | None:
    suffix = Path(path).suffix.lower()
    return EMBEDDED.get(suffix) or SIDECAR.get(suffix)


#: The studio works offline: c2pa must never fetch a remote manifest or a certificate's status, and it
#: does not embed a thumbnail (80-600 KB on a small picture, repeating what the file shows).
SETTINGS = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
            "builder": {"thumbnail": {"enabled": False}}}


def c2pa_context():
    """A c2pa ``Context`` with :data:`SETTINGS` (a new one each time, ~0.1 ms: exports and checks run on
    worker threads too). Imports c2pa (its native library) only when called."""
    import c2pa
    return c2pa.Context(settings=c2pa.Settings.from_dict(SETTINGS))
