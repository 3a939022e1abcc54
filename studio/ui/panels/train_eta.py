"""A steady time-left estimate for the Training panel.

The trainer reports a speed measured over the last two seconds; on a busy laptop that speed swings
(previews, checkpoints, other programs), and an ETA computed from it jumps between 1:04:55 and 2:21:02.
Here the speed is an exponential average over about half a minute of (time, step) readings, and while
it is still uncertain (few readings, or readings that disagree) the estimate is shown as a range.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Eta:
    seconds: float       # best guess
    low: float           # the range while uncertain (== seconds once settled)
    high: float
    steps_per_s: float   # the smoothed speed

    @property
    def settled(self) -> bool:
        return self.high - self.low <= 0.25 * max(self.seconds, 1.0)  # within about ±12 %


class EtaSmoother:
    """Feed ``update(t, step, max_steps)`` on every status poll; read ``estimate``."""

    TAU_S = 30.0          # the averaging time constant of the speed
    MIN_DT_S = 0.5        # readings closer than this are merged (steps are counted, not rates)
    SETTLE_READINGS = 6   # below this many readings the estimate is a range
    FIRST_SPREAD = 0.5    # the range of the very first reading: ±50 %

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.rate: float | None = None
        self.var = 0.0
        self.readings = 0
        self.alpha = 1.0  # the weight of the newest reading in the average
        self._last: tuple[float, int] | None = None
        self.estimate: Eta | None = None

    def pause(self) -> None:
        """Time while paused is not training time: the next reading starts a new interval."""
        self._last = None

    def update(self, t: float, step: int, max_steps: int | None) -> Eta | None:
        if self._last is None or step < self._last[1]:
            self._last = (t, step)
            return self._estimate(step, max_steps)
        t0, s0 = self._last
        dt = t - t0
        if dt < self.MIN_DT_S:
            return self._estimate(step, max_steps)
        rate = (step - s0) / dt
        self._last = (t, step)
        if self.rate is None:
            self.rate = rate
        else:
            alpha = 1.0 - math.exp(-dt / self.TAU_S)
            alpha = max(alpha, 1.0 / (self.readings + 1))  # the first readings count fully, then decay
            self.alpha = alpha
            diff = rate - self.rate
            self.rate += alpha * diff
            self.var = (1.0 - alpha) * (self.var + alpha * diff * diff)
        self.readings += 1
        return self._estimate(step, max_steps)

    def _estimate(self, step: int, max_steps: int | None) -> Eta | None:
        if not max_steps or not self.rate or self.rate <= 0:
            self.estimate = None
            return None
        left = max(max_steps - step, 0)
        mid = left / self.rate
        # how far the averaged speed may be off: the readings' spread, shrunk by the averaging
        spread = math.sqrt(self.var) / self.rate * math.sqrt(self.alpha / (2.0 - self.alpha))
        if self.readings < self.SETTLE_READINGS:
            spread = max(spread, self.FIRST_SPREAD * (1.0 - self.readings / self.SETTLE_READINGS))
        spread = min(spread, 0.9)
        self.estimate = Eta(mid, left / (self.rate * (1.0 + spread)), left / (self.rate * (1.0 - spread)), self.rate)
        return self.estimate


def format_eta(eta: Eta | None, fmt) -> str:
    """'ETA 3:20' once settled, 'ETA 2:50–4:10' while uncertain (``fmt`` formats seconds)."""
    if eta is None:
        return ""
    if eta.settled:
        return f"ETA {fmt(eta.seconds)}"
    low, high = fmt(eta.low), fmt(eta.high)
    return f"ETA {low}" if low == high else f"ETA {low}–{high}"
