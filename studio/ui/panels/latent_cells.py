"""The latent grid's decoded cells: lattice key (i, j) -> (tile, raw sample) for the current view.

A plain dict with the three decisions the view needs: which visible cells are still missing (in the
order to decode them), and which cells to forget when the cache grows past a few screens' worth.
"""
from __future__ import annotations

import numpy as np


class DecodedCells(dict):
    """key (i, j) -> (uint8 tile (h, w, 3), raw decoded sample)."""

    def missing(self, visible: list[tuple[int, int]], centre: tuple[float, float], quick_pass: bool) -> list:
        """Visible cells not decoded yet, nearest the centre first; in the quick first pass every
        other cell comes first, so its neighbours can borrow it."""
        cx, cy = centre
        keys = [k for k in visible if k not in self]
        coarse = (lambda k: 0 if (k[0] % 2 == 0 and k[1] % 2 == 0) else 1) if quick_pass else (lambda k: 0)
        keys.sort(key=lambda k: (coarse(k), (k[0] - cx) ** 2 + (k[1] - cy) ** 2))
        return keys

    def store(self, keys, tiles: np.ndarray, raw) -> None:
        for k, key in enumerate(keys):
            self[tuple(key)] = (tiles[k], raw[k])

    def evict(self, visible_count: int, centre: tuple[float, float]) -> list:
        """Forget the cells farthest from ``centre`` beyond six screens (at least 256); the forgotten keys."""
        limit = max(6 * visible_count, 256)
        if len(self) <= limit:
            return []
        cx, cy = centre
        far = sorted(self, key=lambda k: -((k[0] - cx) ** 2 + (k[1] - cy) ** 2))
        dropped = far[: len(self) - limit]
        for k in dropped:
            del self[k]
        return dropped
