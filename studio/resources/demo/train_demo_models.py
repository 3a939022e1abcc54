"""Retrain the small demo models that ship in ``studio/resources/demo/runs/`` (``make demo-models``).

    python studio/resources/demo/train_demo_models.py             # all four, about 3 hours on one CPU core
    python studio/resources/demo/train_demo_models.py --only shapes-vae --scale 0.1   # a quick check

Each model is trained by the studio's own engine on the studio's own demo data
(``studio.core.datasets.import_demo``: procedurally drawn shapes, Essen folk
songs from music21's corpus, tiny-shakespeare), so the shipped weights are
reproducible from this script alone. The run folders are then slimmed for
shipping: only the final checkpoint is kept and its optimizer moments are
dropped (``load_model`` needs the model tensors only; resuming such a run
starts the optimizer afresh), and only the last preview sample stays.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
if str(ROOT) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(ROOT))


@dataclass
class DemoModel:
    name: str          # run folder name under studio/resources/demo/runs/
    label: str         # what the project shows
    plugin: str
    modality: str      # demo source: image | melody | text
    steps: int
    settings: dict = field(default_factory=dict)
    import_options: dict = field(default_factory=dict)
    #: what the demo project imports for the user to train on (default: import_options); smaller
    #: where the full training set would keep a new user's machine busy for minutes
    project_import_options: dict | None = None
    opens_in: tuple[str, ...] = ()   # panels that open this run first ("latent", "melody", "text")


# Trained long enough to be worth playing with (tens of minutes each on one CPU core, see README.md);
# the checkpoints stay a few MB each.
MODELS = [
    DemoModel("shapes-vae", "Demo shapes (image VAE, 64 px)", "vae", "image", 10000,
              {"latent_size": 32, "width": 32, "recon_loss": "laplace", "kl_warmup_steps": 2000,
               "prior_components": 24, "lr": 1e-3, "batch_size": 32, "schedule": "cosine"},
              {"n": 2048, "size": 64, "channels": 3}, opens_in=("latent",)),
    DemoModel("folk-melody-vae", "Demo folk melodies (melody VAE, whole Essen collection)", "melody-vae", "melody",
              4000,
              {"bars": 4, "latent_dim": 32, "enc_hidden": 128, "dec_hidden": 192, "dec_layers": 2, "embed": 32,
               "beta_warmup": 1500, "free_bits": 8.0, "transpose": 3, "lr": 2e-3, "batch_size": 64,
               "schedule": "cosine"},
              {"n": 0, "phrase_bars": 4}, {"n": 240, "phrase_bars": 4}),
    DemoModel("folk-melody-rnn", "Demo folk melodies (melody RNN, continues a primer)", "melody-rnn", "melody", 3000,
              {"layers": 2, "hidden": 192, "embed": 32, "dropout": 0.2, "transpose": 3, "lr": 2e-3,
               "batch_size": 64, "schedule": "cosine"},
              {"n": 0, "phrase_bars": 4}, {"n": 240, "phrase_bars": 4}, opens_in=("melody",)),
    DemoModel("shakespeare-gpt", "Demo text: Shakespeare (tiny GPT)", "tiny-gpt", "text", 3000,
              {"layers": 4, "heads": 4, "width": 128, "context": 128, "dropout": 0.1, "optimizer": "adamw",
               "lr": 3e-3, "warmup_steps": 200, "schedule": "cosine", "weight_decay": 0.1, "grad_clip": 1.0,
               "batch_size": 32}, opens_in=("text",)),
]

#: Engine settings shared by every demo run: one checkpoint at the end, no mid-run saving.
COMMON = {"checkpoint_every": 0, "checkpoint_minutes": 0.0, "keep_last": 1, "val_every": 250, "val_batches": 2,
          "seed": 0}


def slim_run(run_dir: Path) -> None:
    """Keep what a demo needs: run.json, metrics, the last checkpoint without optimizer tensors, the last preview."""
    from studio.core.fileio import atomic_write_json, read_json
    from studio.core.training.checkpoints import list_checkpoints, read_checkpoint, save_checkpoint

    ckpts = list_checkpoints(run_dir)
    if not ckpts:
        raise SystemExit(f"{run_dir}: training wrote no checkpoint")
    last = ckpts[-1]
    tensors, sidecar = read_checkpoint(last.path)
    keep = {k: v for k, v in tensors.items() if not k.startswith("optim.")}
    # The layout stays (param groups, no per-parameter state): a resumed demo run starts fresh Adam moments.
    sidecar["optimizers"] = {g: {"param_groups": info.get("param_groups", []), "state": {}}
                             for g, info in (sidecar.get("optimizers") or {}).items()}
    for key in ("format", "step", "created", "file"):
        sidecar.pop(key, None)
    for info in ckpts:
        info.path.unlink()
        info.sidecar_path.unlink()
    save_checkpoint(run_dir / "checkpoints", last.step, keep, sidecar)
    samples = sorted((run_dir / "samples").glob("step-*")) if (run_dir / "samples").is_dir() else []
    newest = max((p.stem for p in samples), default=None)
    for p in samples:
        if p.stem != newest:
            p.unlink()
    for p in run_dir.iterdir():  # stray control files and WAL leftovers
        if p.name in ("control.json",) or p.name.endswith(("-wal", "-shm")):
            p.unlink()
    run = read_json(run_dir / "run.json")
    # Machine-specific fields make no sense in a shipped run; the project points the dataset at its own copy.
    run.update({"pid": None, "host": "", "dataset": {"path": "", "fingerprint": run.get("dataset", {}).get("fingerprint", "")}})
    atomic_write_json(run_dir / "run.json", run)


def train_one(m: DemoModel, work: Path, out_root: Path, scale: float, threads: int) -> dict:
    from studio.core.datasets import import_demo
    from studio.core.training.engine import train

    t0 = time.monotonic()
    data_dir = work / f"data-{m.modality}"
    if not (data_dir / "manifest.json").exists():
        import_demo(m.modality, data_dir, **m.import_options)
    t_import = time.monotonic() - t0
    steps = max(10, int(m.steps * scale))
    tmp_run = work / f"run-{m.name}"
    shutil.rmtree(tmp_run, ignore_errors=True)
    settings = {**COMMON, "threads": threads, "sample_every": steps, **m.settings}
    result = train(m.plugin, data_dir, tmp_run, steps=steps, device="cpu", settings=settings)
    if result.status != "done":
        raise SystemExit(f"{m.name}: training {result.status}: {result.reason}")
    t_train = time.monotonic() - t0 - t_import
    slim_run(tmp_run)
    dest = out_root / m.name
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(tmp_run, dest)
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    return {"name": m.name, "plugin": m.plugin, "steps": steps, "import_s": round(t_import, 1),
            "train_s": round(t_train, 1), "bytes": size, "metrics": result.metrics}


def write_index(out_root: Path, rows: list[dict]) -> None:
    """``runs/index.json``: labels and figures for ``studio.core.demo`` and the curious reader."""
    from studio.core.fileio import atomic_write_json

    index_path = out_root / "index.json"
    old = json.loads(index_path.read_text()) if index_path.exists() else {"runs": []}
    by_name = {r["name"]: r for r in old.get("runs", [])}
    for m in MODELS:
        row = next((r for r in rows if r["name"] == m.name), None)
        if row is not None:
            by_name[m.name] = {"name": m.name, "label": m.label, "plugin": m.plugin, "modality": m.modality,
                               "steps": row["steps"], "train_seconds": row["train_s"], "bytes": row["bytes"],
                               "import_options": m.import_options,
                               "project_import_options": m.project_import_options or m.import_options,
                               "opens_in": list(m.opens_in)}
    atomic_write_json(index_path, {"format": "studio-demo-runs/1",
                                   "runs": [by_name[m.name] for m in MODELS if m.name in by_name]})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", choices=[m.name for m in MODELS],
                    help="train just this demo model (repeatable)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every step count (0.1 for a quick check)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: run two --only jobs side by side)")
    ap.add_argument("--out", type=Path, default=HERE / "runs", help="where the run folders go")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder for datasets (default: a temp dir)")
    args = ap.parse_args(argv)

    import torch
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = [m for m in MODELS if not args.only or m.name in args.only]
    work = args.work or Path(tempfile.mkdtemp(prefix="studio-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    rows, t0 = [], time.monotonic()
    try:
        for m in chosen:
            print(f"== {m.name}: {m.plugin} on the demo {m.modality} data", flush=True)
            row = train_one(m, work, args.out, args.scale, args.threads)
            rows.append(row)
            figures = ", ".join(f"{k} {v:.4g}" for k, v in row["metrics"].items())
            print(f"   {row['steps']} steps, import {row['import_s']} s, training {row['train_s']} s, "
                  f"{row['bytes'] / 1e6:.2f} MB; {figures}", flush=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    write_index(args.out, rows)
    total = sum(r["bytes"] for r in rows)
    print(f"done in {time.monotonic() - t0:.0f} s; {total / 1e6:.2f} MB in {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
