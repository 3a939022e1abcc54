"""`studio export-onnx --run RUN_DIR --out FILE.onnx [--quantize int8] [--json]`.

Exports the run's generating modules (decoder / generator / denoiser / sequence
step) with a dynamic batch (and sequence where the plugin declares one), checks
each against torch at two batch sizes (fails beyond 1e-4), and records the
plugin, config, opset and provenance in the model's metadata. One module goes
to FILE.onnx; several to FILE-NAME.onnx. ``--quantize int8`` adds FILE.int8.onnx
files and reports their size, speed and error against fp32.
"""
from __future__ import annotations

import sys
from pathlib import Path

from studio.cli import CommandError, emit_json


def add_arguments(p) -> None:
    p.add_argument("--run", metavar="RUN_DIR", required=True, help="run folder (or a .safetensors checkpoint)")
    p.add_argument("--out", metavar="FILE.onnx", required=True, help="ONNX file to write")
    p.add_argument("--quantize", choices=("int8",), default=None,
                   help="also write an int8 (dynamic) quantised copy and compare it with fp32")
    p.add_argument("--checkpoint", default=None, help="latest (default), best, a step number or a checkpoint file")
    p.add_argument("--exporter", choices=("auto", "legacy", "dynamo"), default="auto",
                   help="torch exporter: auto tries the TorchScript one, then torch.export (default auto)")
    p.add_argument("--opset", type=int, default=18, help="ONNX opset (default 18)")
    p.add_argument("--overwrite", action="store_true", help="replace files that already exist")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    import torch

    from studio.core.export.generate import source_for_run
    from studio.core.export.naming import OverwriteError, check_target
    from studio.core.export.onnx_export import OnnxExportError, export_model
    from studio.core.export.provenance import today
    from studio.core.training.checkpoints import CheckpointError, load_model

    out = Path(args.out)
    if out.suffix.lower() != ".onnx":
        raise CommandError(f"{out}: the output file should end in .onnx", 2)
    try:
        model, plugin, info = load_model(args.run, checkpoint=args.checkpoint, device="cpu")
    except CheckpointError as exc:
        raise CommandError(str(exc), 2) from exc
    if "onnx" not in plugin.capabilities or not hasattr(model, "onnx_exports"):
        raise CommandError(f"plugin {plugin.id} does not offer ONNX export", 2)
    src = source_for_run(args.run, info)
    provenance = {"format": "studio-model-provenance/1", "plugin": {"id": plugin.id, "version": plugin.version},
                  "run": {"id": src.run_id, "path": src.run_path},
                  "checkpoint": {"sha256": src.checkpoint_sha256, "step": src.checkpoint_step,
                                 "path": src.checkpoint_path},
                  "created": today()}
    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    try:
        results = export_model(model, out, plugin=plugin, provenance=provenance, exporter=args.exporter,
                               opset=args.opset, overwrite=args.overwrite)
        quant = []
        if args.quantize == "int8":
            from studio.core.export.quantize import compare, feeds_for, quantize_int8
            high = int(getattr(getattr(model, "spec", None), "vocab_size", 0) or 2)
            for r in results:
                q = check_target(Path(r.path).with_suffix(".int8.onnx"), args.overwrite)
                quantize_int8(r.path, q)
                quant.append(compare(r.path, q, feeds_for(r.path, batch=8, int_high=high), repeats=5).to_dict())
    except OverwriteError as exc:
        raise CommandError(str(exc), 3) from exc
    except OnnxExportError as exc:
        raise CommandError(str(exc), 1) from exc
    doc = {"plugin": plugin.id, "run": src.run_id, "checkpoint": src.checkpoint_path, "step": src.checkpoint_step,
           "exports": [r.to_dict() for r in results], "quantized": quant}
    if args.json:
        emit_json(doc)
        return 0
    for r in results:
        sys.stdout.write(f"{r.path}: {r.name} via {r.exporter} exporter, opset {r.opset}, {r.size_bytes / 1e6:.2f} MB, "
                         f"max error vs torch {r.max_error:.2g} over {len(r.checks)} shape checks\n")
    for q in quant:
        sys.stdout.write(f"{q['int8_path']}: int8 {q['int8_bytes'] / 1e6:.2f} MB ({q['size_ratio']:.0%} of fp32), "
                         f"{q['speedup']:.2f}x fp32 speed, max error {q['max_abs_error']:.3g}\n")
    return 0
