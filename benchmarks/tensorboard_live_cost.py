"""What the live TensorBoard log (``studio train --tensorboard``) costs a training run, with it and without.

    python benchmarks/tensorboard_live_cost.py [--repeats 5] [--steps 150] [--json]

1. Logging alone: the loop's metrics store taking 5 metrics a step for 3000 steps, plain and with the live
   TensorBoard copy (``tensorboard_live.MetricsAlsoToTensorBoard``), interleaved; median microseconds a step.
2. A whole run: the vae plugin on 32 toy 32x32 pictures, in this process, one torch thread, ``--steps``
   steps with the log and without, interleaved; steps/s read from each run's metrics store after a warm-up
   of 20 steps (the writer's import and the first events fall inside the warm-up). Ratio = with / without.
The last line is one JSON object with --json.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import emit_json, spread  # noqa: E402

VALUES = {"loss": 0.5, "recon": 0.4, "kl": 0.1, "lr": 2e-3, "steps_per_s": 100.0}
WARMUP = 20


def logging_us(tmp: Path, live: bool) -> float:
    from studio.core.training.metrics import MetricsWriter
    from studio.core.training.tensorboard_live import LiveTensorBoard, MetricsAlsoToTensorBoard

    folder = Path(tempfile.mkdtemp(dir=tmp))
    writer = MetricsWriter(folder)
    if live:
        writer = MetricsAlsoToTensorBoard(writer, LiveTensorBoard(folder))
    writer.log(0, VALUES)  # the writer opens (imports) outside the timing
    start = time.perf_counter()
    for step in range(1, 3001):
        writer.log(step, VALUES)
    took = time.perf_counter() - start
    writer.close()
    return took / 3000 * 1e6


def run_steps_per_s(tmp: Path, data: Path, steps: int, live: bool) -> float:
    from studio.core.training.engine import train

    run = Path(tempfile.mkdtemp(dir=tmp)) / "run"
    res = train("vae", data, run, steps=steps, device="cpu", tensorboard=live,
                settings={"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_every": 0,
                          "checkpoint_minutes": 0})
    assert res.ok, res.reason
    conn = sqlite3.connect(run / "metrics.sqlite")
    try:
        t = dict(conn.execute("SELECT step, time FROM metrics WHERE name = 'loss'"))
    finally:
        conn.close()
    return (steps - WARMUP) / (t[steps] - t[WARMUP])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import torch

    from tests.fixtures.toy_plugins import data as toy_data

    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="tensorboard-live-bench-"))
    data = toy_data.write_image_dataset(tmp / "images", n=32, size=32)
    per_step: dict[bool, list[float]] = {False: [], True: []}
    rates: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.repeats):
        for live in (False, True):
            per_step[live].append(logging_us(tmp, live))
    for _ in range(args.repeats):
        for live in (False, True):
            rates[live].append(run_steps_per_s(tmp, data, args.steps, live))
    out = {"repeats": args.repeats, "steps": args.steps,
           "logging_us_per_step": {"plain": spread(per_step[False]), "with_tensorboard": spread(per_step[True])},
           "vae_steps_per_s": {"without": spread(rates[False]), "with_tensorboard": spread(rates[True])}}
    out["vae_ratio_with_vs_without"] = round(out["vae_steps_per_s"]["with_tensorboard"]["median"]
                                             / out["vae_steps_per_s"]["without"]["median"], 3)
    if args.json:
        emit_json(out)
    else:
        lg, vr = out["logging_us_per_step"], out["vae_steps_per_s"]
        print(f"logging 5 metrics: {lg['plain']['median']:.1f} us/step plain, "
              f"{lg['with_tensorboard']['median']:.1f} us/step with the live log")
        print(f"vae 32 px: {vr['without']['median']:.2f} steps/s without, {vr['with_tensorboard']['median']:.2f} "
              f"with (x{out['vae_ratio_with_vs_without']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
