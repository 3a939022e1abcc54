"""A project is a folder: ``project.json`` + datasets/ + runs/ + exports/.

Saved atomically. Holds references to datasets and runs (relative paths when
inside the project), latent bookmarks and paths, and the open panels.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.fileio import atomic_write_json, read_json

SCHEMA_VERSION = 1
PROJECT_FILE = "project.json"


class ProjectError(ValueError):
    """A project folder that cannot be opened, with the reason in words."""


@dataclass
class Project:
    folder: Path
    name: str = "Untitled"
    datasets: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    bookmarks: list[dict[str, Any]] = field(default_factory=list)
    paths: list[dict[str, Any]] = field(default_factory=list)
    ui: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.time)

    # -- folders ----------------------------------------------------------
    @property
    def datasets_dir(self) -> Path:
        return self.folder / "datasets"

    @property
    def runs_dir(self) -> Path:
        return self.folder / "runs"

    @property
    def exports_dir(self) -> Path:
        return self.folder / "exports"

    def resolve(self, ref: str) -> Path:
        p = Path(ref)
        return p if p.is_absolute() else self.folder / p

    def _ref(self, path: str | Path) -> str:
        path = Path(path).resolve()
        try:
            return str(path.relative_to(self.folder.resolve()))
        except ValueError:
            return str(path)

    # -- edits ------------------------------------------------------------
    def add_dataset(self, path: str | Path) -> str:
        ref = self._ref(path)
        if ref not in self.datasets:
            self.datasets.append(ref)
        return ref

    def add_run(self, path: str | Path) -> str:
        ref = self._ref(path)
        if ref not in self.runs:
            self.runs.append(ref)
        return ref

    # -- persistence ------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "name": self.name, "created": self.created,
                "datasets": self.datasets, "runs": self.runs, "bookmarks": self.bookmarks,
                "paths": self.paths, "ui": self.ui}

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.folder / PROJECT_FILE, self.to_dict())

    @classmethod
    def create(cls, folder: str | Path, name: str | None = None) -> "Project":
        folder = Path(folder)
        if (folder / PROJECT_FILE).exists():
            raise ProjectError(f"{folder} already holds a project")
        proj = cls(folder=folder, name=name or folder.name)
        for sub in ("datasets", "runs", "exports"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        proj.save()
        return proj

    @classmethod
    def open(cls, folder: str | Path) -> "Project":
        folder = Path(folder)
        path = folder / PROJECT_FILE
        if not path.exists():
            raise ProjectError(f"{folder} is not a studio project (no {PROJECT_FILE})")
        try:
            data = read_json(path)
        except (OSError, ValueError) as exc:
            raise ProjectError(f"{path} could not be read: {exc}") from exc
        if not isinstance(data, dict):
            raise ProjectError(f"{path} is not a project file (expected a JSON object)")
        version = data.get("schema_version", 0)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ProjectError(f"{path} was written by a newer studio (schema {version}); please update the studio")

        def _list(key):
            v = data.get(key, [])
            return list(v) if isinstance(v, list) else []

        return cls(folder=folder, name=str(data.get("name", folder.name)), datasets=[str(x) for x in _list("datasets")],
                   runs=[str(x) for x in _list("runs")], bookmarks=[b for b in _list("bookmarks") if isinstance(b, dict)],
                   paths=[p for p in _list("paths") if isinstance(p, dict)],
                   ui=data.get("ui", {}) if isinstance(data.get("ui"), dict) else {},
                   created=float(data.get("created", time.time())))

    @classmethod
    def open_or_create(cls, folder: str | Path, name: str | None = None) -> "Project":
        folder = Path(folder)
        return cls.open(folder) if (folder / PROJECT_FILE).exists() else cls.create(folder, name)
