"""What kept the UI thread busy when a frame came late (``train_overhead_gui.py --trace``).

Wraps named Python entry points of the UI (slots, paint events) with timers and records
garbage-collection pauses; afterwards each late tick of the lateness probe is matched
with the work that ran between it and the tick before. The wrappers cost a few
microseconds a call, so traced figures are a little worse than untraced ones.
"""
from __future__ import annotations

import functools
import gc
import time
from collections import defaultdict


class UiTracer:
    def __init__(self):
        self.spans: list[tuple[float, float, str]] = []
        self._gc_start: float | None = None
        self._depth = 0

    def wrap(self, cls, *names: str) -> None:
        for name in names:
            original = getattr(cls, name)
            label = f"{cls.__name__}.{name}"

            @functools.wraps(original)
            def timed(*args, __original=original, __label=label, **kwargs):
                start = time.perf_counter()
                self._depth += 1
                try:
                    return __original(*args, **kwargs)
                finally:
                    self._depth -= 1
                    # nested spans are kept too; the report counts only outermost time per label
                    self.spans.append((start, time.perf_counter(), __label))

            setattr(cls, name, timed)

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        elif self._gc_start is not None:
            self.spans.append((self._gc_start, time.perf_counter(), f"gc generation {info.get('generation')}"))
            self._gc_start = None

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)

    def stop(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def report(self, ticks: list[tuple[float, float]], late_ms: float = 12.0, top: int = 12) -> list[str]:
        """``ticks``: (time of the tick, its lateness in seconds). Lines naming the work inside late frames."""
        late = [(t, lat) for t, lat in ticks if lat * 1000 >= late_ms]
        busy: dict[str, float] = defaultdict(float)
        count: dict[str, int] = defaultdict(int)
        unexplained = []
        spans = sorted(self.spans)
        for t, lat in late:
            window_start = t - lat - 1 / 60
            inside = 0.0
            for s, e, label in spans:
                if e < window_start or s > t:
                    continue
                d = min(e, t) - max(s, window_start)
                busy[label] += d
                count[label] += 1
                inside = max(inside, d)
            unexplained.append(lat - inside)
        lines = [f"{len(late)} of {len(ticks)} ticks were >= {late_ms:.0f} ms late"]
        for label, secs in sorted(busy.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(f"  {label:<48} {secs * 1000 / max(len(late), 1):7.2f} ms per late tick "
                         f"({count[label]} spans)")
        if unexplained:
            unexplained.sort()
            lines.append(f"  lateness not covered by the longest traced span: median "
                         f"{unexplained[len(unexplained) // 2] * 1000:.1f} ms")
        all_by_label: dict[str, list[float]] = defaultdict(list)
        for s, e, label in spans:
            all_by_label[label].append((e - s) * 1000)
        lines.append("  every traced call (count, median ms, max ms):")
        for label, ds in sorted(all_by_label.items(), key=lambda kv: -max(kv[1]))[:top]:
            ds.sort()
            lines.append(f"    {label:<46} {len(ds):6d} {ds[len(ds) // 2]:7.2f} {ds[-1]:7.2f}")
        return lines
