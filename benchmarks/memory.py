"""Peak memory (RSS) of the studio: with the demo project open, and while training the default image model.

    python benchmarks/memory.py [--repeats 5] [--seconds 30] [--device cpu|cuda|auto] [--json]
    python benchmarks/memory.py --only demo --repeats 1          # a quick check

  peak_rss_mb_demo_open        `python -m studio gui --demo --screenshot F` under offscreen Qt: the
                               window, every panel loaded, torch imported and plugins discovered
                               (the screenshot is taken once all that is done, then it exits);
  peak_rss_mb_training_image   `studio train --plugin vae` (default settings) for --seconds on the
                               demo shapes dataset (`studio import demo-images`, imported once, untimed).
  baseline_torch_import_mb     `python -c "import torch"` in the same run, for scale: the part of
                               either figure that is torch itself.
RSS is summed over the whole process tree, sampled every 50 ms, and never below the kernel's own
high-water mark (VmHWM) of the largest process. Median of --repeats with min and max; MB = 2**20 bytes.
The last line is one JSON object with --json.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (add_device_argument, emit_json, run_measuring_rss, spread,  # noqa: E402
                    studio_env)

STUDIO = [sys.executable, "-m", "studio"]


def _check(run, what: str) -> float:
    if run.timed_out:
        raise RuntimeError(f"{what} did not finish within its time limit ({run.seconds:.0f} s)")
    if run.returncode != 0:
        tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{what} exited with status {run.returncode}: {' | '.join(tail)}")
    return run.peak_mb


def demo_open(tmp: Path, repeats: int, timeout: float) -> dict:
    peaks, procs = [], set()
    for i in range(repeats):
        shot = tmp / f"demo-{i}.png"
        run = run_measuring_rss(STUDIO + ["gui", "--demo", "--screenshot", str(shot)],
                                env=studio_env(tmp / f"gui-{i}"), timeout=timeout)
        peaks.append(_check(run, "studio gui --demo --screenshot"))
        procs.add(run.processes)
    out = spread(peaks, 1)
    out["processes"] = sorted(procs)
    return out


def training_image(tmp: Path, repeats: int, seconds: float, device: str, timeout: float) -> dict:
    data = tmp / "demo-images"
    env = studio_env(tmp / "train-env")
    imp = run_measuring_rss(STUDIO + ["import", "demo-images", "--out", str(data), "--quiet"], env=env, timeout=timeout)
    _check(imp, "studio import demo-images")
    peaks, procs, used, steps = [], set(), set(), []
    for i in range(repeats):
        run_dir = tmp / f"run-{i}"
        cmd = STUDIO + ["train", "--plugin", "vae", "--data", str(data), "--out", str(run_dir),
                        "--minutes", f"{seconds / 60:.6f}", "--device", device]
        run = run_measuring_rss(cmd, env=env, timeout=timeout + seconds)
        peaks.append(_check(run, "studio train --plugin vae"))
        procs.add(run.processes)
        info = json.loads((run_dir / "run.json").read_text())  # the device the trainer actually chose
        used.add(str(info.get("device", device)))
        steps.append(info.get("step"))
    out = spread(peaks, 1)
    out.update(seconds=seconds, device=",".join(sorted(used)), steps=steps, processes=sorted(procs),
               import_peak_mb=round(imp.peak_mb, 1))
    return out


def torch_baseline(tmp: Path, timeout: float) -> float:
    run = run_measuring_rss([sys.executable, "-c", "import torch"], env=studio_env(tmp / "torch"), timeout=timeout)
    return round(_check(run, "python -c 'import torch'"), 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5, help="measurements per figure (default 5)")
    ap.add_argument("--seconds", type=float, default=30.0, help="training time per measurement (default 30)")
    ap.add_argument("--only", choices=("demo", "training"), default=None, help="measure only one of the two")
    ap.add_argument("--timeout", type=float, default=300.0, help="give up on one launch after this many seconds")
    add_device_argument(ap)
    ap.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = ap.parse_args(argv)

    # `studio train --device auto` picks the best accelerator itself; cpu/cuda are passed as given.
    result: dict = {"repeats": args.repeats, "unit": "MiB"}
    with tempfile.TemporaryDirectory(prefix="studio-bench-memory-") as tmp_s:
        tmp = Path(tmp_s)
        result["baseline_torch_import_mb"] = torch_baseline(tmp, args.timeout)
        print(f"python -c 'import torch': {result['baseline_torch_import_mb']} MB", flush=True)
        if args.only in (None, "demo"):
            demo = demo_open(tmp, args.repeats, args.timeout)
            result.update(peak_rss_mb_demo_open=demo["median"], demo_open=demo)
            print(f"studio with the demo project open: median {demo['median']} MB "
                  f"(min {demo['min']}, max {demo['max']}, {demo['n']} launches)", flush=True)
        if args.only in (None, "training"):
            train = training_image(tmp, args.repeats, args.seconds, args.device, args.timeout)
            result.update(peak_rss_mb_training_image=train["median"], training_image=train, device=train["device"])
            print(f"studio train --plugin vae for {args.seconds:g} s on {train['device']}: median {train['median']} MB "
                  f"(min {train['min']}, max {train['max']}, {train['n']} runs)", flush=True)
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
