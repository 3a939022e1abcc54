"""Atomic file writes: a reader or a crash never sees half a file.

Temp file in the same folder, fsync, rename over the target, fsync the folder
(the pattern PyTorch Lightning adopted after corrupted checkpoints).
"""
from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any


class DiskFullError(OSError):
    """Raised with a user-facing message when a write fails for lack of space."""


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Read once at import (reading it means setting it): the mode a plain ``open()`` would give.
_UMASK = _read_umask()


def give_normal_mode(path: str | os.PathLike, target: str | os.PathLike | None = None) -> None:
    """A temp file from ``mkstemp`` is private (0600); give it what ``open()`` would: the mode of the
    file it replaces, else 0666 minus the umask, so exported files can be shared as usual."""
    try:
        mode = os.stat(target).st_mode & 0o777 if target is not None and os.path.isfile(target) \
            else 0o666 & ~_UMASK
        os.chmod(path, mode)
    except OSError:
        pass  # a filesystem without modes (FAT, some network shares): nothing to do


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the old content survives any failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        give_normal_mode(tmp, path)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if exc.errno == errno.ENOSPC:
            raise DiskFullError(errno.ENOSPC, f"no space left on device while writing {path}") from exc
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: str | os.PathLike, max_bytes: int = 64 * 1024 * 1024) -> Any:
    """Read a JSON file with a size bound; raises ValueError naming the file on bad content."""
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"{path}: {size} bytes is too large for a JSON settings file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except RecursionError as exc:
        raise ValueError(f"{path}: JSON nested too deeply") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
