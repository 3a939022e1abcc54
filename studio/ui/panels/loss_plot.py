"""Loss plot panel (pyqtgraph): live curves of the selected run, or of several runs overlaid.

One curve per metric (and per run when comparing), EMA smoothing, log-y, a hover
read-out, export as PNG and CSV. Rows arrive through :class:`RunWatcher` into
growing numpy buffers; a ~30 Hz timer redraws only curves that changed, from views
of those buffers, with peak downsampling and clip-to-view, so a million points stay smooth.
"""
from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QGraphicsItem, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QMessageBox, QPushButton, QSlider, QSplitter, QVBoxLayout, QWidget)

from studio.core.training.metrics import read_metrics
from studio.ui.panels.train_series import SeriesBuffer, follow_range, group_rows
from studio.ui.run_watcher import RunWatcher
from studio.ui.theme import CANVAS, follow

log = logging.getLogger("studio.ui.loss")
# other scales: offered, not drawn until ticked (the originality figures are shares from 0 to 1)
HIDDEN_BY_DEFAULT = ("lr", "steps_per_s", "originality/similarity", "originality/copy_rate",
                     "originality/copy_limit")
STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)
REDRAW_MS = 33
#: readable on white (matplotlib's tab10); curves cycle through it
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


class RunCurves:
    """The buffers and plot items of one run."""

    def __init__(self, run_dir: Path, watcher: RunWatcher | None):
        self.run_dir = run_dir
        self.watcher = watcher
        self.series: dict[str, SeriesBuffer] = {}
        self.items: dict[str, pg.PlotDataItem] = {}
        self.dirty: set[str] = set()


class LossPlotPanel(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.runs: dict[str, RunCurves] = {}
        self.primary: Path | None = None
        self.alpha = 0.6
        self.enabled_metrics: dict[str, bool] = {}

        pg.setConfigOptions(antialias=False)  # antialiasing a million-point path costs more than it shows
        self.plot = pg.PlotWidget(background="w")
        self.plot.setToolTip("Drag to pan, wheel to zoom, right-click for more; hover for values")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "value")
        # the plot's context menu shows (and new curves inherit) these modes
        self.plot.getPlotItem().setDownsampling(auto=True, mode="peak")
        self.plot.getPlotItem().setClipToView(True)
        self.legend = self.plot.addLegend(offset=(-10, 10), labelTextColor=(40, 40, 40))
        # Axes (tick labels plus the grid across the plot) and the legend change rarely but were
        # re-rendered at every curve update; Qt keeps them as pixmaps until they change.
        for item in (self.plot.getAxis("left"), self.plot.getAxis("bottom"), self.legend):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((120, 120, 120), style=Qt.PenStyle.DashLine))
        self.cursor.setVisible(False)
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.empty = pg.TextItem("No run selected: start one from Models, or pick runs in Runs.",
                                 color=(110, 110, 110), anchor=(0.5, 0.5))
        self.plot.addItem(self.empty, ignoreBounds=True)
        self.empty.setPos(0.5, 0.5)
        # Follow is ours (follow_range), not pyqtgraph's auto-range: that moves the axes at every
        # update, and rebuilding their labels and grid was most of each repaint while training.
        self.plot.getViewBox().disableAutoRange()
        self.plot.getViewBox().sigRangeChangedManually.connect(self._user_moved)
        self.hover_proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_hover)

        self.readout = QLabel("Hover the plot for values")
        self.readout.setToolTip("Values of each curve at the step under the mouse")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.smooth = QSlider(Qt.Orientation.Horizontal)
        self.smooth.setRange(0, 99)
        self.smooth.setValue(int(self.alpha * 100))
        self.smooth.setToolTip("Exponential moving average: 0 shows raw values, right smooths more")
        self.smooth.valueChanged.connect(self.set_smoothing)
        self.smooth_label = QLabel(f"{self.alpha:.2f}")
        self.logy = QCheckBox("Log y")
        self.logy.setToolTip("Logarithmic value axis (losses spanning decades)")
        self.logy.toggled.connect(self.set_log_y)
        self.follow = QCheckBox("Follow")
        self.follow.setChecked(True)
        self.follow.setToolTip("Keep every point in view as the run grows (turns off when you pan or zoom)")
        self.follow.toggled.connect(self._on_follow)
        png = QPushButton("PNG…")
        png.setToolTip("Save the plot as a PNG image")
        png.clicked.connect(self._ask_png)
        csv_btn = QPushButton("CSV…")
        csv_btn.setToolTip("Save every metric row of the shown runs as CSV (run, step, metric, value)")
        csv_btn.clicked.connect(self._ask_csv)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Smoothing"))
        bar.addWidget(self.smooth, 1)
        bar.addWidget(self.smooth_label)
        for w in (self.logy, self.follow, png, csv_btn):
            bar.addWidget(w)

        self.metric_list = QListWidget()
        self.metric_list.setToolTip("Tick the metrics to draw")
        self.metric_list.setMaximumWidth(200)
        self.metric_list.itemChanged.connect(self._on_metric_ticked)
        split = QSplitter()
        split.addWidget(self.plot)
        split.addWidget(self.metric_list)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 1)
        split.setSizes([600, 130])
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(split, 1)
        lay.addWidget(self.readout)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self.redraw)
        self.timer.start(REDRAW_MS)
        ctx.run_started.connect(self.show_run)
        ctx.run_selected.connect(self.show_run)
        if hasattr(ctx, "runs_compared"):
            ctx.runs_compared.connect(self.show_runs)
        follow(self.apply_theme)  # light/dark: now and on every change

    # -- which runs ------------------------------------------------------------------------------
    def show_run(self, run_dir: str | None) -> None:
        """Show one run (the current one); several at once come from :meth:`show_runs`."""
        self.primary = Path(run_dir) if run_dir else None
        self.show_runs([run_dir] if run_dir else [])

    def show_runs(self, run_dirs: list) -> None:
        wanted = [Path(r) for r in run_dirs if r]
        keys = [str(p.resolve()) for p in wanted]
        for key in list(self.runs):
            if key not in keys:
                self._drop(key)
        for key, path in zip(keys, wanted):
            if key not in self.runs:
                watcher = RunWatcher(self)
                rc = RunCurves(path, watcher)
                self.runs[key] = rc
                watcher.metrics_added.connect(lambda update, k=key: self._on_rows(k, update))
                watcher.follow(path)
        self._restyle()
        self.empty.setVisible(not self.runs)
        self.follow.setChecked(True)

    def _drop(self, key: str) -> None:
        rc = self.runs.pop(key)
        if rc.watcher is not None:
            rc.watcher.stop()
            rc.watcher.deleteLater()
        for item in rc.items.values():
            self.plot.removeItem(item)
            self.legend.removeItem(item)

    # -- data ------------------------------------------------------------------------------------
    def _on_rows(self, key: str, update) -> None:
        rc = self.runs.get(key)
        if rc is None:
            return
        if update.reset:
            for buf in rc.series.values():
                buf.clear()
            rc.dirty.update(rc.series)
        for name, (steps, values) in group_rows(update.rows).items():
            self.add_points(key, name, steps, values)

    def add_points(self, key: str, name: str, steps, values) -> None:
        """Append points to a run's metric (creating its curve); drawn at the next redraw tick."""
        rc = self.runs[key]
        buf = rc.series.get(name)
        if buf is None:
            buf = rc.series[name] = SeriesBuffer()
            buf.set_alpha(self.alpha)
            self._new_metric(name)
            self._make_item(rc, name)
        buf.append(steps, values)
        rc.dirty.add(name)

    def _new_metric(self, name: str) -> None:
        if name in self.enabled_metrics:
            return
        on = name not in HIDDEN_BY_DEFAULT
        self.enabled_metrics[name] = on
        item = QListWidgetItem(name)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        item.setToolTip(f"Draw {name}")
        self.metric_list.blockSignals(True)
        self.metric_list.addItem(item)
        self.metric_list.sortItems()
        self.metric_list.blockSignals(False)

    def _make_item(self, rc: RunCurves, name: str) -> None:
        item = pg.PlotDataItem(name=name)
        self.plot.addItem(item)  # PlotItem.addItem applies the plot's own modes: set ours after it
        item.setDownsampling(auto=True, method="peak")
        item.setClipToView(True)
        rc.items[name] = item
        self._restyle()

    def _restyle(self) -> None:
        """Colour by metric for one run; by run (and dash style by metric) when comparing runs."""
        names = sorted(self.enabled_metrics)
        several = len(self.runs) > 1
        self.legend.clear()
        for r, rc in enumerate(self.runs.values()):
            for name, item in rc.items.items():
                m = names.index(name) if name in names else 0
                colour = PALETTE[(r if several else m) % len(PALETTE)]
                style = STYLES[m % len(STYLES)] if several else Qt.PenStyle.SolidLine
                item.setPen(pg.mkPen(colour, width=1.5, style=style))
                label = f"{rc.run_dir.name}: {name}" if several else name
                item.opts["name"] = label
                shown = self.enabled_metrics.get(name, True)
                item.setVisible(shown)
                if shown:
                    self.legend.addItem(item, label)

    # -- drawing ---------------------------------------------------------------------------------
    def redraw(self) -> int:
        """Push changed buffers to their curves; returns how many curves were updated."""
        n = 0
        for rc in self.runs.values():
            for name in list(rc.dirty):
                item, buf = rc.items.get(name), rc.series.get(name)
                if item is None or buf is None:
                    continue
                x, y = buf.smoothed()
                item.setData(x, y)
                n += 1
            rc.dirty.clear()
        if n and self.follow.isChecked():
            self.keep_in_view()
        return n

    def keep_in_view(self, force: bool = False) -> None:
        """Move the view so every shown point is in it; only when needed (see ``follow_range``)."""
        xs: list[float] = []
        ys: list[float] = []
        log_y = self.logy.isChecked()
        for rc in self.runs.values():
            for name, item in rc.items.items():
                buf = rc.series.get(name)
                # from our buffers: the curve itself holds only the clipped-to-view points
                b = buf.bounds(log_y) if item.isVisible() and buf is not None and len(buf) else None
                if b is not None:
                    xs += b[:2]
                    ys += b[2:]
        if not xs:
            return
        vb = self.plot.getViewBox()
        (vx0, vx1), (vy0, vy1) = vb.viewRange()
        if force:
            vx0 = vx1 = vy0 = vy1 = float("nan")  # no view to keep: set both from the data
        lo_x = min(xs)
        new_x = follow_range(lo_x, max(xs), (vx0, vx1), grow=0.5)
        new_y = follow_range(min(ys), max(ys), (vy0, vy1), grow=0.3)
        if new_x is not None:
            new_x = (lo_x, new_x[1])  # steps start at the left edge; room only on the right
        if new_x is not None or new_y is not None:
            vb.setRange(xRange=new_x, yRange=new_y, padding=0)

    def set_smoothing(self, value: int) -> None:
        self.alpha = max(0.0, min(value / 100.0, 0.99))
        self.smooth_label.setText(f"{self.alpha:.2f}")
        for rc in self.runs.values():
            for name, buf in rc.series.items():
                buf.set_alpha(self.alpha)
                rc.dirty.add(name)

    def set_log_y(self, on: bool) -> None:
        self.plot.setLogMode(x=False, y=on)
        if self.follow.isChecked():
            self.keep_in_view(force=True)

    def _on_metric_ticked(self, item: QListWidgetItem) -> None:
        self.enabled_metrics[item.text()] = item.checkState() == Qt.CheckState.Checked
        self._restyle()
        if self.follow.isChecked():
            self.keep_in_view(force=True)

    def _user_moved(self, *_):
        self.follow.setChecked(False)

    def _on_follow(self, on: bool) -> None:
        if on:
            self.keep_in_view(force=True)

    # -- hover read-out -------------------------------------------------------------------------------
    def _on_hover(self, event) -> None:
        pos = event[0]
        vb = self.plot.getViewBox()
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        step = vb.mapSceneToView(pos).x()
        self.readout.setText(self.readout_at(step))
        self.cursor.setPos(step)
        self.cursor.setVisible(True)

    def readout_at(self, step: float) -> str:
        """The value of each shown curve at the nearest logged step (smoothed values, as drawn)."""
        parts = []
        several = len(self.runs) > 1
        for rc in self.runs.values():
            for name, buf in sorted(rc.series.items()):
                if not self.enabled_metrics.get(name, True) or not len(buf):
                    continue
                x, y = buf.smoothed()
                i = int(np.clip(np.searchsorted(x, step), 0, len(x) - 1))
                if i > 0 and abs(x[i - 1] - step) < abs(x[i] - step):
                    i -= 1
                label = f"{rc.run_dir.name}: {name}" if several else name
                parts.append(f"{label} {y[i]:.5g} @ {int(x[i]):,}")
        return "   ".join(parts) if parts else "No points under the mouse"

    # -- export -------------------------------------------------------------------------------------------
    def _ask_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save plot as PNG", str(self._export_dir() / "loss.png"),
                                              "PNG image (*.png)")
        if path:
            self._report(self.export_png, path)

    def _ask_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save metrics as CSV", str(self._export_dir() / "metrics.csv"),
                                              "CSV (*.csv)")
        if path:
            self._report(self.export_csv, path)

    def _export_dir(self) -> Path:
        proj = self.ctx.project
        return proj.exports_dir if proj else Path.home()

    def _report(self, fn, path: str) -> None:
        try:
            fn(path)
        except OSError as exc:
            QMessageBox.warning(self, "Export failed", f"{path}: {exc.strerror or exc}")
            return
        self.ctx.status_message.emit(f"Saved {path}")

    def export_png(self, path: str | Path) -> Path:
        import pyqtgraph.exporters  # noqa: F401 - registers the exporters

        path = Path(path)
        exporter = pg.exporters.ImageExporter(self.plot.getPlotItem())
        exporter.parameters()["width"] = max(int(self.plot.width()) * 2, 800)
        if not exporter.export(str(path)) and not path.exists():
            raise OSError(f"could not write {path}")
        return path

    def export_csv(self, path: str | Path) -> Path:
        """Every stored row of every shown run (not the smoothed, downsampled curves)."""
        path = Path(path)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["run", "step", "metric", "value"])
            for rc in self.runs.values():
                for name, (steps, values) in sorted(read_metrics(rc.run_dir).items()):
                    w.writerows((rc.run_dir.name, s, name, repr(v)) for s, v in zip(steps, values))
        return path

    def shutdown(self) -> None:
        self.timer.stop()
        for rc in self.runs.values():
            if rc.watcher is not None:
                rc.watcher.stop()

    # -- theme ------------------------------------------------------------------------------------------
    def apply_theme(self, dark: bool) -> None:
        """Background, axes, grid, labels, legend and empty-state text for the light or dark theme."""
        bg, fg = CANVAS[dark]
        self.plot.setBackground(bg)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(fg)
            axis.setTextPen(fg)  # tick labels and the axis label
        self.legend.setLabelTextColor(fg)
        self.empty.setColor((150, 152, 158) if dark else (110, 110, 110))
        self.cursor.setPen(pg.mkPen((150, 150, 150) if dark else (120, 120, 120), style=Qt.PenStyle.DashLine))
        self._restyle()  # re-adds the legend rows, drawn in the new label colour
