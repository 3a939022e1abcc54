"""`studio runs export RUN --format csv|tensorboard [--out PATH] [--overwrite] [--json]`; `studio runs cancel RUN`.

A run's metrics for other tools: a wide CSV (one row per step, one column per metric) or TensorBoard
event files (``tensorboard --logdir PATH``). The run folder is only read.
"""
from __future__ import annotations

from pathlib import Path


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="runs_action", metavar="ACTION", required=True)
    ex = sub.add_parser("export", help="write a run's metrics as a wide CSV or TensorBoard event files",
                        description="Write a run's metrics as a wide CSV (step, time, one column per metric) "
                                    "or as TensorBoard event files.")
    ex.add_argument("run", metavar="RUN", help="run folder")
    ex.add_argument("--format", choices=("csv", "tensorboard"), default="csv", help="default csv")
    ex.add_argument("--out", metavar="PATH",
                    help="CSV file, or folder for the event files (default: RUN-NAME-metrics.csv or "
                         "tensorboard/RUN-NAME in the current folder)")
    ex.add_argument("--overwrite", action="store_true",
                    help="replace an existing CSV, or the event files an earlier export left in the folder")
    ex.add_argument("--json", action="store_true", help="machine-readable output")
    ca = sub.add_parser("cancel", help="cancel the job of a run handed off with `studio train --submit`",
                        description="Cancel a submitted run's job (Slurm or local): a queued job never starts; "
                                    "a running trainer stops cleanly with a checkpoint.")
    ca.add_argument("run", metavar="RUN", help="run folder")


def run(args) -> int:
    from studio.cli import CommandError, emit_json
    from studio.core.training import metrics_export as mx
    from studio.core.training.run_folder import RunFolderError

    run_dir = Path(args.run)
    if args.runs_action == "cancel":  # studio train --submit (core/training/submit.py)
        from studio.core.training.submit import cancel
        try:
            print(cancel(run_dir))
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from None
        return 0
    try:
        metrics, run = mx.load(run_dir)
    except RunFolderError as exc:
        raise CommandError(str(exc)) from None
    name = run_dir.resolve().name
    if args.format == "csv":
        out = Path(args.out) if args.out else Path(f"{name}-metrics.csv")
        if out.is_dir():
            out = out / f"{name}-metrics.csv"
        if out.exists() and not args.overwrite:
            raise CommandError(f"{out} exists; pass --overwrite to replace it")
        mx.write_wide_csv(metrics, out)
        written = [out]
    else:
        if not mx.tensorboard_available():
            raise CommandError(mx.TB_HINT)
        out = Path(args.out) if args.out else Path("tensorboard") / name
        old = sorted(out.glob("events.out.tfevents.*")) if out.is_dir() else []
        if old and not args.overwrite:
            raise CommandError(f"{out} already holds TensorBoard event files ({old[0].name}); "
                               f"pass --overwrite to replace them, or choose another --out")
        for f in old:  # only the event files an earlier export wrote; nothing else in the folder
            f.unlink()
        written = mx.write_tensorboard(metrics, run, out)
    info = {"run": str(run_dir), "format": args.format, "out": str(out), "files": [str(p) for p in written],
            "metrics": metrics.names, "steps": len(metrics.steps)}
    if args.json:
        emit_json(info)
    else:
        print(f"{len(metrics.steps)} steps × {len(metrics.names)} metrics ({', '.join(metrics.names) or 'none'}) "
              f"→ {out}" + ("  (tensorboard --logdir " + str(out) + ")" if args.format == "tensorboard" else ""))
    return 0
