"""Latent grid responsiveness: a scripted mouse drag over the 8x8 grid, painted by the real panel.

    python benchmarks/latent_grid.py --run RUN [--seconds 10] [--json]
    python benchmarks/latent_grid.py --untrained [--size 64]      # default-config VAE from studio_plugins.vae
    python benchmarks/latent_grid.py --toy                        # tiny built-in decoder (no plugin needed)

The drag sends mouse-move events at --rate per second (a mouse reports at 60-125 Hz) along a
Lissajous curve spanning about +-3 cells, so new cells keep scrolling in. Measured on the panel
itself (offscreen Qt paint included):
  fps                 frames actually painted per second;
  latency_p50/p95_ms  input event -> first paint that shows it;
  fill_p95_ms         input event -> first paint with every visible cell decoded for that view;
  decode_ms_per_cell  median decode time per cell on the chosen backend.
Targets on the 2-core reference machine: fps >= 60 and latency_p95_ms <= 33.
The last line is one JSON object with --json.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _model(args):
    import torch

    if args.run:
        from studio.core.training.checkpoints import load_model
        model, plugin, info = load_model(args.run)
        return model, plugin.id, str(info.path)
    if args.untrained:
        try:
            from studio_plugins.vae import plugin
        except ImportError as exc:
            raise SystemExit(f"--untrained needs the VAE plugin (studio_plugins/vae): {exc}")
        from studio.core.plugins.api import DataSpec
        torch.manual_seed(0)
        model = plugin.build(plugin.Config(), DataSpec("image", image_size=args.size, channels=3))
        return model.eval(), "vae (untrained)", ""
    from tests.ui.latent_doubles import TinyImageModel
    return TinyImageModel(size=args.size).eval(), "toy", ""


def _pct(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="run folder of a trained latent model")
    src.add_argument("--untrained", action="store_true", help="a default-config VAE from studio_plugins.vae")
    src.add_argument("--toy", action="store_true", help="a tiny built-in decoder (for a quick check)")
    ap.add_argument("--size", type=int, default=64, help="image size for --untrained/--toy (default 64)")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the scripted drag (default 20)")
    ap.add_argument("--rate", type=float, default=120.0, help="mouse events per second (default 120)")
    ap.add_argument("--backend", choices=("auto", "torch", "onnxruntime"), default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from studio.ui.context import StudioContext
    from studio.ui.panels.latent_grid import LatentGridPanel

    model, plugin_id, ckpt = _model(args)
    panel = LatentGridPanel(StudioContext())
    panel.resize(1000, 700)
    panel.show()
    panel.set_model(model, plugin_id=plugin_id, run=args.run or "", checkpoint=ckpt, backend=args.backend)
    view = panel.view
    deadline = time.perf_counter() + 120
    while not (panel.ready() and view.complete()) and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.002)
    if not view.complete():
        raise SystemExit("the grid never finished its first decode")

    def send(kind, pos):
        t = {"press": QEvent.Type.MouseButtonPress, "move": QEvent.Type.MouseMove,
             "release": QEvent.Type.MouseButtonRelease}[kind]
        btn = Qt.MouseButton.LeftButton
        ev = QMouseEvent(t, pos, view.mapToGlobal(pos), Qt.MouseButton.NoButton if kind == "move" else btn,
                         Qt.MouseButton.NoButton if kind == "release" else btn, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(view, ev)

    cell_px = view._target.width() / view.cols
    centre = QPointF(view.width() / 2, view.height() / 2)
    send("press", centre)
    paints_before = len(view.paint_log)
    latencies, fills, pending_fill = [], [], {}
    period = 1.0 / args.rate
    t0 = time.perf_counter()
    k = 0
    while time.perf_counter() - t0 < args.seconds:
        tt = k * period
        pos = centre + QPointF(3 * cell_px * math.sin(2 * math.pi * tt / 6.0), 2 * cell_px * math.sin(2 * math.pi * tt / 4.3))
        send("move", pos)
        seq, t_in = view.input_seq, time.perf_counter()
        pending_fill[seq] = t_in
        k += 1
        painted = False
        while True:
            app.processEvents()
            log = view.paint_log
            if not painted and log and log[-1][1] >= seq:
                latencies.append((log[-1][0] - t_in) * 1000)
                painted = True
            if painted and time.perf_counter() >= t0 + k * period:
                break
            if time.perf_counter() > t_in + 1.0:
                break
            time.sleep(0.0005)
        for t_paint, s, complete in view.paint_log[-8:]:
            if complete:
                for q in [q for q in pending_fill if q <= s]:
                    fills.append((t_paint - pending_fill.pop(q)) * 1000)
    elapsed = time.perf_counter() - t0
    send("release", centre)
    frames = len(view.paint_log) - paints_before
    per_chunk = sorted(panel.worker.decode_seconds)
    result = {
        "fps": round(frames / elapsed, 1),
        "latency_p50_ms": round(_pct(latencies, 50), 2),
        "latency_p95_ms": round(_pct(latencies, 95), 2),
        "fill_p95_ms": round(_pct(fills, 95), 1),
        "backend": panel.loaded.decoder.backend,
        "decode_ms_per_cell": round(1000 * per_chunk[len(per_chunk) // 2] / panel.worker.chunk, 3) if per_chunk else None,
        "events": k, "seconds": round(elapsed, 2), "model": plugin_id,
        "grid": f"{view.rows}x{view.cols}", "backend_report": panel.loaded.report,
        "targets": {"fps": 60, "latency_p95_ms": 33},
    }
    panel.shutdown()
    print(f"{result['fps']} frames/s painted; input->paint p50 {result['latency_p50_ms']} ms, "
          f"p95 {result['latency_p95_ms']} ms; all cells filled p95 {result['fill_p95_ms']} ms; "
          f"backend {result['backend']} ({result['decode_ms_per_cell']} ms per cell)")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
