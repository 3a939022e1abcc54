"""The latent grid's right-click menu on a cell: bookmark it, use it as a corner, breed around it,
centre the grid on it, or copy its seed and vector."""
from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu

from studio.core.latent import CORNER_NAMES


class CellMenu(QObject):
    message = Signal(str)

    def __init__(self, view, planes, library, spread, parent=None):
        super().__init__(parent)
        self.view, self.planes, self.library, self.spread = view, planes, library, spread
        self._open: QMenu | None = None     # keeps a popped-up menu alive while it is open
        self.placer = None                  # "Place your own file…" (the panel's FilePlacer)
        view.context_requested.connect(self.popup)

    def popup(self, key, vector, global_pos) -> None:
        self._open = self.build(key, vector, self.view)
        self._open.popup(global_pos)

    def build(self, key, vector, parent) -> QMenu:
        m = QMenu(parent)
        m.setToolTipsVisible(True)
        m.addAction("Bookmark", lambda: self.library.bookmark(vector, key))
        corner = m.addMenu("Use as corner")
        for slot, name in enumerate(CORNER_NAMES):
            corner.addAction(name.capitalize(), lambda s=slot: self.planes.set_corner(s, vector, key))
        spread = self.spread.value()
        m.addAction(f"Breed (spread {spread:g})", lambda: self.planes.breed(vector, self.spread.value()))
        m.addAction("Centre here", lambda: self.planes.centre_on(vector))
        m.addAction("Copy seed and vector", lambda: self.copy_vector(vector, key))
        if self.placer is not None:
            m.addSeparator()
            act = m.addAction("Place your own file…", self.placer.choose)
            act.setEnabled(self.placer.can_place())
            act.setToolTip("Encode one of your pictures or melodies and bookmark where it lands (or drop it on "
                           "the grid)" if act.isEnabled() else "This model cannot encode files (a VAE can)")
        return m

    def copy_vector(self, vector, key=None) -> str:
        """The plane, cell, step and vector as JSON on the clipboard (to paste into a script or a note)."""
        plane = self.view.plane
        text = json.dumps({"plane_seed": plane.seed if plane else None, "plane": plane.kind if plane else None,
                           "cell": list(key) if key is not None else None, "step": self.view.step,
                           "vector": [round(float(x), 6) for x in np.asarray(vector).ravel()]})
        QGuiApplication.clipboard().setText(text)
        self.message.emit("Seed and vector copied to the clipboard")
        return text
