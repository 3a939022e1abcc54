"""Content fingerprint of an import: what was read and how, so identical re-imports are cache hits.

The fingerprint covers the importer version, the modality, the settings, and for
each source file its path relative to the source root and a hash of its bytes
(not its modification time: touching a file does not invalidate the cache,
changing one byte does).
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from studio.core.datasets.report import Progress
from studio.core.datasets.sources import MAX_FILE_BYTES, SourceFile

IMPORTER_VERSION = 2  # 2: SHA-256 file digests (hardware-accelerated here, twice blake2b's speed)
_CHUNK = 1 << 20


def digest_bytes(data: bytes) -> str:
    """The digest of content already in memory (equal to :func:`file_digest` of the same bytes)."""
    return hashlib.sha256(data).hexdigest()[:32]


def file_digest(src: SourceFile) -> str:
    """SHA-256 of the file's bytes (first 128 bits), or a marker naming why it could not be read."""
    h = hashlib.sha256()
    if src.size > MAX_FILE_BYTES:  # never read by any importer: hashing gigabytes would only stall the import
        return f"too-large:{src.size}"
    try:
        if src.zip_path is None:
            with open(src.path, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    h.update(chunk)
        else:
            h.update(src.read_bytes())
    except (OSError, ValueError) as exc:
        return f"unreadable:{type(exc).__name__}"
    except Exception as exc:  # noqa: BLE001 - a damaged zip member can raise anything
        return f"unreadable:{type(exc).__name__}"
    return h.hexdigest()[:32]


def fingerprint(modality: str, files: list[SourceFile], settings: dict[str, Any], skipped: list[dict],
                progress: Progress | None = None, known: dict[str, str] | None = None) -> str:
    """``known``: digests (by path) that a decoder already took from the bytes it read, so a
    fresh import reads each file once; files missing from it are read and hashed here."""
    progress = progress or Progress()
    known = known or {}

    def digest_of(src: SourceFile) -> str:
        d = known.get(src.path)
        return d if d is not None and src.size <= MAX_FILE_BYTES else file_digest(src)

    h = hashlib.blake2b(digest_size=20)
    h.update(json.dumps({"v": IMPORTER_VERSION, "modality": modality, "settings": settings},
                        sort_keys=True, default=str).encode())
    ordered = sorted(files, key=lambda f: (f.root, f.rel, f.path))
    total = len(ordered)
    # Reading and hashing release the GIL: a few threads overlap the I/O of many small files.
    workers = min(8, 2 * (os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fingerprint") as pool:
        for start in range(0, total, 512):
            progress.update(start, total, "checking sources")
            batch = ordered[start:start + 512]
            for src, digest in zip(batch, pool.map(digest_of, batch)):
                h.update(f"\0{src.rel}\0{digest}".encode("utf-8", "surrogateescape"))
    for s in sorted(skipped, key=lambda s: s["path"]):
        h.update(f"\1{s['path']}\0{s['reason']}".encode("utf-8", "surrogateescape"))
    return h.hexdigest()
