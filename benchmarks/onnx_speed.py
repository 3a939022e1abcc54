"""Generation latency: torch eager vs onnxruntime fp32 and int8, per plugin, at batch 1 and 64, in one run.

For each built-in plugin (or the runs given with ``--run``) every ONNX export
module is exported (and verified against torch), quantised to int8 as
``studio export-onnx --quantize int8`` does (static QDQ calibrated on the
model's prior / the run's dataset; dynamic for LSTM modules), and timed with
the same inputs and the same number of threads on both sides. Prints a table
and the speed-up of onnxruntime over torch; the target is >= 1.5x for the
image decoders at batch 64 on this CPU. The int8 columns: its size against
fp32 (target <= 0.40), its speed against fp32 in the same run, and its PSNR
against fp32 for images.

Without ``--run`` the models are freshly initialised with default settings on
a synthetic data spec (latency does not depend on the weights' values).

    python benchmarks/onnx_speed.py --seconds 10            # full run (the lead's quiet machine)
    python benchmarks/onnx_speed.py --seconds 0.5 --plugins vae   # quick check
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

IMAGE_DECODERS = {"vae", "dcgan", "ddpm"}


def synthetic_spec(modality: str, image_size: int, channels: int):
    from studio.core.plugins.api import DataSpec

    if modality == "image":
        return DataSpec(modality="image", image_size=image_size, channels=channels)
    if modality == "melody":
        return DataSpec(modality="melody", phrase_length=64, min_pitch=36, max_pitch=96)
    text = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"
    vocab = sorted(set(text.read_text(encoding="utf-8"))) if text.exists() else [chr(c) for c in range(32, 127)] + ["\n"]
    return DataSpec(modality="text", vocab=vocab)


def timed(fn, seconds: float, min_reps: int = 3) -> float:
    """Median milliseconds per call, repeating for about ``seconds`` (after one warm-up)."""
    fn()
    times, start = [], time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
        if len(times) >= 10_000:
            break
    return statistics.median(times)


def models(args):
    """(label, model, plugin) for each ``--run`` or each registered plugin."""
    import torch

    if args.run:
        from studio.core.training.checkpoints import load_model
        for run in args.run:
            model, plugin, _ = load_model(run, device="cpu")
            yield f"{plugin.id} ({Path(run).name})", model, plugin
        return
    from studio.core.plugins.api import config_from_dict
    from studio.core.plugins.registry import discover
    for entry in discover().values():
        plugin = entry.plugin
        if not entry.ok or plugin is None:
            print(f"# {entry.id if hasattr(entry, 'id') else '?'}: plugin broken, skipped", file=sys.stderr)
            continue
        if args.plugins and plugin.id not in args.plugins:
            continue
        if "onnx" not in plugin.capabilities:
            print(f"# {plugin.id}: no onnx capability, skipped", file=sys.stderr)
            continue
        torch.manual_seed(0)
        model = plugin.build(config_from_dict(plugin.Config, {}), synthetic_spec(plugin.modality, args.image_size,
                                                                                  args.channels)).eval()
        yield plugin.id, model, plugin


def bench_module(spec, folder: Path, args, model=None, run=None) -> list[dict]:
    import torch

    from studio.core.export.onnx_export import usable_inputs
    from studio.core.export.onnx_quantize import export_fp32, quantize_module
    from studio.core.export.sessions import create_session

    fp32 = folder / f"{spec.name}.fp32.onnx"
    # as `export-onnx --quantize int8` writes it: a sampler (DDPM) as an ONNX Loop, both fp32 and int8
    res = export_fp32(spec, fp32, exporter=args.exporter)
    int8 = folder / f"{spec.name}.onnx"
    report = quantize_module(model, spec, fp32, int8, run, repeats=3, intra_threads=args.threads)
    s32 = create_session(fp32, intra_threads=args.threads)
    s8 = create_session(int8, intra_threads=args.threads)
    batch_axes = {n for axes in spec.dynamic_axes.values() for n in axes.values() if "batch" in n.lower()}
    rows = []
    for batch in args.batch:
        sizes = {a: batch for a in batch_axes}
        inputs, _ = usable_inputs(spec, sizes, seed=1)
        feeds = {n: t.numpy() for n, t in zip(spec.input_names, inputs)}

        def run_torch():
            with torch.no_grad():
                spec.module(*inputs)
        t_ms = timed(run_torch, args.seconds)
        f_ms = timed(lambda: s32.run(None, feeds), args.seconds)
        q_ms = timed(lambda: s8.run(None, feeds), args.seconds)
        rows.append({"module": spec.name, "exporter": res.exporter, "batch": batch, "torch_ms": t_ms,
                     "ort_fp32_ms": f_ms, "ort_int8_ms": q_ms, "fp32_speedup": t_ms / f_ms,
                     "int8_speedup": t_ms / q_ms, "int8_vs_fp32": f_ms / q_ms, "fp32_mb": fp32.stat().st_size / 1e6,
                     "int8_mb": int8.stat().st_size / 1e6, "int8_size_ratio": report.size_ratio,
                     "int8_method": report.method, "int8_psnr_db": report.psnr_db,
                     "int8_max_abs_error": report.max_abs_error})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="time per measurement (default 5)")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 64], help="batch sizes (default 1 64)")
    ap.add_argument("--plugins", nargs="*", default=None, help="only these plugin ids")
    ap.add_argument("--run", nargs="*", default=None, help="benchmark these run folders instead")
    ap.add_argument("--threads", type=int, default=None, help="threads for torch and onnxruntime (default: the "
                                                              "studio's session setting)")
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--exporter", default="auto", choices=("auto", "legacy", "dynamo"))
    ap.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = ap.parse_args(argv)

    import torch

    from studio.core.export.sessions import default_intra_threads
    args.threads = args.threads or default_intra_threads()
    torch.set_num_threads(args.threads)  # same thread budget on both sides
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (label, model, plugin) in enumerate(models(args)):
            from studio.cli.onnx_cmd import run_data  # the run's dataset, for the int8 calibration
            run = run_data(args.run[n]) if args.run else None
            for i, spec in enumerate(model.onnx_exports()):
                folder = Path(tmp) / f"{plugin.id}-{n}-{i}"
                folder.mkdir()
                try:
                    rows = bench_module(spec, folder, args, model, run)
                except Exception as exc:  # report and go on with the other plugins
                    print(f"# {label}/{spec.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    continue
                for r in rows:
                    r["plugin"] = label
                    results.append(r)
    print(f"threads={args.threads} torch={torch.__version__}")
    head = f"{'plugin':<14}{'module':<26}{'export':>7}{'batch':>6}{'torch ms':>10}{'ort fp32':>10}{'ort int8':>10}" \
           f"{'fp32 x':>8}{'int8 x':>8}{'MB fp32/int8':>14}{'int8 size':>10}{'int8/fp32 x':>12}{'PSNR':>7}  int8"
    print(head)
    for r in results:
        psnr = f"{r['int8_psnr_db']:>7.1f}" if r["int8_psnr_db"] is not None else f"{'-':>7}"
        print(f"{r['plugin']:<14}{r['module']:<26}{r['exporter']:>7}{r['batch']:>6}{r['torch_ms']:>10.2f}{r['ort_fp32_ms']:>10.2f}"
              f"{r['ort_int8_ms']:>10.2f}{r['fp32_speedup']:>8.2f}{r['int8_speedup']:>8.2f}"
              f"{r['fp32_mb']:>7.2f}/{r['int8_mb']:.2f}{r['int8_size_ratio']:>10.0%}{r['int8_vs_fp32']:>12.2f}{psnr}"
              f"  {r['int8_method']}")
    targets = [r for r in results if r["plugin"].split()[0] in IMAGE_DECODERS and r["batch"] == 64]
    ok = all(max(r["fp32_speedup"], r["int8_speedup"]) >= 1.5 for r in targets)
    if targets:
        print(f"target (image decoders, batch 64, onnxruntime >= 1.5x torch): {'met' if ok else 'NOT met'}")
    small = all(r["int8_size_ratio"] <= 0.40 for r in targets)
    if targets:
        print(f"target (image decoders, int8 <= 40% of fp32): {'met' if small else 'NOT met'}")
    if args.json:
        print(json.dumps({"threads": args.threads, "results": results, "image_target_met": ok if targets else None,
                          "int8_size_target_met": small if targets else None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
