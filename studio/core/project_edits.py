"""Undoable project edits as plain objects: ``edit.apply(project)`` / ``edit.revert(project)``.

The GUI wraps each in a QUndoCommand; tests and tools call them directly.
Deleting a dataset or run never deletes files: its folder moves to the
project's ``trash/`` (a rename, so it is instant and atomic) and undo moves it
back. Only "Empty trash" removes files for good.
"""
from __future__ import annotations

import copy
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.project import Project
from studio.core.project_lock import pid_alive
from studio.core.project_paths import RESERVED_FOLDERS, OutsideProjectError, owned_path, owned_subfolder
from studio.core.project_schema import MAX_TEXT, ProjectError
from studio.core.training.events import LIVE_STATES
from studio.core.training.run_folder import read_run

log = logging.getLogger("studio.project")
_LISTS = {"bookmarks": "bookmark", "paths": "latent path"}
_REFS = {"dataset": "datasets", "run": "runs"}


class ProjectEdit:
    """One user edit. ``text`` names it in Edit > Undo; ``touches_disk`` edits move folders,
    so the project file is saved right after them to keep it in step with the folders."""

    text = "Edit project"
    touches_disk = False

    def apply(self, project: Project) -> None:
        raise NotImplementedError

    def revert(self, project: Project) -> None:
        raise NotImplementedError


def _clean_name(name: str) -> str:
    name = str(name).strip()
    if not name:
        raise ProjectError("a name cannot be empty")
    if len(name) > MAX_TEXT or any(ord(c) < 32 for c in name):
        raise ProjectError("a name must be a single line of at most 4096 characters")
    return name


def _items(project: Project, key: str) -> list[dict[str, Any]]:
    if key not in _LISTS:
        raise ValueError(f"unknown project list {key!r}")
    return getattr(project, key)


@dataclass
class AddItem(ProjectEdit):
    """Add a bookmark (``key="bookmarks"``) or a latent path (``key="paths"``)."""

    key: str
    item: dict[str, Any]
    index: int | None = None

    def __post_init__(self):
        self.text = f"Add {_LISTS.get(self.key, self.key)} “{self.item.get('name', '')}”"

    def apply(self, project):
        items = _items(project, self.key)
        if self.index is None or self.index > len(items):
            self.index = len(items)
        items.insert(self.index, copy.deepcopy(self.item))

    def revert(self, project):
        items = _items(project, self.key)
        if self.index is not None and self.index < len(items) and items[self.index] == self.item:
            del items[self.index]
        elif self.item in items:
            items.remove(self.item)


@dataclass
class RemoveItem(ProjectEdit):
    key: str
    index: int
    removed: dict[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self):
        self.text = f"Delete {_LISTS.get(self.key, self.key)}"

    def apply(self, project):
        items = _items(project, self.key)
        if not 0 <= self.index < len(items):
            raise ProjectError(f"there is no {_LISTS[self.key]} number {self.index + 1}")
        self.removed = items.pop(self.index)

    def revert(self, project):
        _items(project, self.key).insert(self.index, self.removed)


@dataclass
class RenameItem(ProjectEdit):
    key: str
    index: int
    name: str
    old: Any = field(default=None, repr=False)

    def __post_init__(self):
        self.name = _clean_name(self.name)
        self.text = f"Rename {_LISTS.get(self.key, self.key)} to “{self.name}”"

    def apply(self, project):
        items = _items(project, self.key)
        if not 0 <= self.index < len(items):
            raise ProjectError(f"there is no {_LISTS[self.key]} number {self.index + 1}")
        self.old = items[self.index].get("name")
        items[self.index]["name"] = self.name

    def revert(self, project):
        item = _items(project, self.key)[self.index]
        if self.old is None:
            item.pop("name", None)
        else:
            item["name"] = self.old


def add_bookmark(item: dict[str, Any]) -> AddItem:
    return AddItem("bookmarks", item)


def add_path(item: dict[str, Any]) -> AddItem:
    return AddItem("paths", item)


@dataclass
class EditGroup(ProjectEdit):
    """Several edits as one undo step (e.g. deleting several selected bookmarks)."""

    edits: list[ProjectEdit]
    label: str = ""

    def __post_init__(self):
        self.text = self.label or (self.edits[0].text if len(self.edits) == 1 else f"{len(self.edits)} edits")
        self.touches_disk = any(e.touches_disk for e in self.edits)

    def apply(self, project):
        done: list[ProjectEdit] = []
        try:
            for edit in self.edits:
                edit.apply(project)
                done.append(edit)
        except ProjectError:
            for edit in reversed(done):  # all or nothing
                edit.revert(project)
            raise

    def revert(self, project):
        for edit in reversed(self.edits):
            edit.revert(project)


@dataclass
class RenameProject(ProjectEdit):
    name: str
    old: str = ""

    def __post_init__(self):
        self.name = _clean_name(self.name)
        self.text = f"Rename project to “{self.name}”"

    def apply(self, project):
        self.old, project.name = project.name, self.name

    def revert(self, project):
        project.name = self.old


@dataclass
class SetSetting(ProjectEdit):
    """A small project setting kept in ``project.ui`` (e.g. the export size), undoable like any edit."""

    key: str
    value: Any
    text: str = "Change a project setting"
    old: Any = field(default=None, init=False)
    had: bool = field(default=False, init=False)

    def apply(self, project):
        self.had, self.old = self.key in project.ui, copy.deepcopy(project.ui.get(self.key))
        project.ui[self.key] = copy.deepcopy(self.value)

    def revert(self, project):
        if self.had:
            project.ui[self.key] = self.old
        else:
            project.ui.pop(self.key, None)


@dataclass
class Relabel(ProjectEdit):
    """Rename a dataset or run as shown in the studio (its folder keeps its name: runs refer to it)."""

    ref: str
    label: str
    old: str | None = None

    def __post_init__(self):
        self.label = _clean_name(self.label)
        self.text = f"Rename to “{self.label}”"

    def apply(self, project):
        if self.ref not in project.datasets and self.ref not in project.runs:
            raise ProjectError(f"{self.ref} is not part of this project")
        self.old = project.labels.get(self.ref)
        project.labels[self.ref] = self.label

    def revert(self, project):
        if self.old is None:
            project.labels.pop(self.ref, None)
        else:
            project.labels[self.ref] = self.old


def _run_is_training(folder: Path) -> bool:
    try:
        info = read_run(folder)
    except ValueError:  # no run.json, or not a readable one: a trainer may still hold the lock
        from studio.core.training.run_lock import trained_by
        return trained_by(folder) is not None
    pid = info.get("pid")  # a paused trainer is alive too: its folder must stay
    if info.get("status") in LIVE_STATES and isinstance(pid, int) and not isinstance(pid, bool) and pid_alive(pid):
        return True
    from studio.core.training.run_lock import trained_by
    return trained_by(folder) is not None  # a trainer holding run.lock (another window, `studio train`)


@dataclass
class TrashItem(ProjectEdit):
    """Delete a dataset (``kind="dataset"``) or run (``kind="run"``): its folder moves to ``trash/``.

    A folder outside the project is only dropped from the list: the studio
    never moves or deletes the user's own folders.
    """

    kind: str
    ref: str
    entry: dict[str, Any] | None = field(default=None, repr=False)
    touches_disk = True

    def __post_init__(self):
        if self.kind not in _REFS:
            raise ValueError(f"kind must be 'dataset' or 'run', not {self.kind!r}")
        self.text = f"Delete {self.kind} “{Path(self.ref).name}”"

    def apply(self, project):
        refs: list[str] = getattr(project, _REFS[self.kind])
        if self.ref not in refs:
            raise ProjectError(f"{self.kind} {self.ref} is not part of this project")
        path = project.resolve(self.ref)
        if self.kind == "run" and _run_is_training(path):
            raise ProjectError(f"run “{project.label(self.ref)}” is still training; stop it before deleting it")
        trashed = None
        owned = _owned_item(project, self.ref)
        if owned is not None and owned.exists():
            path = owned
            trash_dir = owned_subfolder(project.folder, "trash", create=True)  # refused when a link
            dest = trash_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{self.kind}-{path.name}"
            n = 0
            while dest.exists():
                n += 1
                dest = dest.with_name(f"{dest.name}-{n}")
            try:
                os.replace(path, dest)
            except OSError as exc:
                raise ProjectError(f"could not move {path} to the project trash: {exc.strerror or exc}") from exc
            trashed = str(dest.relative_to(project.folder))
        self.entry = {"kind": self.kind, "ref": self.ref, "index": refs.index(self.ref),
                      "label": project.labels.get(self.ref), "trashed": trashed, "time": time.time()}
        refs.remove(self.ref)
        project.labels.pop(self.ref, None)
        project.trash.append(self.entry)

    def revert(self, project):
        entry = self.entry
        if entry is None:
            return
        if entry.get("trashed"):
            src = owned_path(project.folder, entry["trashed"], what="trashed folder")
            dest = owned_path(project.folder, self.ref, what=self.kind)
            if not src.exists():
                raise ProjectError(f"{self.kind} “{Path(self.ref).name}” cannot come back: the trash was emptied")
            if dest.exists():
                raise ProjectError(f"{self.kind} “{Path(self.ref).name}” cannot come back: {dest} exists again")
            try:
                os.replace(src, dest)
            except OSError as exc:
                raise ProjectError(f"could not move {src} back: {exc.strerror or exc}") from exc
        refs: list[str] = getattr(project, _REFS[self.kind])
        if self.ref not in refs:
            refs.insert(min(entry["index"], len(refs)), self.ref)
        if entry.get("label"):
            project.labels[self.ref] = entry["label"]
        if entry in project.trash:
            project.trash.remove(entry)
        self.entry = None


def _owned_item(project: Project, ref: str) -> Path | None:
    """The dataset/run folder the studio may move to the trash, or None when it must only leave the list:
    outside the project, through a link or ``..``, or one of the project's own folders (``datasets/..``)."""
    try:
        path = owned_path(project.folder, ref)
    except OutsideProjectError:
        return None
    rel = path.relative_to(project.folder.resolve())
    if len(rel.parts) == 1 and rel.parts[0] in RESERVED_FOLDERS:
        return None
    return path


def trash_problem(project: Project) -> str | None:
    """Why the project's ``trash/`` must not be touched (a link, not a folder), in words; None when fine.

    ``trash_size`` then counts nothing and ``empty_trash`` deletes nothing: a front end shows this.
    """
    try:
        owned_subfolder(project.folder, "trash")
    except ProjectError as exc:
        return str(exc)
    return None


def _trash_dir(project: Project) -> Path | None:
    """The project's trash folder; None when absent, a link or not a folder (see :func:`trash_problem`)."""
    try:
        folder = owned_subfolder(project.folder, "trash")
    except ProjectError as exc:
        log.warning("%s", exc)
        return None
    return folder if folder.is_dir() else None


def trash_size(project: Project) -> tuple[int, int]:
    """(items, bytes) in the project's trash; (0, 0) when ``trash/`` is a link (nothing there is deleted)."""
    count, total = 0, 0
    trash_dir = _trash_dir(project)
    if trash_dir is None:
        return 0, 0
    for entry in trash_dir.iterdir():
        count += 1
        for root, _dirs, files in os.walk(entry):
            for f in files:
                try:
                    total += os.lstat(os.path.join(root, f)).st_size
                except OSError:
                    pass
    return count, total


def empty_trash(project: Project) -> int:
    """Delete everything in ``trash/`` for good (not undoable); returns how many items went."""
    count = 0
    trash_dir = _trash_dir(project)  # None for a trash/ that is a link: ``trash -> ..`` would empty the parent
    if trash_dir is None and trash_problem(project):
        return 0  # the log stays: nothing was deleted
    if trash_dir is not None:
        for entry in trash_dir.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            count += 1
    project.trash.clear()
    return count
