"""Two-process DDP training speed on CPU (gloo): DDP gradient sync vs the per-tensor all-reduce it replaced.

    python benchmarks/ddp_speed.py [--repeats 5] [--steps 20] [--models tiny-gpt,dcgan] [--json]

For each model (plugin defaults; tiny-gpt on random 64-character windows of a 65-symbol
vocabulary, batch 16; dcgan width 32 on random 32 px images, batch 16):
  one_process_steps_per_s   one process, one thread, no sync (the single-machine reference);
  ddp_steps_per_s           2 gloo processes, one thread each, gradients averaged by DDP
                            (one DDP per parameter group: bucketed, overlapped with backward);
  per_tensor_steps_per_s    the same 2 processes, gradients averaged by one blocking all-reduce per
                            tensor after backward (the engine's method before DDP);
  ddp_vs_per_tensor         ratio of the medians (>1: DDP is faster per step);
  ddp_vs_one_process        ratio of the medians (1.0: two processes cost nothing over one; each
                            process trains its own batch, so the run sees twice the data per step).
Each figure is the median of --repeats timings of --steps steps (after a warm-up), with min/max.
In the two-process measurement the two methods alternate, repeat by repeat, on the same model
(DDP's hooks stay idle while the per-tensor method runs), so load changes hit both alike.
The last line is one JSON object with --json.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import emit_json, spread  # noqa: E402

BATCH = 16


def _build(name: str):
    """(model, batch maker) for a plugin, freshly initialised with seed 0."""
    import torch

    from studio.core.plugins.api import DataSpec

    torch.manual_seed(0)
    if name == "tiny-gpt":
        from studio_plugins.tiny_gpt import Config, plugin
        vocab = [chr(c) for c in range(32, 96)] + ["\n"]
        model = plugin.build(Config(), DataSpec(modality="text", vocab=vocab))
        g = torch.Generator().manual_seed(1)
        return model, lambda: torch.randint(0, len(vocab), (BATCH, 65), generator=g)
    if name == "dcgan":
        from studio_plugins.dcgan import Config, plugin
        model = plugin.build(Config(width=32), DataSpec(modality="image", channels=3, image_size=32))
        g = torch.Generator().manual_seed(1)
        return model, lambda: torch.rand(BATCH, 3, 32, 32, generator=g)
    raise SystemExit(f"unknown model {name!r} (tiny-gpt, dcgan)")


def _timed(model, opt, batch, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        model.training_step(batch(), opt)
    return steps / (time.perf_counter() - t0)


def one_process(name: str, steps: int, repeats: int) -> list[float]:
    import torch

    from studio.core.training.optim import EngineOptimizers, OptimSettings

    torch.set_num_threads(1)
    model, batch = _build(name)
    opt = EngineOptimizers(model, OptimSettings(optimizer="adam", lr=1e-4))
    _timed(model, opt, batch, max(2, steps // 4))
    return [_timed(model, opt, batch, steps) for _ in range(repeats)]


def _worker(rank: int, name: str, steps: int, repeats: int, init_file: str, out_file: str) -> None:
    import json

    import torch

    from studio.core.training import ddp
    from studio.core.training.optim import EngineOptimizers, OptimSettings

    torch.set_num_threads(1)
    ddp.init(ddp.DistContext(rank=rank, world_size=2, local_rank=rank), "cpu", init_method=f"file://{init_file}")
    model, batch = _build(name)
    ddp.broadcast_module(model)
    opts = {m: EngineOptimizers(model, OptimSettings(optimizer="adam", lr=1e-4), world_size=2, grad_sync=m)
            for m in ("ddp", "per-tensor")}
    for opt in opts.values():
        _timed(model, opt, batch, max(2, steps // 4))
    rates: dict[str, list[float]] = {m: [] for m in opts}
    for i in range(repeats):
        order = list(opts) if i % 2 == 0 else list(reversed(opts))
        for m in order:
            ddp.barrier()  # both processes start each timing together
            rates[m].append(_timed(model, opts[m], batch, steps))
    if rank == 0:
        Path(out_file).write_text(json.dumps(rates))
    ddp.shutdown()


def two_processes(name: str, steps: int, repeats: int) -> dict[str, list[float]]:
    import json

    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory(prefix="ddp-speed-") as tmp:
        out = os.path.join(tmp, "rates.json")
        mp.spawn(_worker, args=(name, steps, repeats, os.path.join(tmp, "init"), out), nprocs=2, join=True)
        return json.loads(Path(out).read_text())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--models", default="tiny-gpt,dcgan")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    report: dict = {"cpu_cores": os.cpu_count(), "torch": torch.__version__, "batch_per_process": BATCH,
                    "steps_per_timing": args.steps, "models": {}}
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        one = spread(one_process(name, args.steps, args.repeats))
        two = two_processes(name, args.steps, args.repeats)
        d, p = spread(two["ddp"]), spread(two["per-tensor"])
        model, _ = _build(name)
        row = {"tensors": sum(1 for p_ in model.parameters() if p_.requires_grad),
               "parameters": sum(p_.numel() for p_ in model.parameters()),
               "one_process_steps_per_s": one, "ddp_steps_per_s": d, "per_tensor_steps_per_s": p,
               "ddp_vs_per_tensor": round(d["median"] / p["median"], 3),
               "ddp_vs_one_process": round(d["median"] / one["median"], 3)}
        report["models"][name] = row
        print(f"{name}: {row['tensors']} tensors, {row['parameters']} parameters; steps/s (median of "
              f"{args.repeats}): one process {one['median']}, 2 processes DDP {d['median']}, "
              f"2 processes per-tensor {p['median']}; DDP/per-tensor {row['ddp_vs_per_tensor']}, "
              f"DDP/one process {row['ddp_vs_one_process']}", flush=True)
    if args.json:
        emit_json(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
