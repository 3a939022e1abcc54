"""Training as the window runs it: the engine in a child process, the Training panel and the live Loss
plot following it, while a 60 Hz QTimer measures how late the UI event loop is.

    python benchmarks/train_overhead_gui.py                    # vae, 32 px, 20 s measured
    python benchmarks/train_overhead_gui.py --seconds 5 --json # a quick check

Prints the raw hand-written loop's steps/s (same model, data, batch, threads; from
``train_overhead.py``), the engine's steps/s read from its metrics store after a warm-up,
their ratio (target >= 0.95), and the event-loop lateness p50/p99/max of a 60 Hz timer while
training (target p99 <= 16 ms). The child gets the threads the window would give it (one core
left to the UI); the raw loop uses the same number. With --json the last line is one JSON object.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import emit_json  # noqa: E402

FRAME = 1 / 60


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


class LatenessProbe:
    """A 60 Hz precise QTimer; lateness of a tick = how much longer than one frame it came after the last."""

    def __init__(self):
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(int(FRAME * 1000))
        self.timer.timeout.connect(self._tick)
        self.last: float | None = None
        self.lateness: list[float] = []
        self.times: list[float] = []
        self.recording = False

    def start(self) -> None:
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None and self.recording:
            self.lateness.append(max(0.0, now - self.last - self.timer.interval() / 1000))
            self.times.append(now)
        self.last = now

    def summary(self) -> dict:
        ms = [v * 1000 for v in self.lateness]
        return {"ticks": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p99_ms": round(percentile(ms, 99), 2),
                "max_ms": round(max(ms), 2) if ms else None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plugin", default="vae", help="image model plugin id (default vae)")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seconds", type=float, default=20.0, help="measured seconds (default 20)")
    ap.add_argument("--warmup", type=float, default=None, help="unmeasured seconds first (default seconds/5, max 5)")
    ap.add_argument("--device", default="cpu", help="cpu (default), auto, cuda, ...")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ap.add_argument("--trace", action="store_true",
                    help="time the UI's slots, paints and garbage collections and name what ran in late frames")
    args = ap.parse_args()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import torch
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QSplitter

    from studio.core.datasets import load_dataset
    from studio.core.devices import choose, training_threads
    from studio.core.plugins.registry import get_plugin
    from studio.ui.context import StudioContext
    from studio.ui.panels.loss_plot import LossPlotPanel
    from studio.ui.panels.train_processes import training_processes
    from studio.ui.panels.training import TrainingPanel
    from train_overhead import raw_steps_per_s, store_steps_per_s, write_dataset

    plugin = get_plugin(args.plugin)
    if plugin.modality != "image":
        ap.error(f"{args.plugin} is a {plugin.modality} plugin; this benchmark trains image plugins")
    device = choose(args.device).id
    threads = training_threads(True)  # what the window gives its child trainer
    torch.set_num_threads(threads)
    warmup = args.warmup if args.warmup is not None else min(5.0, args.seconds / 5)
    settings = {"lr": args.lr, "batch_size": args.batch_size, "threads": threads, "optimizer": "adam",
                "precision": args.precision}
    app = QApplication.instance() or QApplication([])
    tracer = None
    if args.trace:
        import pyqtgraph as pg

        from studio.core.training.process import TrainingProcess
        from studio.ui.panels.train_preview import SamplePreview
        from studio.ui.run_watcher import RunWatcher
        from ui_trace import UiTracer

        tracer = UiTracer()
        tracer.wrap(RunWatcher, "poll")
        tracer.wrap(LossPlotPanel, "redraw", "_on_rows")
        tracer.wrap(TrainingPanel, "_on_status", "_on_metrics", "_on_preview")
        tracer.wrap(TrainingProcess, "poll")
        tracer.wrap(SamplePreview, "show_file")
        tracer.wrap(pg.GraphicsView, "paintEvent")
        tracer.wrap(pg.PlotCurveItem, "paint")
        tracer.wrap(pg.AxisItem, "paint")
        tracer.wrap(pg.ViewBox, "updateAutoRange")
        tracer.start()
    with tempfile.TemporaryDirectory(prefix="train-overhead-gui-") as tmp:
        tmp = Path(tmp)
        data_dir = write_dataset(tmp / "data", args.images, args.size)
        raw = raw_steps_per_s(plugin, load_dataset(data_dir), args.batch_size, args.lr, device, args.seconds, warmup)
        print(f"raw loop: {raw:.2f} steps/s ({threads} threads)", flush=True)

        ctx = StudioContext()
        win = QSplitter()
        training, plot = TrainingPanel(ctx), LossPlotPanel(ctx)
        win.addWidget(training)
        win.addWidget(plot)
        win.resize(1400, 700)
        win.show()
        probe = LatenessProbe()
        probe.start()
        procs = training_processes(ctx)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE.parent), env.get("PYTHONPATH", "")) if p)
        procs.env = env
        run_dir = tmp / "run"
        proc = procs.start(plugin.id, data_dir, run_dir, minutes=(args.seconds + warmup) / 60, device=device,
                           settings=settings, reserve_core=True)
        ctx.run_started.emit(str(run_dir))
        began: list[float] = []

        def check():
            st = proc.poll()
            if st.state == "running" and not began:
                began.append(time.perf_counter())
            if began and not probe.recording and time.perf_counter() - began[0] >= warmup:
                probe.recording = True  # the UI as it is while training, after the child's start-up
            if st.finished:
                probe.recording = False
                app.quit()

        watch = QTimer()
        watch.timeout.connect(check)
        watch.start(50)
        app.exec()
        status = proc.poll()
        if status.state != "done":
            print(f"the child trainer ended {status.state}: {status.reason}", file=sys.stderr)
            return 1
        engine = store_steps_per_s(run_dir, warmup)
        points = sum(len(b) for rc in plot.runs.values() for b in rc.series.values())
        training.shutdown()
        plot.shutdown()
        win.close()
    lat = probe.summary()
    if tracer is not None:
        tracer.stop()
        print("\n".join(tracer.report(list(zip(probe.times, probe.lateness)))), flush=True)
    ratio = engine / raw if raw else float("nan")
    print(f"engine as the window runs it: {engine:.2f} steps/s, ratio {ratio:.3f} (target >= 0.95); "
          f"UI lateness p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms over "
          f"{lat['ticks']} ticks (target p99 <= 16 ms); the plot held {points:,} points", flush=True)
    if args.json:
        emit_json({"benchmark": "train_overhead_gui", "plugin": plugin.id, "device": device, "threads": threads,
                   "batch_size": args.batch_size, "seconds": args.seconds, "raw_steps_per_s": round(raw, 3),
                   "gui_engine_steps_per_s": round(engine, 3), "gui_train_throughput_vs_raw_loop": round(ratio, 3),
                   "ui_lateness_ms": lat, "ui_lateness_p99_ms": lat["p99_ms"], "plot_points": points,
                   "targets": {"ratio": 0.95, "ui_lateness_p99_ms": 16}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
