"""Output file names from a pattern, and the rule that nothing is overwritten silently."""
from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

DEFAULT_PATTERN = "{plugin}-{run}-{seed}-{index}"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
FIELDS = ("plugin", "run", "seed", "index", "step", "format")


class OverwriteError(FileExistsError):
    """The target exists and the caller did not allow overwriting (GUI: ask; CLI: ``--overwrite``)."""

    def __init__(self, path: Path):
        super().__init__(f"{path}: already exists; not overwriting it (use --overwrite, or choose another name)")
        self.path = path


def _clean(value: Any) -> str:
    text = _UNSAFE.sub("_", str(value)).strip("._")
    return text or "x"


def format_name(pattern: str = DEFAULT_PATTERN, **fields: Any) -> str:
    """Fill ``pattern`` with file-name-safe values; unknown fields raise a clear error."""
    names = {f for _, f, _, _ in string.Formatter().parse(pattern) if f}
    missing = sorted(names - set(fields))
    if missing:
        raise ValueError(f"file name pattern {pattern!r}: no value for {', '.join('{' + m + '}' for m in missing)}; "
                         f"available: {', '.join('{' + k + '}' for k in sorted(fields))}")
    name = pattern.format(**{k: _clean(v) for k, v in fields.items()})
    if not name or name in (".", "..") or "/" in name:
        raise ValueError(f"file name pattern {pattern!r} gives an unusable name {name!r}")
    return name


def check_target(path: str | Path, overwrite: bool = False) -> Path:
    """Return ``path`` if it may be written; raise :class:`OverwriteError` if it exists and may not."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder, expected a file path")
    if path.exists() and not overwrite:
        raise OverwriteError(path)
    return path


def plan_paths(folder: str | Path, ext: str, count: int, *, plugin: str, run: str, seed: int,
               pattern: str = DEFAULT_PATTERN, overwrite: bool = False, start_index: int = 0,
               **extra: Any) -> list[Path]:
    """Paths for ``count`` files in ``folder``; checks every one before anything is written."""
    folder = Path(folder)
    ext = ext if ext.startswith(".") else "." + ext
    paths = []
    for i in range(start_index, start_index + count):
        paths.append(folder / (format_name(pattern, plugin=plugin, run=run, seed=seed, index=i, **extra) + ext))
    if len(set(paths)) != len(paths):
        raise ValueError(f"file name pattern {pattern!r} gives the same name to several files; include {{index}}")
    for p in paths:
        check_target(p, overwrite)
    return paths
