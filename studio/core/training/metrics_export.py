"""A run's metrics in the formats other tools read: a wide CSV and TensorBoard event files.

``metrics.sqlite`` stays the studio's own store; these are copies for spreadsheets, pandas and
TensorBoard (``tensorboard --logdir``), written by ``studio runs export``. Wide CSV: one row per step,
one column per metric (blank where a metric was not logged at that step), plus the wall-clock time.
TensorBoard files are written by torch's ``SummaryWriter`` (TensorBoard's own format, maintained with
torch; it needs the ``tensorboard`` package, the ``tensorboard`` extra). No Qt here.
"""
from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.training.metrics import MetricsReader
from studio.core.training.run_folder import RunFolderError, read_run

TB_HINT = "TensorBoard export needs the tensorboard package: pip install 'generative-studio[tensorboard]'"


@dataclass
class RunMetrics:
    """Every stored metric row of a run, by step (the last value wins when a step was logged twice)."""
    run_dir: Path
    names: list[str] = field(default_factory=list)
    steps: dict[int, dict[str, float]] = field(default_factory=dict)
    times: dict[int, float] = field(default_factory=dict)     # step -> wall-clock time of its last row


def load(run_dir: str | Path) -> tuple[RunMetrics, dict]:
    """The run's metrics and its ``run.json``; ``RunFolderError`` naming the folder when it is not a run
    or its store cannot be read."""
    run_dir = Path(run_dir)
    run = read_run(run_dir)
    out = RunMetrics(run_dir)
    reader = MetricsReader(run_dir)
    try:
        while True:
            rows = reader.poll(max_rows=100_000).rows
            if not rows:
                break
            for step, when, name, value in rows:
                step = int(step)
                out.steps.setdefault(step, {})[str(name)] = float("nan") if value is None else float(value)
                if when is not None:
                    out.times[step] = float(when)
    finally:
        reader.close()
    if reader.problem:
        raise RunFolderError(reader.problem)
    out.names = sorted({n for values in out.steps.values() for n in values})
    return out, run


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return repr(value) if math.isfinite(value) else str(value)  # nan / inf spelled as pandas reads them


def write_wide_csv(metrics: RunMetrics, path: str | Path) -> Path:
    """``step,time,<metric>…``: one row per step. Written next to ``path`` and moved into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".csv", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["step", "time", *metrics.names])
            for step in sorted(metrics.steps):
                values = metrics.steps[step]
                w.writerow([step, _fmt(metrics.times.get(step)), *(_fmt(values.get(n)) for n in metrics.names)])
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def tensorboard_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def write_tensorboard(metrics: RunMetrics, run: dict, folder: str | Path) -> list[Path]:
    """Scalars (tag = metric name, the studio's step and wall-clock time) and the run's description as
    text, into event files in ``folder`` (``tensorboard --logdir`` it or its parent)."""
    if not tensorboard_available():
        raise RunFolderError(TB_HINT)
    from torch.utils.tensorboard import SummaryWriter

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    before = set(folder.glob("events.out.tfevents.*"))
    writer = SummaryWriter(log_dir=str(folder))
    try:
        first = min(metrics.times.values(), default=None)
        for step in sorted(metrics.steps):
            when = metrics.times.get(step, first)
            for name, value in metrics.steps[step].items():
                writer.add_scalar(name, value, step, walltime=when)
        about = {k: run.get(k) for k in ("id", "plugin", "dataset", "config", "status", "step") if k in run}
        writer.add_text("run", "```\n" + json.dumps(about, indent=2, default=str) + "\n```", 0, walltime=first)
    finally:
        writer.close()
    return sorted(set(folder.glob("events.out.tfevents.*")) - before)
