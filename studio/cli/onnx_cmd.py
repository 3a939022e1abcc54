"""`studio export-onnx --run RUN_DIR --out FILE.onnx [--quantize int8] [--json]`.

Exports the run's generating modules (decoder / generator / denoiser / sequence
step) with a dynamic batch (and sequence where the plugin declares one), checks
each against torch at two batch sizes (fails beyond 1e-4), and records the
plugin, config, opset and provenance in the model's metadata. One module goes
to FILE.onnx; several to FILE-NAME.onnx.

``--quantize int8`` writes the int8 model to those same paths (static QDQ
quantisation calibrated on the run's own data, see
``studio.core.export.onnx_quantize``), keeps the verified fp32 model beside
each as FILE.fp32.onnx, and reports size, speed and output error against fp32
and the batch sizes checked. (Earlier versions wrote fp32 to FILE.onnx and int8 to FILE.int8.onnx.)
"""
from __future__ import annotations

import sys
from pathlib import Path

from studio.cli import CommandError, emit_json


def add_arguments(p) -> None:
    p.add_argument("--run", metavar="RUN_DIR", required=True, help="run folder (or a .safetensors checkpoint)")
    p.add_argument("--out", metavar="FILE.onnx", required=True, help="ONNX file to write")
    p.add_argument("--quantize", choices=("int8",), default=None,
                   help="write an int8 model (static, calibrated on the run's data) to --out, the fp32 one "
                        "beside it as FILE.fp32.onnx, and compare the two")
    p.add_argument("--checkpoint", default=None, help="latest (default), best, a step number or a checkpoint file")
    p.add_argument("--exporter", choices=("auto", "legacy", "dynamo"), default="auto",
                   help="torch exporter: auto tries the TorchScript one, then torch.export (default auto)")
    p.add_argument("--opset", type=int, default=18, help="ONNX opset (default 18)")
    p.add_argument("--overwrite", action="store_true", help="replace files that already exist")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    import torch

    from studio.core.export.naming import OverwriteError
    from studio.core.export.onnx_export import OnnxExportError, export_model
    from studio.core.export.provenance import today
    from studio.core.session import open_run
    from studio.core.training.checkpoints import CheckpointError

    out = Path(args.out)
    if out.suffix.lower() != ".onnx":
        raise CommandError(f"{out}: the output file should end in .onnx", 2)
    try:
        session = open_run(args.run, checkpoint=args.checkpoint, device="cpu")
    except CheckpointError as exc:
        raise CommandError(str(exc), 2) from exc
    model, plugin, src = session.model, session.plugin, session.origin
    if not session.declares("onnx") or not hasattr(model, "onnx_exports"):
        raise CommandError(f"plugin {plugin.id} does not offer ONNX export", 2)
    provenance = {"format": "studio-model-provenance/1", "plugin": {"id": plugin.id, "version": plugin.version},
                  "run": {"id": src.run_id, "path": src.run_dir},
                  "checkpoint": {"sha256": src.checkpoint_sha256, "step": src.checkpoint_step,
                                 "path": src.checkpoint_path},
                  "created": today()}
    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    try:
        quant = []
        if args.quantize == "int8":
            from studio.core.export.onnx_quantize import export_int8
            results, reports = export_int8(model, out, plugin=plugin, provenance=provenance,
                                           run_data=run_data(src), exporter=args.exporter, opset=args.opset,
                                           overwrite=args.overwrite)
            quant = [q.to_dict() for q in reports]
        else:
            results = export_model(model, out, plugin=plugin, provenance=provenance, exporter=args.exporter,
                                   opset=args.opset, overwrite=args.overwrite)
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
        sys.stdout.write(_int8_line(q))
    return 0


def run_data(run):
    """The dataset a run's ``run.json`` names, loaded for calibration, or None with the reason in words.
    ``run``: an open session's ``RunOrigin`` (which has read run.json already) or a run folder."""
    from studio.core.datasets.training_data import DatasetError, load_dataset
    from studio.core.export.onnx_calibration import RunData
    from studio.core.training.run_folder import RunFolderError, read_run

    if hasattr(run, "run_dir"):
        folder, dataset = Path(run.run_dir), run.dataset
    else:
        folder = Path(run)
        folder = folder.parent.parent if folder.is_file() else folder  # RUN/checkpoints/step-N.safetensors
        try:
            dataset = read_run(folder).get("dataset")
        except (RunFolderError, AttributeError) as exc:
            return RunData(None, f"run.json unreadable ({exc})")
    raw = str(dataset.get("path") or "") if isinstance(dataset, dict) else ""
    if not raw:
        return RunData(None, f"{folder.name}: run.json names no dataset")
    path = Path(raw) if Path(raw).is_absolute() else folder / raw
    try:
        return RunData(load_dataset(path), f"dataset {path}")
    except (DatasetError, OSError, ValueError) as exc:
        return RunData(None, f"dataset not usable ({exc})")


def _int8_line(q: dict) -> str:
    kind = "static QDQ, per-channel weights" if q["method"].startswith("static") else "dynamic"
    psnr = f", PSNR {q['psnr_db']:.1f} dB" if q.get("psnr_db") is not None else ""
    if q.get("top1_agreement") is not None:
        psnr += f", same most likely token {q['top1_agreement']:.0%}"
    floats = ", ".join(q["float_ops"]) or "none"
    lines = [f"{q['int8_path']}: int8 ({kind}) {q['int8_bytes'] / 1e6:.2f} MB = {q['size_ratio']:.0%} of fp32 "
             f"({q['fp32_bytes'] / 1e6:.2f} MB), {q['speedup']:.2f}x fp32 speed at batch {q['timing_batch']} "
             f"({q['int8_ms']:.1f} vs {q['fp32_ms']:.1f} ms)",
             f"  vs fp32: max abs error {q['max_abs_error']:.3g}, mean {q['mean_abs_error']:.3g}{psnr}; "
             f"runs at batch {', '.join(str(b) for b in q['batches_checked'])}; ops left in float: {floats}",
             f"  calibration: {q['calibration']['source']}"]
    lines += [f"  note: {n}" for n in q["notes"] + q["calibration"].get("notes", [])]
    return "\n".join(lines) + "\n"
