"""Loss plot panel driven like a user: live curves from a run folder, smoothing, log-y, hover, overlay,
PNG/CSV export, and a million points that load and redraw in bounded time."""
from __future__ import annotations

import csv
import math
import time

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from studio.core.training.metrics import MetricsWriter
from tests.ui.screens import distinct_colours, save_widget
from tests.ui.train_helpers import wait_for, write_fake_run

METRICS = {"loss": lambda s: 2.0 * math.exp(-s / 60) + 0.05 * math.sin(s),
           "val_loss": lambda s: 2.2 * math.exp(-s / 70) + 0.1,
           "lr": lambda s: 1e-3}


@pytest.fixture
def panel(qtbot):
    from studio.ui.context import StudioContext
    from studio.ui.panels.loss_plot import LossPlotPanel

    ctx = StudioContext()
    w = LossPlotPanel(ctx)
    qtbot.addWidget(w)
    w.resize(900, 480)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def curve_len(panel, name, run=None):
    rc = next(iter(panel.runs.values())) if run is None else panel.runs[str(run.resolve())]
    item = rc.items.get(name)
    if item is None or item.xData is None:
        return 0
    return len(item.xData)


def test_follows_a_growing_run_smooths_and_exports(qtbot, panel, tmp_path):
    run = write_fake_run(tmp_path / "run-a", status="running", steps=200, metrics=METRICS)
    panel.ctx.run_selected.emit(str(run))
    wait_for(qtbot, lambda: curve_len(panel, "loss") == 200 and curve_len(panel, "val_loss") == 200, 10, "curves")
    # lr has another scale: listed, unticked, not drawn
    items = {panel.metric_list.item(i).text(): panel.metric_list.item(i) for i in range(panel.metric_list.count())}
    assert set(items) == {"loss", "val_loss", "lr"}
    rc = next(iter(panel.runs.values()))
    assert not rc.items["lr"].isVisible() and rc.items["loss"].isVisible()

    # the trainer keeps writing: the curve grows without any user action
    w = MetricsWriter(run)
    for s in range(201, 301):
        w.log(s, {"loss": METRICS["loss"](s)})
    w.flush()
    wait_for(qtbot, lambda: curve_len(panel, "loss") == 300, 10, "the loss curve to grow to 300 points")
    w.close()

    # smoothing: 0 shows the raw values, more smoothing flattens the sine wiggle
    panel.smooth.setValue(0)
    panel.redraw()
    raw = np.array(rc.items["loss"].yData)
    assert raw[10] == pytest.approx(METRICS["loss"](11))
    panel.smooth.setValue(95)
    panel.redraw()
    smooth = np.array(rc.items["loss"].yData)
    assert np.abs(np.diff(smooth[150:])).mean() < np.abs(np.diff(raw[150:])).mean() / 3

    panel.logy.setChecked(True)
    assert panel.plot.getPlotItem().ctrl.logYCheck.isChecked()

    text = panel.readout_at(100.2)
    assert "loss" in text and "@ 100" in text

    png = panel.export_png(tmp_path / "plot.png")
    assert png.stat().st_size > 1000 and distinct_colours(png) > 8
    out = panel.export_csv(tmp_path / "m.csv")
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert len(rows) == 300 + 200 + 200
    assert {r["metric"] for r in rows} == {"loss", "val_loss", "lr"}
    assert float(next(r for r in rows if r["metric"] == "loss" and r["step"] == "11")["value"]) == \
        pytest.approx(METRICS["loss"](11))
    panel.logy.setChecked(False)
    save_widget(panel, "loss_plot_panel")


def test_overlays_several_runs(qtbot, panel, tmp_path):
    a = write_fake_run(tmp_path / "run-a", steps=80, metrics=METRICS)
    b = write_fake_run(tmp_path / "run-b", steps=50, metrics={"loss": lambda s: 1.0 / s})
    panel.ctx.runs_compared.emit([str(a), str(b)])
    wait_for(qtbot, lambda: curve_len(panel, "loss", a) == 80 and curve_len(panel, "loss", b) == 50, 10, "both runs")
    labels = {label.text for _sample, label in panel.legend.items}
    assert {"run-a: loss", "run-b: loss"} <= labels
    pen_a = panel.runs[str(a.resolve())].items["loss"].opts["pen"].color().name()
    pen_b = panel.runs[str(b.resolve())].items["loss"].opts["pen"].color().name()
    assert pen_a != pen_b  # runs told apart by colour
    assert "run-a: loss" in panel.readout_at(40) and "run-b: loss" in panel.readout_at(40)
    save_widget(panel, "loss_plot_panel_overlay")
    # back to one run: the other's curves go away
    panel.ctx.run_selected.emit(str(b))
    assert list(panel.runs) == [str(b.resolve())]


def test_a_million_points_load_and_redraw_in_bounded_time(qtbot, panel, tmp_path):
    run = write_fake_run(tmp_path / "big", steps=1, metrics={"loss": lambda s: 1.0})
    panel.show_run(str(run))
    key = next(iter(panel.runs))
    n = 1_000_000
    rng = np.random.default_rng(0)
    steps = np.arange(1, n + 1, dtype=np.float64)
    values = np.exp(-steps / 3e5) + 0.05 * rng.standard_normal(n)
    t0 = time.perf_counter()
    panel.add_points(key, "big_loss", steps, values)
    panel.redraw()
    panel.plot.repaint()
    QApplication.processEvents()
    first = time.perf_counter() - t0
    assert len(panel.runs[key].series["big_loss"]) == n
    drawn = panel.runs[key].items["big_loss"].curve.xData
    assert 0 < len(drawn) < 50_000  # what is painted: peak-downsampled to about the plot's pixel width
    # zooming and panning redraw only what is in view, downsampled
    vb = panel.plot.getViewBox()
    times = []
    for lo in (0, 200_000, 400_000, 600_000):
        t = time.perf_counter()
        vb.setXRange(lo, lo + 300_000, padding=0)
        panel.plot.repaint()
        QApplication.processEvents()
        times.append(time.perf_counter() - t)
    # live growth: appending 1,000 points to the million and redrawing
    t = time.perf_counter()
    panel.add_points(key, "big_loss", np.arange(n + 1, n + 1001, dtype=np.float64), np.full(1000, 0.5))
    panel.redraw()
    panel.plot.repaint()
    grow = time.perf_counter() - t
    print(f"1e6 points: first draw {first:.3f} s, pan/zoom {max(times):.3f} s max, append+redraw {grow:.3f} s")
    # measured ~0.13 s / 0.05 s / 0.1 s on a busy 2-core machine; bounds leave room for a slower one
    assert first < 1.5
    assert max(times) < 0.3
    assert grow < 0.5
    item = panel.runs[key].items["big_loss"]
    assert item.opts["downsampleMethod"] == "peak" and item.opts["clipToView"]


def test_follow_keeps_every_point_in_view_but_moves_the_axes_rarely(qtbot, panel, tmp_path):
    """Rebuilding the axes at each update made every repaint slow while training; follow moves them in jumps."""
    from studio.ui.panels.train_series import follow_range

    assert follow_range(0, 10, (0, 12)) is None                  # inside, fills the view: keep
    assert follow_range(0, 13, (0, 12)) == (-1.625, 14.625)      # out of view: grow with room to spare
    assert follow_range(0, 2, (0, 12)) is not None               # a sliver of the view: shrink
    assert follow_range(float("nan"), 1, (0, 1)) is None

    run = write_fake_run(tmp_path / "run-f", status="running", steps=1, metrics={"loss": METRICS["loss"]})
    panel.ctx.run_selected.emit(str(run))
    wait_for(qtbot, lambda: curve_len(panel, "loss") == 1, 10, "the first point")
    vb = panel.plot.getViewBox()
    changes = []
    vb.sigRangeChanged.connect(lambda *_: changes.append(1))
    key = next(iter(panel.runs))
    for s in range(2, 402):
        panel.add_points(key, "loss", [s], [METRICS["loss"](s)])
        panel.redraw()
        (x0, x1), (y0, y1) = vb.viewRange()
        y = np.array(panel.runs[key].items["loss"].yData)
        assert x0 <= 1 and x1 >= s and y0 <= y.min() and y1 >= y.max(), f"step {s} left the view"
    assert len(changes) < 40, f"the view moved {len(changes)} times in 400 updates"
    # panning by hand stops following; ticking Follow again brings every point back
    vb.setRange(xRange=(500, 600), padding=0)
    panel.follow.setChecked(False)
    panel.follow.setChecked(True)
    (x0, x1), _ = vb.viewRange()
    assert x0 <= 1 and x1 >= 401


def test_series_bounds_follow_appends_smoothing_and_log_scale():
    """Bounds are kept incrementally (a live plot asks at every update); they must equal a full scan."""
    from studio.ui.panels.train_series import SeriesBuffer

    rng = np.random.default_rng(0)
    buf = SeriesBuffer(capacity=4)
    assert buf.bounds() is None
    steps = 0
    for chunk in (3, 50, 1, 400):
        values = rng.normal(1.0, 0.5, chunk)
        buf.append(np.arange(steps, steps + chunk), values)
        steps += chunk
        x, y = buf.smoothed()
        assert buf.bounds() == (x.min(), x.max(), y.min(), y.max())
    buf.set_alpha(0.9)  # new smoothing: new values, bounds from scratch
    x, y = buf.smoothed()
    assert buf.bounds() == (x.min(), x.max(), y.min(), y.max())
    pos = y > 0
    assert buf.bounds(log_y=True) == pytest.approx((x[pos].min(), x[pos].max(), np.log10(y[pos]).min(),
                                                    np.log10(y[pos]).max()))
    buf.clear()
    assert buf.bounds() is None
