"""Growing numpy buffers for live curves, EMA smoothing, and grouping metric rows (no Qt).

A curve is redrawn from views of these buffers, so appending costs amortised O(new
points) and a redraw never copies a million points through Python lists.
"""
from __future__ import annotations

import math

import numpy as np


class SeriesBuffer:
    """(step, value) pairs of one metric of one run, plus the EMA-smoothed values kept in step."""

    def __init__(self, capacity: int = 1024):
        self.x = np.empty(capacity, dtype=np.float64)
        self.y = np.empty(capacity, dtype=np.float64)
        self.s = np.empty(capacity, dtype=np.float64)  # smoothed y
        self.n = 0
        self.alpha = 0.0
        self.smoothed_n = 0  # how many of y are already smoothed into s
        self._bounds: tuple[float, float, float, float] | None = None  # of the first _bounds_n smoothed points
        self._bounds_n = 0
        self._bounds_key: tuple | None = None

    def __len__(self) -> int:
        return self.n

    def append(self, steps, values) -> None:
        steps = np.asarray(steps, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        keep = np.isfinite(values)  # a non-finite value is a gap, not a point
        if not keep.all():
            steps, values = steps[keep], values[keep]
        k = len(values)
        if not k:
            return
        need = self.n + k
        if need > len(self.x):
            cap = max(need, 2 * len(self.x))
            for name in ("x", "y", "s"):
                old = getattr(self, name)
                new = np.empty(cap, dtype=np.float64)
                new[:self.n] = old[:self.n]
                setattr(self, name, new)
        self.x[self.n:need] = steps
        self.y[self.n:need] = values
        self.n = need

    def clear(self) -> None:
        self.n = self.smoothed_n = 0

    def set_alpha(self, alpha: float) -> None:
        if alpha != self.alpha:
            self.alpha = float(alpha)
            self.smoothed_n = 0  # recompute from the start with the new factor

    def smoothed(self) -> tuple[np.ndarray, np.ndarray]:
        """Views (steps, smoothed values); only points added since the last call are smoothed now."""
        if self.alpha <= 0:
            return self.x[:self.n], self.y[:self.n]
        if self.smoothed_n < self.n:
            start = self.smoothed_n
            prev = self.s[start - 1] if start else None
            self.s[start:self.n] = ema(self.y[start:self.n], self.alpha, prev)
            self.smoothed_n = self.n
        return self.x[:self.n], self.s[:self.n]

    def bounds(self, log_y: bool = False) -> tuple[float, float, float, float] | None:
        """(x min, x max, y min, y max) of the smoothed curve (y as log10 of its positive values when
        ``log_y``), or None; only points added since the last call are scanned (a live plot asks often)."""
        x, y = self.smoothed()
        key = (self.alpha, log_y)
        if key != self._bounds_key or self._bounds_n > self.n:
            self._bounds, self._bounds_n, self._bounds_key = None, 0, key
        if self._bounds_n < self.n:
            xs, ys = x[self._bounds_n:], y[self._bounds_n:]
            if log_y:
                keep = ys > 0
                xs, ys = xs[keep], np.log10(ys[keep])
            if len(ys):
                new = (float(xs.min()), float(xs.max()), float(np.nanmin(ys)), float(np.nanmax(ys)))
                old = self._bounds or new
                self._bounds = (min(old[0], new[0]), max(old[1], new[1]), min(old[2], new[2]), max(old[3], new[3]))
            self._bounds_n = self.n
        return self._bounds

    def raw(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[:self.n], self.y[:self.n]


def ema(values: np.ndarray, alpha: float, prev: float | None = None) -> np.ndarray:
    """``s[i] = alpha * s[i-1] + (1 - alpha) * v[i]`` (``s[-1] = prev``, else ``v[0]``), vectorised in blocks.

    Within a block of length L the recurrence unrolls to a cumulative sum weighted by
    ``alpha**-j``; L is chosen so those weights stay far from overflow.
    """
    v = np.asarray(values, dtype=np.float64)
    out = np.empty_like(v)
    if not len(v):
        return out
    if alpha <= 0:
        out[:] = v
        return out
    alpha = min(alpha, 0.999999)
    y = float(v[0]) if prev is None else float(prev)
    block = int(min(4096, max(1, 150 / -math.log10(alpha))))
    j = np.arange(block, dtype=np.float64)
    up = alpha ** -j           # alpha^-j
    down = alpha ** (j + 1)    # alpha^(i+1)
    for a in range(0, len(v), block):
        chunk = v[a:a + block]
        m = len(chunk)
        acc = np.cumsum(chunk * up[:m]) * (1 - alpha)
        res = down[:m] * y + acc * down[:m] / alpha
        out[a:a + m] = res
        y = float(res[-1])
    return out


def group_rows(rows) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Metric rows ``(step, time, name, value)`` -> ``{name: (steps, values)}`` with numpy, not a Python loop."""
    if not rows:
        return {}
    steps, _times, names, values = zip(*rows)
    steps = np.asarray(steps, dtype=np.float64)
    values = np.array(values, dtype=np.float64)  # None (a non-finite value logged) becomes NaN
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(n, len(index)) for n in names), dtype=np.int32, count=len(names))
    out = {}
    for name, i in index.items():
        sel = codes == i
        out[str(name)] = (steps[sel], values[sel])
    return out


def follow_range(lo: float, hi: float, view: tuple[float, float], grow: float = 0.25,
                 slack: float = 0.5) -> tuple[float, float] | None:
    """A new view range for one axis of a followed live plot, or None to keep the current one.

    The view changes only when the data leave it, or fill less than ``slack`` of it, and then
    leaves ``grow`` of the span as room: axes (their tick labels and grid, the costly part of a
    repaint) are then rebuilt a few times per run instead of at every update.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    v0, v1 = view
    span = hi - lo
    inside = v0 <= lo and hi <= v1
    if inside and span >= slack * (v1 - v0) and v1 > v0:
        return None
    pad = span * grow if span > 0 else max(abs(hi) * 0.1, 1e-9)
    return lo - pad / 2, hi + pad / 2
