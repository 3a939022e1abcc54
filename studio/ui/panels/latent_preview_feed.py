"""What the latent grid's Preview tab shows: the cell under the mouse (heard too, for melodies), the
selected cell, the selection pushed along the direction sliders, or a restored generation.

``PreviewFeed`` owns the hover delay and the tokens of its preview decodes, so a late result for an
older edit never replaces a newer one.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from studio.ui.panels.latent_exports import closest_training_item

HOVER_MS = 150


class PreviewFeed(QObject):
    message = Signal(str)
    selection_changed = Signal()

    def __init__(self, view, worker, tabs, player, planes, parent=None):
        super().__init__(parent)
        self.view, self.worker, self.tabs, self.player, self.planes = view, worker, tabs, player, planes
        self.preview, self.directions = tabs.preview, tabs.directions
        self.model = None           # the LoadedModel being explored
        self.restored: dict | None = None
        self.last_match = None      # studio.core.originality.Match of the sample shown large
        self._pending = None        # (vector, seed, caption) of a restore waiting for its model
        self._edit_token = 0
        self._restore_token = 0
        self._hover_key = None
        self._hover_timer = QTimer(self, singleShot=True, interval=HOVER_MS, timeout=self._show_hover)
        view.selected.connect(self._on_selected)
        view.hovered.connect(self._on_hover)
        self.directions.changed.connect(self._directions_changed)
        self.directions.centre_requested.connect(self.centre_on_edit)
        worker.decoded.connect(self._on_decoded)

    def selected_vector(self) -> np.ndarray | None:
        sel = self.view.selection
        return None if sel is None else sel[2]

    def edited_vector(self) -> np.ndarray | None:
        """The selection pushed along the direction sliders."""
        v = self.selected_vector()
        if v is None:
            return None
        off = self.directions.offset()
        return v + off if off.shape == v.shape else v

    def centre_on_edit(self) -> None:
        """"Centre grid here": the grid moves so the edited point is its middle cell."""
        z = self.edited_vector()
        if z is not None:
            self.planes.centre_on(z)
            self.directions.reset()

    # -- restoring a generation (drop an exported file on the window) ------
    def restore(self, vector, seed, caption: str, ready: bool) -> bool:
        """Show ``vector`` now when the model is ``ready``, else once it is (``apply_pending``)."""
        z = np.asarray(vector, dtype=np.float32).reshape(-1)
        label = caption or ("restored sample" + (f" · seed {seed}" if seed is not None else ""))
        self._pending = (z, seed, label)
        if not ready:
            self.message.emit(f"Restoring {label} once the model is loaded…")
            return False
        return self.apply_pending()

    def drop_pending(self) -> None:
        self._pending = None

    def apply_pending(self) -> bool:
        """Centre the grid on the waiting vector, select it and show it large."""
        pending, self._pending = self._pending, None
        if pending is None or self.model is None:
            return False
        z, seed, label = pending
        if z.shape[0] != self.model.latent_dim:
            self.message.emit(f"Cannot show the restored vector: it has {z.shape[0]} values, but this model's "
                              f"latent space has {self.model.latent_dim}")
            return False
        self.planes.centre_on(z)
        self.directions.reset()
        self.view.selection = (self.view.generation, (0, 0), z)
        self.view.update()
        self.restored = {"vector": z, "seed": seed, "caption": label}
        self._restore_token += 1
        self.worker.submit("preview", ("restore", self._restore_token), [None], z[None, :])
        self.tabs.setCurrentWidget(self.preview)
        self.message.emit(f"Restored {label}: it is the selected cell in the middle of the grid")
        return True

    # -- the selection, the mouse and the sliders ---------------------------

    def _on_selected(self, key, vector) -> None:
        self.directions.reset()
        hit = self.view.cache.get(tuple(key))
        if hit is not None:
            self._show_sample(hit[0], hit[1], f"cell {key[0]}, {key[1]}")
        self.selection_changed.emit()

    def _directions_changed(self) -> None:
        z = self.edited_vector()
        if z is None or self.model is None:
            return
        self._edit_token += 1
        self.worker.submit("preview", ("edit", self._edit_token), [None], z[None, :])

    def _on_hover(self, key) -> None:
        self._hover_key = key
        self._hover_timer.stop() if key is None else self._hover_timer.start()

    def _show_hover(self) -> None:
        key = self._hover_key
        hit = self.view.cache.get(tuple(key)) if key is not None else None
        if hit is not None and not self.preview.playing():
            self._show_sample(hit[0], hit[1], f"cell {key[0]}, {key[1]}", play=True)

    def _show_sample(self, tile, raw, caption: str, play: bool = False) -> None:
        if self.model is not None and self.model.modality == "melody":
            self.preview.show_melody(raw, caption)
            if play:
                self.player.play_melody(np.asarray(raw).reshape(1, -1))
        else:
            self.preview.show_tile(tile, caption)
        self._check_originality(raw)

    def _check_originality(self, raw) -> None:
        """Under the preview: the closest training item and how similar it is (amber for a near copy)."""
        self.last_match = closest_training_item(self.model, raw)
        if self.last_match is None:
            self.preview.set_note("")
            return
        self.preview.set_note(self.last_match.describe(self.model.originality.kind), self.last_match.copy)

    def _on_decoded(self, tag, token, keys, tiles, raw) -> None:
        if tag != "preview":
            return
        if token == ("edit", self._edit_token):
            self._show_sample(tiles[0], raw[0], "edited selection")
        elif token == ("restore", self._restore_token) and self.restored:
            self._show_sample(tiles[0], raw[0], self.restored["caption"])
