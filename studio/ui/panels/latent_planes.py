"""Which plane the latent grid shows (learned, random, PCA, four corners), re-seeding, centring on a
point and breeding. ``PlaneNavigator`` owns the plane seed and the chosen corners; it changes the
view only through the view's public methods and reports to the panel with ``message``/``changed``."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from studio.core.latent import CORNER_NAMES, Plane, learned_plane


class PlaneNavigator(QObject):
    message = Signal(str)   # a line for the status bar
    changed = Signal()      # the plane or the view moved (the status line shows it)

    def __init__(self, view, controls, parent=None):
        super().__init__(parent)
        self.view, self.controls = view, controls
        self.model = None       # the LoadedModel being explored
        self.seed = 0
        self.corners: list[np.ndarray | None] = [None] * 4
        controls.plane_kind.currentIndexChanged.connect(lambda _: self.rebuild())
        controls.new_dirs.clicked.connect(self.reseed)
        controls.method.currentIndexChanged.connect(lambda _: controls.plane() == "corners" and self.rebuild())
        controls.clear_corners.clicked.connect(self.clear_corners)

    def set_model(self, model, keep_view: bool) -> None:
        """A model was opened: the same view for a newer checkpoint of the same space, else a fresh plane."""
        self.model = model
        self.controls.allow_pca(model.pca is not None)
        if keep_view:
            self.view.modality = model.modality
            self.view.refresh_model()
        else:
            self.corners = [None] * 4
            self.controls.show_corner_count(0)
            self.rebuild()

    def rebuild(self, origin=None) -> None:
        lm = self.model
        if lm is None:
            return
        kind = self.controls.plane()
        if kind == "corners" and all(c is not None for c in self.corners):
            plane = Plane.from_corners(np.stack(self.corners), method=self.controls.method.currentData())
        elif kind == "pca" and lm.pca is not None:
            plane = Plane.from_pca(lm.pca, origin=origin)
        elif kind == "learned" and lm.learned is not None and origin is None:
            plane = learned_plane(lm.learned)
        else:
            if kind == "corners":
                self.message.emit("Shift-click four cells to set the corners; showing a random plane until then.")
            plane = Plane.random(lm.latent_dim, seed=self.seed, origin=origin)
        self.view.set_plane(plane, lm.modality)
        self.changed.emit()

    def reseed(self) -> None:
        self.seed += 1
        origin = self.view.plane.point(*self.view.plane_centre()) if self.view.plane is not None else None
        self.controls.show_plane_kind("random")
        self.rebuild(origin=origin)

    def centre_on(self, vector, step: float | None = None, seed: int | None = None) -> None:
        """A random plane through ``vector`` with the vector in the middle cell."""
        if self.model is None:
            return
        if seed is not None:
            self.seed = seed
        self.controls.show_plane_kind("random")
        plane = Plane.random(self.model.latent_dim, seed=self.seed, origin=vector)
        self.view.set_plane(plane, self.model.modality, step=self.view.step if step is None else step)
        self.changed.emit()

    def breed(self, vector, spread: float) -> None:
        """Children around ``vector``: the grid centred on it with step = spread, in fresh directions."""
        self.centre_on(vector, step=spread, seed=self.seed + 1)
        self.message.emit(f"Breeding: the cells around the parent differ by a spread of {spread:g}")

    def set_corner(self, slot: int | None, vector, key=None) -> None:
        if slot is None:
            slot = next((k for k, c in enumerate(self.corners) if c is None), 3)
        self.corners[slot] = np.asarray(vector, np.float32)
        if key is not None:
            self.view.corner_marks[slot] = (self.view.generation, tuple(key))
        n = sum(c is not None for c in self.corners)
        self.controls.show_corner_count(n)
        if n == 4:
            self.controls.show_plane_kind("corners")
            self.rebuild()
        else:
            self.message.emit(f"{CORNER_NAMES[slot].capitalize()} corner set; {4 - n} to go (shift-click cells).")
        self.view.update()

    def clear_corners(self) -> None:
        self.corners = [None] * 4
        self.view.corner_marks.clear()
        self.controls.show_corner_count(0)
        if self.controls.plane() == "corners":
            self.controls.plane_kind.setCurrentIndex(self.controls.plane_kind.findData("learned"))
        self.view.update()
