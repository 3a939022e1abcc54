"""Training engine overhead: the same plugin model, data and batch trained by a raw hand-written PyTorch
loop and by the engine, in this process and in a child process as the window runs it (target >= 0.95).

    python benchmarks/train_overhead.py                       # vae, 32 px, 20 s per variant, 3 repeats
    python benchmarks/train_overhead.py --seconds 5 --repeats 1 --json
    python benchmarks/train_overhead.py --plugin dcgan --batch-size 64 --device auto

The engine runs with its defaults (metrics every step, validation, previews and checkpoints at their
default intervals, control polling), so the ratio is what a user pays. Throughput of the engine is
read from its metrics store after a warm-up; the raw loop is timed after the same warm-up.
With --json the last line of stdout is one JSON object; `train_throughput_vs_raw_loop` is the
child-process ratio (how the window trains). The UI-lateness part lives in the GUI benchmark.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import emit_json, spread  # noqa: E402


def synthetic_images(n: int, size: int, channels: int = 3, seed: int = 0):
    """Soft coloured discs: enough structure to learn, no files needed."""
    import torch

    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    centre = torch.rand(n, 2, 1, 1, generator=g) * 1.2 - 0.6
    radius = torch.rand(n, 1, 1, generator=g) * 0.4 + 0.2
    dist = ((xx - centre[:, 0]) ** 2 + (yy - centre[:, 1]) ** 2).sqrt()
    disc = torch.sigmoid((radius - dist) * 20)[:, None]
    colour = torch.rand(n, channels, 1, 1, generator=g)
    return (disc * colour * 255).round().to(torch.uint8)


def write_dataset(folder: Path, n: int, size: int) -> Path:
    """A dataset folder in the stable format, so the child trainer loads it like a user's."""
    import torch
    from safetensors.torch import save_file

    from studio.core.plugins.api import DataSpec

    folder.mkdir(parents=True, exist_ok=True)
    val = torch.zeros(n, dtype=torch.bool)
    val[::10] = True
    save_file({"images": synthetic_images(n, size), "labels": torch.zeros(n, dtype=torch.int64), "val_mask": val},
              str(folder / "data.safetensors"))
    spec = DataSpec("image", image_size=size, channels=3, num_classes=1)
    (folder / "manifest.json").write_text(json.dumps({
        "format": "studio-dataset/1", "modality": "image", "spec": spec.to_dict(), "sources": [], "accepted": n,
        "skipped": [], "stats": {}, "fingerprint": f"bench-{n}-{size}", "settings": {}, "augment": {"hflip": False},
        "license_note": "synthetic"}))
    return folder


def raw_steps_per_s(plugin, data, batch_size: int, lr: float, device: str, seconds: float, warmup: float) -> float:
    """A plain loop: Adam per parameter group, zero_grad/backward/step, nothing else."""
    import torch

    from studio.core.plugins.api import config_from_dict
    from studio.core.plugins.model import Optimizers

    torch.manual_seed(0)
    model = plugin.build(config_from_dict(plugin.Config, {}), data.spec).to(device)
    opts = {name: torch.optim.Adam([p for p in ps if p.requires_grad], lr=lr * model.lr_scale(name))
            for name, ps in model.param_groups().items()}

    class RawOptimizers(Optimizers):
        def step(self, group, loss):
            opt = opts[group]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        def zero_grad(self, group):
            opts[group].zero_grad(set_to_none=True)

    raw = RawOptimizers()
    gen = torch.Generator().manual_seed(0)
    seq_len = getattr(model, "sequence_length", None)
    model.train()
    done = [0]

    def one():
        batch = data.random_batch("train", batch_size, generator=gen, seq_len=seq_len).to(device)
        model.training_step(batch, raw)
        done[0] += 1
        model.after_step(done[0])  # part of the model's training contract (EMA and the like)

    end = time.perf_counter() + warmup
    while time.perf_counter() < end:
        one()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        one()
        steps += 1
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - t0)


def store_steps_per_s(run_dir: Path, warmup: float) -> float:
    """Throughput from the run's metrics store, ignoring the first ``warmup`` seconds of training."""
    from studio.core.training.metrics import MetricsReader

    reader = MetricsReader(run_dir)
    rows = [(step, t) for step, t, name, _v in reader.poll(max_rows=10**9).rows if name == "loss"]
    reader.close()
    if len(rows) < 3:
        raise RuntimeError(f"{run_dir}: the engine logged only {len(rows)} steps")
    start = rows[0][1] + warmup
    rows = [r for r in rows if r[1] >= start] or rows[-2:]
    (s0, t0), (s1, t1) = rows[0], rows[-1]
    return (s1 - s0) / max(t1 - t0, 1e-9)


def engine_in_process(plugin, data, run_dir: Path, settings: dict, device: str, seconds: float, warmup: float) -> float:
    from studio.core.training.engine import train

    res = train(plugin, data, run_dir, minutes=(seconds + warmup) / 60, device=device, settings=settings)
    if not res.ok:
        raise RuntimeError(f"engine run failed: {res.reason}")
    return store_steps_per_s(run_dir, warmup)


def engine_child(plugin_id: str, data_dir: Path, run_dir: Path, settings: dict, device: str, seconds: float,
                 warmup: float) -> float:
    from studio.core.training.process import TrainingProcess

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE.parent), env.get("PYTHONPATH", "")) if p)
    proc = TrainingProcess(plugin_id, data_dir, run_dir, minutes=(seconds + warmup) / 60, device=device,
                           settings=settings, reserve_core=False, env=env)
    proc.start()
    st = proc.wait(timeout=seconds + warmup + 300)
    if st.state != "done":
        raise RuntimeError(f"child trainer ended {st.state}: {st.reason}")
    return store_steps_per_s(run_dir, warmup)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plugin", default="vae", help="image model plugin id (default vae)")
    ap.add_argument("--size", type=int, default=32, help="image size in pixels (default 32)")
    ap.add_argument("--images", type=int, default=512, help="synthetic dataset size (default 512)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seconds", type=float, default=20.0, help="measured seconds per variant (default 20)")
    ap.add_argument("--warmup", type=float, default=None, help="unmeasured seconds first (default: seconds/5, max 5)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu", help="cpu (default), auto, cuda, ...")
    ap.add_argument("--precision", default="fp32",
                    help="engine precision (default fp32, the raw loop's arithmetic; auto = as the window trains)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads for every variant (default: all cores)")
    ap.add_argument("--no-child", action="store_true", help="skip the child-process variant")
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = ap.parse_args()

    import torch

    from studio.core.devices import choose
    from studio.core.datasets import load_dataset
    from studio.core.plugins.registry import get_plugin

    plugin = get_plugin(args.plugin)
    if plugin.modality != "image":
        ap.error(f"{args.plugin} is a {plugin.modality} plugin; this benchmark trains image plugins")
    device = choose(args.device).id
    threads = args.threads or (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    warmup = args.warmup if args.warmup is not None else min(5.0, args.seconds / 5)
    settings = {"lr": args.lr, "batch_size": args.batch_size, "threads": threads, "optimizer": "adam",
                "precision": args.precision}
    raw, inproc, child = [], [], []
    with tempfile.TemporaryDirectory(prefix="train-overhead-") as tmp:
        tmp = Path(tmp)
        data = load_dataset(write_dataset(tmp / "data", args.images, args.size))
        for r in range(args.repeats):
            raw.append(raw_steps_per_s(plugin, data, args.batch_size, args.lr, device, args.seconds, warmup))
            inproc.append(engine_in_process(plugin, data, tmp / f"in-{r}", settings, device, args.seconds, warmup))
            if not args.no_child:
                child.append(engine_child(plugin.id, tmp / "data", tmp / f"child-{r}", settings, device,
                                          args.seconds, warmup))
            line = f"repeat {r + 1}: raw {raw[-1]:.2f} steps/s, engine {inproc[-1]:.2f} ({inproc[-1] / raw[-1]:.3f})"
            if child:
                line += f", engine in a child process {child[-1]:.2f} ({child[-1] / raw[-1]:.3f})"
            print(line, flush=True)
    ratio_in = spread([i / r for i, r in zip(inproc, raw)])
    ratio_child = spread([c / r for c, r in zip(child, raw)])
    result = {
        "benchmark": "train_overhead", "plugin": plugin.id, "device": device, "threads": threads,
        "precision": args.precision, "batch_size": args.batch_size, "image_size": args.size, "seconds": args.seconds, "repeats": args.repeats,
        "raw_steps_per_s": spread(raw), "engine_steps_per_s": spread(inproc), "child_steps_per_s": spread(child),
        "throughput_in_process_vs_raw_loop": ratio_in["median"],
        "throughput_child_vs_raw_loop": ratio_child["median"],
        "train_throughput_vs_raw_loop": ratio_child["median"] if child else ratio_in["median"],
        "ratio_in_process": ratio_in, "ratio_child": ratio_child, "target": 0.95,
    }
    print(f"{plugin.id} on {device}, batch {args.batch_size}, {threads} threads: engine/raw "
          f"{ratio_in['median']} in-process, {ratio_child['median']} in a child process (target >= 0.95)")
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
