"""A project is a folder: ``project.json`` + datasets/ + runs/ + exports/ + trash/ + .backups/.

``project.json`` holds references to datasets and runs (relative paths when
inside the project), their display labels, latent bookmarks and paths, the open
panels, and the log of trashed items. It is saved atomically and every save is
also kept in ``.backups/`` (the last five), so a damaged file never costs more
than the edits since the previous save. Reading goes through
:mod:`studio.core.project_schema` (bounded, strict, migrated).

Locking, autosave and crash recovery live in :mod:`studio.core.project_store`;
undoable edits in :mod:`studio.core.project_edits`.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.fileio import atomic_write_text, read_small_file
from studio.core.project_schema import SCHEMA_VERSION, ProjectError, load_project_data, read_project_file

__all__ = ["Project", "ProjectError", "SCHEMA_VERSION", "PROJECT_FILE", "BACKUPS_DIR", "BACKUPS_KEPT",
           "list_backups"]

PROJECT_FILE = "project.json"
BACKUPS_DIR = ".backups"
BACKUPS_KEPT = 5
_KNOWN = {"schema_version", "name", "created", "datasets", "runs", "bookmarks", "paths", "ui", "labels", "trash"}


def dumps(obj: dict[str, Any]) -> str:
    """The exact text written for a project dict: one top-level key per line, values compact.

    ``indent=`` would switch json to its pure-Python encoder, 30x slower: with
    thousands of latent bookmarks that is seconds on the UI thread per autosave.
    """
    lines = [f"  {json.dumps(k)}: {json.dumps(v, default=str, ensure_ascii=False)}" for k, v in obj.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _backup_stamp(micros: int) -> str:
    """``YYYYmmdd-HHMMSS-uuuuuu`` (local time) of a time in microseconds since the epoch."""
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(micros // 1_000_000)) + f"-{micros % 1_000_000:06d}"


def list_backups(folder: str | Path) -> list[Path]:
    """Backups of a project's saves, newest first."""
    d = Path(folder) / BACKUPS_DIR
    try:
        if d.is_symlink():
            return []  # never read, offer or rotate files through a link out of the project
        return sorted(d.glob("project-*.json"), reverse=True)
    except OSError:
        return []


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
    labels: dict[str, str] = field(default_factory=dict)     # ref -> display name (renames)
    trash: list[dict[str, Any]] = field(default_factory=list)  # what deletes moved to trash/
    extra: dict[str, Any] = field(default_factory=dict)      # unknown keys, written back untouched
    # Text of the last save/open: lets autosave tell unsaved edits apart, even when a
    # panel calls save() directly instead of going through the session.
    _saved_text: str | None = field(default=None, init=False, repr=False, compare=False)
    loaded_version: int = field(default=SCHEMA_VERSION, init=False, repr=False, compare=False)

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

    @property
    def trash_dir(self) -> Path:
        return self.folder / "trash"

    @property
    def backups_dir(self) -> Path:
        return self.folder / BACKUPS_DIR

    def resolve(self, ref: str) -> Path:
        p = Path(ref)
        return p if p.is_absolute() else self.folder / p

    def _ref(self, path: str | Path) -> str:
        path = Path(path).resolve()
        try:
            return str(path.relative_to(self.folder.resolve()))
        except ValueError:
            return str(path)

    def label(self, ref: str) -> str:
        """What the user calls a dataset or run: its label if renamed, else its folder name."""
        return self.labels.get(ref) or Path(ref).name

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
        d = {"schema_version": SCHEMA_VERSION, "name": self.name, "created": self.created,
             "datasets": self.datasets, "runs": self.runs, "bookmarks": self.bookmarks,
             "paths": self.paths, "ui": self.ui, "labels": self.labels, "trash": self.trash}
        d.update({k: v for k, v in self.extra.items() if k not in d})
        return d

    def text(self) -> str:
        return dumps(self.to_dict())

    @property
    def is_saved(self) -> bool:
        """True when ``project.json`` holds exactly what is in memory."""
        return self._saved_text == self.text()

    def save(self) -> None:
        """Write ``project.json`` atomically and keep this save among the last five backups."""
        self.folder.mkdir(parents=True, exist_ok=True)
        text = self.text()
        atomic_write_text(self.folder / PROJECT_FILE, text)
        self._saved_text = text
        try:
            self._keep_backup(text)
        except OSError:
            pass  # the save itself succeeded; a missing backup must not turn it into a failure

    def _keep_backup(self, text: str) -> None:
        from studio.core.project_paths import OutsideProjectError, owned_subfolder

        try:
            owned_subfolder(self.folder, BACKUPS_DIR)  # a .backups link out of the project gets nothing
        except OutsideProjectError as exc:
            raise OSError(str(exc)) from exc
        existing = list_backups(self.folder)
        if existing:
            try:
                if read_small_file(existing[0], what="project backup").decode("utf-8") == text:
                    return  # identical saves would push real history out of the five slots
            except (OSError, ValueError):
                pass
        # Names sort by time (newest first is how backups are offered), so the seconds and the
        # microseconds come from one clock reading: two readings straddling a second once named a
        # newer save older. A name taken already moves on by a microsecond, keeping the order.
        micros = time.time_ns() // 1000
        target = self.backups_dir / f"project-{_backup_stamp(micros)}.json"
        while target.exists():
            micros += 1
            target = self.backups_dir / f"project-{_backup_stamp(micros)}.json"
        atomic_write_text(target, text)
        for old in list_backups(self.folder)[BACKUPS_KEPT:]:
            old.unlink(missing_ok=True)

    @classmethod
    def from_dict(cls, folder: str | Path, data: dict[str, Any]) -> "Project":
        """Build from a validated current-schema dict (see ``project_schema.load_project_data``)."""
        folder = Path(folder)
        return cls(folder=folder, name=data.get("name") or folder.name, datasets=list(data["datasets"]),
                   runs=list(data["runs"]), bookmarks=list(data["bookmarks"]), paths=list(data["paths"]),
                   ui=dict(data["ui"]), created=data["created"] or time.time(), labels=dict(data["labels"]),
                   trash=list(data["trash"]), extra={k: v for k, v in data.items() if k not in _KNOWN})

    @classmethod
    def load_file(cls, folder: str | Path, path: str | Path) -> "Project":
        """A project for ``folder`` read from any project-shaped file (autosave, backup)."""
        return cls.from_dict(folder, load_project_data(Path(path)))

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
        """Open without locking (readers, tools); the GUI goes through ``ProjectSession``."""
        folder = Path(folder)
        path = folder / PROJECT_FILE
        if not path.exists():
            raise ProjectError(f"{folder} is not a studio project (no {PROJECT_FILE})")
        data, version = read_project_file(path)
        proj = cls.from_dict(folder, data)
        proj.loaded_version = version
        # An upgraded file counts as unsaved, so the next save writes the current schema.
        proj._saved_text = proj.text() if version == SCHEMA_VERSION else None
        return proj

    @classmethod
    def open_or_create(cls, folder: str | Path, name: str | None = None) -> "Project":
        folder = Path(folder)
        return cls.open(folder) if (folder / PROJECT_FILE).exists() else cls.create(folder, name)

