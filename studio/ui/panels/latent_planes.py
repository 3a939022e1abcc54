"""Plane handling for the latent grid panel (a mixin of ``LatentGridPanel``): which plane the grid
shows (random, PCA, four corners), re-seeding, centring on a point and breeding."""
from __future__ import annotations

import numpy as np

from studio.core.latent import CORNER_NAMES, Plane, learned_plane


class PlanesMixin:
    def rebuild_plane(self, origin=None) -> None:
        lm = self.loaded
        if lm is None:
            return
        kind = self.plane_kind.currentData()
        if kind == "corners" and all(c is not None for c in self.corners):
            plane = Plane.from_corners(np.stack(self.corners), method=self.method.currentData())
        elif kind == "pca" and lm.pca is not None:
            plane = Plane.from_pca(lm.pca, origin=origin)
        elif kind == "learned" and lm.learned is not None and origin is None:
            plane = learned_plane(lm.learned)
        else:
            if kind == "corners":
                self._status("Shift-click four cells to set the corners; showing a random plane until then.")
            plane = Plane.random(lm.latent_dim, seed=self._plane_seed, origin=origin)
        self.view.set_plane(plane, lm.modality)
        self._update_status()

    def reseed(self) -> None:
        self._plane_seed += 1
        origin = self.view.plane.point(*self.view.plane_centre()) if self.view.plane is not None else None
        self._show_plane_kind("random")
        self.rebuild_plane(origin=origin)

    def _show_plane_kind(self, kind: str) -> None:
        """Select ``kind`` in the plane combo without rebuilding the plane."""
        self.plane_kind.blockSignals(True)
        self.plane_kind.setCurrentIndex(self.plane_kind.findData(kind))
        self.plane_kind.blockSignals(False)

    def centre_on(self, vector, step: float | None = None, seed: int | None = None) -> None:
        """A random plane through ``vector`` with the vector in the middle cell."""
        if self.loaded is None:
            return
        if seed is not None:
            self._plane_seed = seed
        self._show_plane_kind("random")
        plane = Plane.random(self.loaded.latent_dim, seed=self._plane_seed, origin=vector)
        old_step = self.view.step
        self.view.set_plane(plane, self.loaded.modality)
        self.view.step = float(step if step is not None else old_step)
        self.view.centre = (self.view._snapped(0.0, self.view.cols), self.view._snapped(0.0, self.view.rows))
        self.view.new_generation()
        self._update_status()

    def breed(self, vector) -> None:
        """Children around ``vector``: the grid centred on it with step = spread, in fresh directions."""
        self.centre_on(vector, step=self.spread.value(), seed=self._plane_seed + 1)
        self._status(f"Breeding: the cells around the parent differ by a spread of {self.spread.value():g}")

    def set_corner(self, slot: int | None, vector, key=None) -> None:
        if slot is None:
            slot = next((k for k, c in enumerate(self.corners) if c is None), 3)
        self.corners[slot] = np.asarray(vector, np.float32)
        if key is not None:
            self.view.corner_marks[slot] = (self.view.generation, tuple(key))
        n = sum(c is not None for c in self.corners)
        self.corner_label.setText(f"Corners {n}/4")
        if n == 4:
            self._show_plane_kind("corners")
            self.rebuild_plane()
        else:
            self._status(f"{CORNER_NAMES[slot].capitalize()} corner set; {4 - n} to go (shift-click cells).")
        self.view.update()

    def clear_corners(self) -> None:
        self.corners = [None] * 4
        self.view.corner_marks.clear()
        self.corner_label.setText("Corners 0/4")
        if self.plane_kind.currentData() == "corners":
            self.plane_kind.setCurrentIndex(self.plane_kind.findData("learned"))
        self.view.update()

    # -- restoring a generation (drop an exported file on the window) ------------------
    def show_vector(self, vector, seed: int | None = None, caption: str = "") -> bool:
        """Centre the grid on ``vector``, select it and show it large, with its ``seed`` in the caption.

        While a model loads (a restore opens the run first) the vector waits and is shown once the
        model is ready. Returns True when it was shown now.
        """
        z = np.asarray(vector, dtype=np.float32).reshape(-1)
        label = caption or ("restored sample" + (f" · seed {seed}" if seed is not None else ""))
        self._pending_vector = (z, seed, label)
        if self.loaded is None or self._loading:
            self._status(f"Restoring {label} once the model is loaded…")
            return False
        return self._apply_pending_vector()

    def _apply_pending_vector(self) -> bool:
        pending, self._pending_vector = self._pending_vector, None
        if pending is None or self.loaded is None:
            return False
        z, seed, label = pending
        if z.shape[0] != self.loaded.latent_dim:
            self._status(f"Cannot show the restored vector: it has {z.shape[0]} values, but this model's "
                         f"latent space has {self.loaded.latent_dim}")
            return False
        self.centre_on(z)
        self.directions.reset()
        self.view.selection = (self.view.generation, (0, 0), z)
        self.view.update()
        self.restored = {"vector": z, "seed": seed, "caption": label}
        self._restore_token += 1
        self.worker.submit("preview", ("restore", self._restore_token), [None], z[None, :])
        self.tabs.setCurrentWidget(self.preview)
        self._status(f"Restored {label}: it is the selected cell in the middle of the grid")
        return True
