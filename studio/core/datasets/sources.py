"""Finding source files: folders (recursively), single files and ``.zip`` archives.

Nothing is ever extracted to disk: zip members are read into memory, so a member
named ``../../etc/passwd`` or ``/abs/path`` cannot escape; such members are skipped
with a reason anyway. Symbolic-link loops, links that lead out of an imported folder, unreadable
folders and hidden files are accounted for in the report instead of crashing,
recursing forever or importing ``/etc/passwd``.
"""
from __future__ import annotations

import errno
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from studio.core.datasets.report import ImportReport, Progress

MAX_FILE_BYTES = 512 * 1024 * 1024    # a single source file larger than this is not read
MAX_MEMBER_BYTES = 256 * 1024 * 1024  # a zip member that unpacks larger than this is skipped
MAX_ZIP_RATIO = 200                   # unpacked/packed; above this (and > 10 MB) it is a zip bomb
MAX_ZIP_TOTAL_BYTES = 8 * 1024 ** 3   # all members of one archive together

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".jpe", ".webp", ".bmp", ".dib", ".gif", ".tif", ".tiff"}
MUSIC_EXTS = {".mid", ".midi", ".kar", ".abc", ".xml", ".musicxml", ".mxl", ".krn"}
TEXT_EXTS = {".txt", ".md", ".markdown", ".text", ".rst"}


class SourceError(ValueError):
    """A source path the user named that does not exist."""


@dataclass(frozen=True)
class SourceFile:
    """One file to import: on disk, or a member of a zip archive (``archive.zip!member``)."""

    path: str                 # what the report shows
    root: str                 # the source argument it came from (folder name gives labels)
    rel: str                  # posix path relative to ``root`` (``name`` for a single file)
    size: int
    zip_path: str | None = None
    member: str | None = None

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.rel).suffix.lower()

    def read_bytes(self, limit: int = MAX_FILE_BYTES) -> bytes:
        """The file's content; raises OSError/ValueError with a human message."""
        if self.size > limit:
            raise ValueError(f"file of {self.size:,} bytes is larger than the {limit // (1024 * 1024)} MB limit")
        if self.zip_path is None:
            # Non-blocking open, type checked on the descriptor: a file swapped for a FIFO or a
            # device link after the folder was listed is refused, never waited on or read forever.
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise ValueError("not a regular file (it changed into a device, pipe or socket)")
            except BaseException:
                os.close(fd)
                raise
            with os.fdopen(fd, "rb") as fh:
                # read(n) reserves n bytes up front: ask for the size stat() gave, not the 512 MB limit
                data = fh.read(min(limit, self.size) + 1)
                if len(data) > self.size:  # the file grew since it was listed
                    data += fh.read(limit + 1 - len(data))
                return data[:limit]
        with zipfile.ZipFile(self.zip_path) as zf, zf.open(self.member) as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise ValueError("zip member unpacks larger than its declared size (zip bomb?)")
        return data


def _unsafe_member(name: str) -> bool:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    parts = name.replace("\\", "/").split("/")
    return ".." in parts


def _scan_zip(zpath: Path, root: str, report: ImportReport, out: list[SourceFile]) -> None:
    shown = str(zpath)
    try:
        zf = zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        report.skip(shown, f"damaged or unreadable zip archive ({exc})")
        return
    with zf:
        try:
            infos = zf.infolist()
        except Exception as exc:  # noqa: BLE001 - zipfile raises many kinds on corrupt directories
            report.skip(shown, f"damaged zip archive ({exc})")
            return
        if not infos:
            report.skip(shown, "empty zip archive")
            return
        # A running budget over the whole archive: many members that each pass the per-member
        # checks (300 x 9.9 MB of zeros in 2.9 MB) are a zip bomb all the same.
        total_unpacked, total_packed = 0, 0
        for n, info in enumerate(infos):
            name = info.filename
            if info.is_dir():
                continue
            where = f"{shown}!{name}"
            if _unsafe_member(name):
                report.skip(where, "unsafe path inside the zip (absolute or with '..'); it is never extracted")
                continue
            mode = (info.external_attr >> 16) & 0o170000
            if mode == stat.S_IFLNK:
                report.skip(where, "symbolic link inside the zip; not followed")
                continue
            if info.flag_bits & 0x1:
                report.skip(where, "encrypted zip member; decrypt the archive first")
                continue
            base = PurePosixPath(name).name
            if base.startswith(".") or name.startswith("__MACOSX/"):
                report.skip(where, "hidden or system file")
                continue
            if PurePosixPath(name).suffix.lower() == ".zip":
                report.skip(where, "a zip inside a zip is not opened; unpack it first")
                continue
            if info.file_size > MAX_MEMBER_BYTES or (
                    info.file_size > 10 * 1024 * 1024 and info.file_size > MAX_ZIP_RATIO * max(1, info.compress_size)):
                report.skip(where, f"unpacks to {info.file_size:,} bytes (too large, or a zip bomb)")
                continue
            total_unpacked += info.file_size
            total_packed += info.compress_size
            if total_unpacked > MAX_ZIP_TOTAL_BYTES or (
                    total_unpacked > 64 * 1024 * 1024 and total_unpacked > MAX_ZIP_RATIO * max(1, total_packed)):
                left = len(infos) - n
                report.skip(where, f"the archive unpacks to more than {total_unpacked:,} bytes from "
                                   f"{total_packed:,} (too large, or a zip bomb); this and the {left - 1} "
                                   "members after it are skipped")
                return
            out.append(SourceFile(where, root, name, info.file_size, str(zpath), name))


def _add_file(path: Path, root: str, rel: str, report: ImportReport, out: list[SourceFile]) -> None:
    try:
        st = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            reason = "symbolic link loop"
        elif path.is_symlink():
            reason = "broken symbolic link (its target is missing)"
        else:
            reason = f"cannot be read ({exc.strerror or exc})"
        report.skip(str(path), reason)
        return
    if not stat.S_ISREG(st.st_mode):
        report.skip(str(path), "not a regular file (device, pipe or socket)")
        return
    if path.suffix.lower() == ".zip":
        _scan_zip(path, root, report, out)
        return
    out.append(SourceFile(str(path), root, rel, st.st_size))


def _outside_link(p: Path, top_real: Path) -> str | None:
    """Why a symbolic link found while walking ``top`` is not followed (it leads out of it), else None."""
    if not p.is_symlink():
        return None
    try:
        target = p.resolve(strict=True)
    except (OSError, RuntimeError):
        return None  # broken or looping: _add_file / the loop check say so
    try:
        target.relative_to(top_real)
        return None
    except ValueError:
        return (f"symbolic link to {target}, outside the imported folder; not followed (import that "
                "file or folder itself if you mean it)")


def _walk(top: Path, report: ImportReport, out: list[SourceFile], progress: Progress) -> None:
    root = str(top)
    top_real = top.resolve()
    seen: set[tuple[int, int]] = set()
    try:
        st = top.stat()
        seen.add((st.st_dev, st.st_ino))
    except OSError:
        pass
    stack = [top]
    while stack:
        progress.check()
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            report.skip(str(folder), f"folder cannot be read ({exc.strerror or exc})")
            continue
        subdirs = []
        for entry in entries:
            p = Path(entry.path)
            rel = p.relative_to(top).as_posix()
            if entry.name.startswith("."):
                report.skip(str(p), "hidden folder (not searched)" if entry.is_dir(follow_symlinks=False)
                            else "hidden or system file")
                continue
            outside = _outside_link(p, top_real) if entry.is_symlink() else None
            if outside:
                report.skip(str(p), outside)
                continue
            try:
                is_dir = entry.is_dir()  # follows symlinks (those that stay inside the folder)
            except OSError:
                is_dir = False
            if is_dir:
                try:
                    st = entry.stat()
                except OSError as exc:
                    report.skip(str(p), f"folder cannot be read ({exc.strerror or exc})")
                    continue
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    report.skip(str(p), "symbolic link loop (points back to a folder already searched)")
                    continue
                seen.add(key)
                subdirs.append(p)
            else:
                _add_file(p, root, rel, report, out)
        stack.extend(reversed(subdirs))


def collect(sources, report: ImportReport, progress: Progress | None = None) -> list[SourceFile]:
    """All files under ``sources`` (paths to files, folders or zips), in a stable order."""
    progress = progress or Progress()
    out: list[SourceFile] = []
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    for src in sources:
        p = Path(src).expanduser()
        if not p.exists() and not p.is_symlink():
            report.skip(str(p), "does not exist")
            continue
        if p.is_dir():
            _walk(p, report, out, progress)
        else:
            _add_file(p, str(p.parent), p.name, report, out)
    # The same file named twice (a folder and a file in it) is imported once.
    unique: dict[str, SourceFile] = {}
    for f in out:
        unique.setdefault(f.path, f)
    return list(unique.values())


def guess_modality(sources, limit: int = 2000) -> str | None:
    """'image', 'melody' or 'text' from the file extensions found (first ``limit`` files)."""
    counts = {"image": 0, "melody": 0, "text": 0}
    seen = 0
    for src in ([sources] if isinstance(sources, (str, os.PathLike)) else sources):
        p = Path(src)
        names: list[str] = []
        if p.is_dir():
            for _dirpath, _dirs, files in os.walk(p):
                names.extend(files)
                if len(names) > limit:
                    break
        elif p.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(p) as zf:
                    names = zf.namelist()[:limit]
            except (zipfile.BadZipFile, OSError, ValueError):
                names = []
        else:
            names = [p.name]
        for n in names[:limit]:
            ext = os.path.splitext(n)[1].lower()
            for modality, exts in (("image", IMAGE_EXTS), ("melody", MUSIC_EXTS), ("text", TEXT_EXTS)):
                if ext in exts:
                    counts[modality] += 1
        seen += len(names)
        if seen > limit:
            break
    best = max(counts, key=counts.get)
    return best if counts[best] else None
