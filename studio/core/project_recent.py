"""The recently opened projects, kept in the platform's config folder (platformdirs)."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from studio.core import paths
from studio.core.fileio import atomic_write_json
from studio.core.project_schema import ProjectError, parse_project_bytes, read_bounded

log = logging.getLogger("studio.project")

RECENT_FILE = "recent-projects.json"
RECENT_LIMIT = 10


class RecentProjects:
    """Newest first; a damaged list is started afresh rather than stopping the studio."""

    def __init__(self, path: str | Path | None = None, limit: int = RECENT_LIMIT):
        self.path = Path(path) if path else paths.config_dir() / RECENT_FILE
        self.limit = limit

    def entries(self) -> list[dict]:
        """``[{"folder": str, "name": str, "opened": float}]``, newest first."""
        if not self.path.exists():
            return []
        try:
            data = parse_project_bytes(read_bounded(self.path, max_bytes=1 << 20), self.path)
        except ProjectError as exc:
            log.warning("the recent projects list was unreadable and is started afresh: %s", exc)
            return []
        items = data.get("projects", []) if isinstance(data, dict) else []
        out = []
        for it in items if isinstance(items, list) else []:
            if isinstance(it, dict) and isinstance(it.get("folder"), str) and "\x00" not in it["folder"]:
                opened = it.get("opened")
                out.append({"folder": it["folder"], "name": str(it.get("name") or Path(it["folder"]).name),
                            "opened": float(opened) if isinstance(opened, (int, float)) else 0.0})
        return out[: self.limit]

    def folders(self) -> list[Path]:
        return [Path(e["folder"]) for e in self.entries()]

    def add(self, folder: str | Path, name: str | None = None) -> None:
        folder = str(Path(folder).resolve())
        rest = [e for e in self.entries() if e["folder"] != folder]
        self._write([{"folder": folder, "name": name or Path(folder).name, "opened": time.time()}] + rest)

    def remove(self, folder: str | Path) -> None:
        folder = str(Path(folder).resolve())
        self._write([e for e in self.entries() if e["folder"] != folder])

    def clear(self) -> None:
        self._write([])

    def _write(self, items: list[dict]) -> None:
        try:
            atomic_write_json(self.path, {"projects": items[: self.limit]})
        except OSError as exc:  # the list is a convenience; never fail an open over it
            log.warning("could not update %s: %s", self.path, exc)
