"""Scenario 9: load. A run with a million logged steps opens in the Loss plot; a folder of small images
imports; the latent grid is dragged at 200 events/s. Memory stays bounded, the UI thread keeps ticking,
and the latent decoder never queues stale work.

The GUI functions need a ``QApplication`` (pytest-qt's, or the benchmark's own).
"""
from __future__ import annotations

import math
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.faults.fault_helpers import Measure, rss_bytes


def _pump(seconds: float) -> None:
    from PySide6.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.001)


# -- a million logged steps ----------------------------------------------------------------------
def write_big_run(folder: Path, steps: int = 1_000_000) -> Path:
    """A finished run whose metrics.sqlite holds ``steps`` steps of loss, lr and steps_per_s, as the engine logs."""
    import json

    from studio.core.training.metrics import MetricsWriter

    folder.mkdir(parents=True)
    now = time.time()
    (folder / "run.json").write_text(json.dumps({
        "id": "big", "plugin": {"id": "toy-image", "version": "0.1"}, "status": "done", "reason": "",
        "step": steps, "max_steps": steps, "created": now, "updated": now, "pid": None, "device": "cpu"}))
    w = MetricsWriter(folder)
    w.close()
    conn = sqlite3.connect(folder / "metrics.sqlite")
    # generated inside SQLite (seconds, not minutes, for millions of rows); a falling, wiggling loss
    conn.execute(f"""
        INSERT INTO metrics
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {int(steps)})
        SELECT x, {now} + x * 0.001, n.name,
               CASE n.name WHEN 'loss' THEN 1.0 / (1.0 + x / 1e5) + ((x * 7919) % 1000) / 1e5
                           WHEN 'lr' THEN 0.001 ELSE 900.0 END
        FROM c, (SELECT 'loss' AS name UNION ALL SELECT 'lr' UNION ALL SELECT 'steps_per_s') AS n
        ORDER BY x""")
    conn.commit()
    conn.close()
    return folder


@dataclass
class LoadResult:
    points: int = 0
    seconds: float = 0.0
    rss_growth: int = 0
    worst_freeze_ms: float = 0.0
    extra: dict = field(default_factory=dict)


def open_big_run_in_loss_plot(run: Path, steps: int, timeout: float = 120.0) -> LoadResult:
    """Show the run in a LossPlotPanel; wait until every loss point is in; measure RSS and UI freezes."""
    from studio.ui.context import StudioContext
    from studio.ui.panels.loss_plot import LossPlotPanel

    panel = LossPlotPanel(StudioContext())
    panel.resize(900, 500)
    panel.show()
    _pump(0.2)
    res = LoadResult()
    rss0 = rss_bytes()
    peak = rss0
    worst = 0.0
    t0 = last = time.perf_counter()
    panel.show_run(str(run))
    key = next(iter(panel.runs))
    from PySide6.QtTest import QTest
    while time.perf_counter() - t0 < timeout:
        QTest.qWait(2)
        now = time.perf_counter()
        worst, last = max(worst, now - last), now
        peak = max(peak, rss_bytes())
        series = panel.runs[key].series.get("loss")
        if series is not None and len(series) >= steps:
            break
    res.seconds = time.perf_counter() - t0
    t = time.perf_counter()
    panel.redraw()
    panel.plot.repaint()
    res.extra["redraw_s"] = time.perf_counter() - t
    series = panel.runs[key].series.get("loss")
    res.points = len(series) if series is not None else 0
    item = panel.runs[key].items.get("loss")
    res.extra["drawn_points"] = 0 if item is None or item.curve.xData is None else len(item.curve.xData)
    res.rss_growth = max(peak, rss_bytes()) - rss0
    res.worst_freeze_ms = worst * 1000
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    return res


def read_big_run(run: Path) -> LoadResult:
    """``read_metrics`` of one metric of the big run (CSV export / comparisons), measured."""
    from studio.core.training.metrics import read_metrics

    with Measure(trace=False) as m:
        series = read_metrics(run, names=["loss"])
    return LoadResult(points=len(series["loss"][0]), seconds=m.result.wall_s, rss_growth=m.result.rss_growth)


# -- many small images ------------------------------------------------------------------------------
def write_small_images(folder: Path, n: int, size: int = 12) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        sub = folder / f"c{i % 4}"
        if i < 4:
            sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(sub / f"{i:06d}.png")
    return folder


def import_many_images(src: Path, out: Path, size: int = 16) -> LoadResult:
    """Decoded in threads of this process, so the measured RSS covers all the work."""
    from studio.core.datasets.images import import_images

    with Measure(trace=False) as m:
        res = import_images([src], out, size=size, labels=True, executor="thread", workers=2)
    return LoadResult(points=len(res.accepted), seconds=m.result.wall_s, rss_growth=m.result.rss_growth,
                      extra={"skipped": len(res.skipped)})


# -- the latent grid under a storm of mouse events -----------------------------------------------------
@dataclass
class StormResult:
    events: int = 0
    seconds: float = 0.0
    max_pending: int = 0          # decode requests waiting at any moment (dict by kind: stale ones replaced)
    rss_growth_after_warmup: int = 0
    max_cache: int = 0
    idle_after_s: float = 0.0     # time for the decoder to go idle after the last event
    frames: int = 0


def latent_storm(seconds: float = 10.0, rate: float = 200.0, warmup: float = 2.0) -> StormResult:
    """Drag the latent grid along a Lissajous curve, ``rate`` mouse events per second."""
    import torch
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from studio.ui.context import StudioContext
    from studio.ui.panels.latent_grid import LatentGridPanel
    from tests.ui.latent_doubles import TinyImageModel

    torch.set_num_threads(1)
    panel = LatentGridPanel(StudioContext())
    panel.resize(900, 600)
    panel.show()
    panel.set_model(TinyImageModel(size=32).eval(), plugin_id="tiny", run="", checkpoint="", backend="torch")
    view, worker = panel.view, panel.worker
    deadline = time.perf_counter() + 60
    while not (panel.ready() and view.complete()) and time.perf_counter() < deadline:
        QApplication.processEvents()
        time.sleep(0.002)

    def send(kind, pos):
        t = {"press": QEvent.Type.MouseButtonPress, "move": QEvent.Type.MouseMove,
             "release": QEvent.Type.MouseButtonRelease}[kind]
        btn = Qt.MouseButton.LeftButton
        ev = QMouseEvent(t, pos, view.mapToGlobal(pos), Qt.MouseButton.NoButton if kind == "move" else btn,
                         Qt.MouseButton.NoButton if kind == "release" else btn, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(view, ev)

    res = StormResult()
    cell = view._target.width() / view.cols
    centre = QPointF(view.width() / 2, view.height() / 2)
    send("press", centre)
    paints0 = len(view.paint_log)
    period = 1.0 / rate
    t0 = time.perf_counter()
    rss_warm = None
    peak = 0
    k = 0
    while (now := time.perf_counter()) - t0 < seconds:
        if now < t0 + k * period:
            QApplication.processEvents()
            time.sleep(0.0005)
            continue
        tt = k * period
        # far-reaching drag (+-12 cells): new cells keep arriving, old ones must be evicted
        send("move", centre + QPointF(12 * cell * math.sin(2 * math.pi * tt / 9.0),
                                      8 * cell * math.sin(2 * math.pi * tt / 6.1)))
        k += 1
        with worker._cond:
            res.max_pending = max(res.max_pending, len(worker._pending))
        res.max_cache = max(res.max_cache, len(view.cache))
        QApplication.processEvents()
        if rss_warm is None and now - t0 >= warmup:
            rss_warm = rss_bytes()
        if rss_warm is not None:
            peak = max(peak, rss_bytes())
    res.seconds = time.perf_counter() - t0
    res.events = k
    send("release", centre)
    t_end = time.perf_counter()
    while worker.busy() and time.perf_counter() - t_end < 10:
        QApplication.processEvents()
        time.sleep(0.002)
    res.idle_after_s = time.perf_counter() - t_end
    res.frames = len(view.paint_log) - paints0
    res.rss_growth_after_warmup = max(0, max(peak, rss_bytes()) - (rss_warm or rss_bytes()))
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    return res
