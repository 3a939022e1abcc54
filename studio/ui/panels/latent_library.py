"""Bookmarks and paths of the latent grid: kept in the project (every change an undoable edit through
Edit > Undo, see ``studio.core.project_edits``), or in memory while no project is open.

``LatentLibrary`` makes them from what the grid shows (a cell's thumbnail, the plane's seed, the
Method and Steps controls) and turns a path into the frames of its walk."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from studio.core.latent import bookmark_vector, make_bookmark, make_path, path_points, thumbnail_png, walk
from studio.core.latent.bookmarks import unique_name
from studio.core.project_edits import EditGroup, RemoveItem, add_bookmark, add_path
from studio.core.project_schema import ProjectError
from studio.ui.panels.latent_from_file import FROM_FILES, path_files

_ADD = {"bookmarks": add_bookmark, "paths": add_path}


class LatentLibrary(QObject):
    message = Signal(str)
    changed = Signal()      # the lists changed (the project's own changes also come as ctx.project_changed)

    def __init__(self, ctx, view, controls, parent=None):
        super().__init__(parent)
        self.ctx, self.view, self.controls = ctx, view, controls
        self.model = None           # the LoadedModel being explored
        self.local: dict[str, list[dict]] = {"bookmarks": [], "paths": []}   # used when no project is open

    def _project(self):
        return getattr(self.ctx, "project", None)

    def items(self, kind: str) -> list[dict]:
        project = self._project()
        return getattr(project, kind) if project is not None else self.local[kind]

    def names(self, kind: str) -> list[str]:
        return [d.get("name") for d in self.items(kind)]

    def find(self, kind: str, name: str) -> dict | None:
        return next((d for d in self.items(kind) if d.get("name") == name), None)

    def _push(self, edit) -> bool:
        """Change the project through Edit > Undo (and the autosave); False when it was refused."""
        from studio.ui.project_actions import push_edit

        try:
            return push_edit(self.ctx, edit)
        except (OSError, ProjectError) as exc:  # no window: push_edit saved the project itself
            self.message.emit(f"Could not save the project: {exc}")
            return False

    def add(self, kind: str, item: dict) -> dict | None:
        """Add a bookmark or path (undoable with a project open); the added item, or None if refused."""
        if self._project() is None:
            self.local[kind].append(item)
            self.message.emit("No project is open: bookmarks and paths last until the studio closes.")
            self.changed.emit()
            return item
        item = {**item, "name": unique_name(self.items(kind), item.get("name") or kind[:-1])}
        added = item if self._push(_ADD[kind](item)) else None
        self.changed.emit()
        return added

    def remove(self, kind: str, names: list[str]) -> None:
        items = self.items(kind)
        # highest index first, so the earlier indices stay valid while the group applies
        indices = sorted({i for i, d in enumerate(items) if d.get("name") in set(names)}, reverse=True)
        if not indices:
            return
        if self._project() is None:
            for i in indices:
                del items[i]
        else:
            what = "bookmark" if kind == "bookmarks" else "latent path"
            self._push(EditGroup([RemoveItem(kind, i) for i in indices],
                                 f"Delete {len(indices)} {what}s" if len(indices) > 1 else f"Delete {what}"))
        self.changed.emit()

    # -- making items ---------------------------------------------------------
    def meta(self) -> dict:
        lm = self.model
        return {"plugin": lm.plugin_id if lm else "", "run": lm.run if lm else "",
                "checkpoint": lm.checkpoint if lm else ""}

    def bookmark(self, vector, key=None, name: str | None = None) -> dict:
        """Bookmark ``vector`` (the cell ``key``, whose picture becomes the thumbnail)."""
        hit = self.view.cache.get(tuple(key)) if key is not None else None
        plane, meta = self.view.plane, self.meta()
        bm = make_bookmark(name or f"{meta['plugin'] or 'sample'} {len(self.items('bookmarks')) + 1}",
                           vector=vector, seed=plane.seed if plane else None,
                           thumbnail=thumbnail_png(hit[0]) if hit is not None else None, **meta)
        added = self.add("bookmarks", bm)
        if added is not None:
            self.message.emit(f"Bookmarked “{added['name']}”")
        return added or bm

    def add_path(self, points, name: str | None = None, **extra) -> dict | None:
        """A path through ``points``, walked with the current Method and Steps."""
        try:
            path = make_path(name or f"path {len(self.items('paths')) + 1}", points,
                             method=self.controls.method.currentData(), steps=self.controls.steps.value(),
                             **self.meta(), **extra)
        except ValueError as exc:
            self.message.emit(str(exc))
            return None
        path = self.add("paths", path)
        if path is not None:
            self.message.emit(f"Path “{path['name']}” with {len(path['points'])} points saved")
        return path

    def path_from_bookmarks(self, names: list[str]) -> dict | None:
        marks = [b for b in (self.find("bookmarks", n) for n in names) if b is not None]
        vecs = [bookmark_vector(b) for b in marks]
        if len(vecs) < 2:
            self.message.emit("Select at least two bookmarks to make a path")
            return None
        files = path_files(marks)   # bookmarks placed from the artist's files: the walk's ingredients
        return self.add_path(vecs, name=" → ".join(names[:3]) + ("…" if len(names) > 3 else ""),
                             **({FROM_FILES: files} if files else {}))

    def bookmark_vector(self, name: str) -> np.ndarray | None:
        """The bookmark's vector, if it fits the model (else None and a message)."""
        bm = self.find("bookmarks", name)
        if bm is None or self.model is None:
            return None
        try:
            return bookmark_vector(bm, self.model.latent_dim)
        except ValueError as exc:
            self.message.emit(str(exc))
            return None

    def walk(self, name: str) -> tuple[dict | None, np.ndarray | None]:
        """The path ``name`` and the frames of its walk (its own steps and method, else the controls');
        (None, None) when there is no such path or it does not fit the model."""
        path = self.find("paths", name)
        if path is None or self.model is None:
            return None, None
        try:
            z = walk(path_points(path, self.model.latent_dim), int(path.get("steps", self.controls.steps.value())),
                     path.get("method", self.controls.method.currentData()))
        except ValueError as exc:
            self.message.emit(str(exc))
            return None, None
        return path, z
