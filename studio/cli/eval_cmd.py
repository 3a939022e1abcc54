"""`studio eval --run RUN_DIR [--data DATASET_DIR] [--json]`: held-out figures in the model's natural unit.

Loads the run's newest valid checkpoint (or ``--checkpoint best|STEP|FILE``) and
calls ``model.evaluate`` on the dataset's validation split (bits per character,
nats per image, ... whatever the plugin reports).
"""
from __future__ import annotations

import sys
from pathlib import Path

from studio.cli import CommandError, emit_json
from studio.cli.arg_checks import positive_int


def add_arguments(p) -> None:
    p.add_argument("--run", metavar="RUN_DIR", required=True, help="run folder (or a .safetensors checkpoint)")
    p.add_argument("--data", metavar="DATASET_DIR", help="dataset folder (default: the one the run trained on)")
    p.add_argument("--checkpoint", default=None, help="latest (default), best, a step number or a checkpoint file")
    p.add_argument("--split", default="val", choices=("val", "train"), help="which split to score (default val)")
    p.add_argument("--batch-size", type=positive_int("--batch-size", 1 << 16), default=64,
                   help="examples per evaluation batch (default 64)")
    p.add_argument("--max-batches", type=positive_int("--max-batches"), default=None,
                   help="stop after this many batches")
    p.add_argument("--device", default="cpu", help="cpu (default), auto, cuda, ...")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    from studio.core.datasets import DatasetError, load_dataset
    from studio.core.devices import DeviceUnavailable
    from studio.core.session import open_run
    from studio.core.training.checkpoints import CheckpointError
    from studio.core.training.run_folder import RunFolderError

    try:
        session = open_run(args.run, checkpoint=args.checkpoint, device=args.device)
    except (CheckpointError, RunFolderError, DeviceUnavailable) as exc:
        raise CommandError(str(exc), 2) from exc
    except ValueError as exc:  # a device name open_run does not know
        raise CommandError(f"--device: {exc}", 2) from exc
    model, plugin, origin, device = session.model, session.plugin, session.origin, session.device
    data_dir = args.data or (origin.dataset or {}).get("path") or None
    if not data_dir:
        raise CommandError("--data is required (the run does not record its dataset folder)", 2)
    try:
        data = load_dataset(data_dir)
    except (DatasetError, RunFolderError) as exc:
        raise CommandError(str(exc), 2) from exc
    if data.spec.modality != plugin.modality:
        raise CommandError(f"{data_dir} holds {data.spec.modality} data but the run's plugin {plugin.id} "
                           f"models {plugin.modality}", 2)
    # A dataset imported on its own numbers its own characters/pitches: score it through the
    # model's tables (unknown characters left out and counted), never with the ids as they are.
    from studio.core.datasets.fit_to_model import FitReport, fit_to_model

    fit = FitReport()
    if origin.spec_known:
        try:
            data, fit = fit_to_model(data, origin.data_spec)
        except (DatasetError, TypeError) as exc:
            raise CommandError(f"{data_dir} cannot be scored by this model: {exc}", 2) from exc
    if data.size(args.split) == 0:
        raise CommandError(f"{data_dir}: the {args.split} split is empty", 2)
    batches = data.iter_batches(args.split, args.batch_size, seq_len=getattr(model, "sequence_length", None),
                                max_batches=args.max_batches)
    import torch
    with torch.no_grad():
        figures = model.evaluate(b.to(device) for b in batches)
    figures = {k: float(v) for k, v in figures.items()}
    result = {"run": str(args.run), "plugin": plugin.id, "checkpoint": origin.checkpoint_path,
              "step": origin.checkpoint_step,
              "dataset": str(data_dir), "split": args.split, "metrics": figures, "mapping": fit.to_dict()}
    # is the model copying its training items? (images and melodies; issue 20)
    from studio.core.originality import eval_figures
    originality = eval_figures(model, data)
    if originality is not None:
        result["originality"] = originality
    if args.json:
        emit_json(result)
        return 0
    if fit.mapped:
        print(f"note: {fit.describe()}", file=sys.stderr)
    print(f"{plugin.id} at step {origin.checkpoint_step} ({Path(origin.checkpoint_path).name}) "
          f"on the {args.split} split of {data_dir}:")
    width = max((len(k) for k in figures), default=0)
    for k, v in figures.items():
        print(f"  {k:<{width}}  {v:.6g}")
    if not figures:
        print("  (the plugin reported no figures)", file=sys.stderr)
    for k, v in (originality or {}).items():  # nearest_training_similarity, copy_rate, ...
        print(f"  {k}  {v:.4g}" if isinstance(v, float) else f"  {k}  {v}")
    return 0
