"""The project setting behind ``--share``: ``"share_exports": true`` in ``project.json`` makes every export
of the project's runs leave local file paths out of its recipe (see provenance.set_sharing)."""
from __future__ import annotations

from pathlib import Path

from studio.core.fileio import read_json

KEY = "share_exports"
PROJECT_FILE = "project.json"


def project_of(path: str | Path, levels: int = 4) -> Path | None:
    """The project folder holding ``path`` (a run folder or a checkpoint in one), if any."""
    p = Path(path).expanduser()
    for folder in [p, *p.parents][: levels + 1]:
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


def project_shares(path: str | Path | None) -> bool:
    """Whether the project around ``path`` asks for share-safe exports (False when unknown or unreadable)."""
    folder = project_of(path) if path else None
    if folder is None:
        return False
    try:
        data = read_json(folder / PROJECT_FILE)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get(KEY) is True
