"""Atomic file writes: a reader or a crash never sees half a file.

Temp file in the same folder, fsync, rename over the target, fsync the folder
(the pattern PyTorch Lightning adopted after corrupted checkpoints).
"""
from __future__ import annotations

import errno
import json
import os
import stat
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


#: The most a settings-like file (JSON, sidecar, lock, control file) may hold before it is refused unread.
SMALL_FILE_BYTES = 64 * 1024 * 1024


class UnreadableFileError(ValueError):
    """A file the studio will not read (not a regular file, too large); the message names it and says why."""


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n} bytes"


def read_small_file(path: str | os.PathLike, max_bytes: int = SMALL_FILE_BYTES, what: str = "file") -> bytes:
    """The one guarded reader for every small file the studio reads (JSON, sidecars, locks, control files).

    Regular files only: a FIFO would block forever and ``/dev/zero`` never ends, so both are refused
    before reading (the open is non-blocking and the type is checked again on the open descriptor,
    so a file swapped in between is caught too). At most ``max_bytes`` are read, even when the file
    grows meanwhile. Raises ``FileNotFoundError``/``OSError`` for a missing or unreadable file and
    :class:`UnreadableFileError` (a ``ValueError``) naming the file for one that is refused.
    """
    path = Path(path)
    st = os.stat(path)  # missing file: FileNotFoundError, as callers expect
    if not stat.S_ISREG(st.st_mode):
        raise UnreadableFileError(f"{path} is not a regular file ({_kind_of(st.st_mode)}), so it cannot be "
                                  f"a {what}; it is refused unread")
    if st.st_size > max_bytes:
        raise UnreadableFileError(f"{path} is {st.st_size:,} bytes ({_mib(st.st_size)}); a {what} is at most "
                                  f"{_mib(max_bytes)}, so it is refused unread")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped for a FIFO or device after the first look
            raise UnreadableFileError(f"{path} is not a regular file ({_kind_of(st.st_mode)}), so it cannot be "
                                      f"a {what}; it is refused unread")
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise UnreadableFileError(f"{path} is larger than {_mib(max_bytes)} (it grew while being read); "
                                  f"a {what} is at most that, so it is refused")
    return data


def read_small_text(path: str | os.PathLike, max_bytes: int = SMALL_FILE_BYTES, what: str = "text file") -> str:
    """:func:`read_small_file` decoded as UTF-8; undecodable bytes raise ``UnreadableFileError`` naming the file."""
    data = read_small_file(path, max_bytes, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def read_json(path: str | os.PathLike, max_bytes: int = SMALL_FILE_BYTES, what: str = "JSON settings file") -> Any:
    """Read a JSON file through :func:`read_small_file`; raises ValueError naming the file on bad content."""
    path = Path(path)
    data = read_small_file(path, max_bytes, what)
    try:
        return json.loads(data.decode("utf-8"))
    except RecursionError as exc:
        raise UnreadableFileError(f"{path}: JSON nested too deeply") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableFileError(f"{path}: not valid JSON ({exc})") from exc
