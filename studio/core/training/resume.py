"""Capturing the whole training state into a checkpoint, and continuing from the newest valid one.

Resuming restores model, optimizer moments, loss scaler, learning rate and
every RNG stream (torch, CUDA, data order, Python, NumPy), so with the same
seed a resumed run on CPU reproduces the losses an uninterrupted run would
have had. Newer checkpoints that fail to read (truncated, corrupt, not
safetensors) are skipped with a warning; nothing in them is executed.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from studio.core.training.checkpoints import (CheckpointError, list_checkpoints, read_checkpoint,
                                              save_checkpoint)
from studio.core.training.state import (MODEL, capture_rng, flatten_optimizers, model_tensors, restore_rng,
                                        strip_prefix, unflatten_optimizers)

log = logging.getLogger("studio.training")


def write_checkpoint(session, step: int, metrics: dict[str, float], active_seconds: float) -> Path:
    """Save the session's full state at ``step``; returns the ``.safetensors`` path."""
    from studio.core.plugins.api import config_to_dict

    s = session
    tensors = model_tensors(s.model)
    opt_tensors, opt_layout = flatten_optimizers(s.opt.state_dicts())
    rng_tensors, rng_meta = capture_rng(s.data_gen)
    tensors.update(opt_tensors)
    tensors.update(rng_tensors)
    sidecar: dict[str, Any] = {
        "plugin": {"id": s.plugin.id, "version": s.plugin.version},
        "run_id": s.run.data.get("id", ""),
        "config": config_to_dict(s.config), "engine": s.engine.to_dict(), "data_spec": s.data.spec.to_dict(),
        "seed": s.engine.seed, "metrics": {k: float(v) for k, v in metrics.items()},
        "optimizers": opt_layout, "scaler": s.precision.scaler.state_dict() if s.precision.scaler else None,
        "schedule": {"step": int(step), "base_lr": s.opt.base_lr, "lr_factor": s.opt.lr_factor},
        "rng": rng_meta, "world_size": s.dist.world_size, "device": s.device, "precision": s.precision.name,
        "active_seconds": float(active_seconds),
    }
    return save_checkpoint(s.run.checkpoints_dir, step, tensors, sidecar).path


def restore_latest(session, lr_given: bool) -> None:
    """Load the newest readable checkpoint into ``session`` (sets ``start_step``, ``resumed_from``)."""
    import torch

    s = session
    infos = list_checkpoints(s.run.path, include_invalid=True)
    if not infos:
        s.warnings.append("no checkpoint to resume from yet; starting this run again from step 0")
        return
    for info in reversed(infos):
        if not info.valid:
            s.warnings.append(f"skipping checkpoint {info.path.name}: {info.problem}")
            continue
        try:
            tensors, sidecar = read_checkpoint(info.path)
            _apply(s, tensors, sidecar, lr_given, torch)
        except (CheckpointError, RuntimeError, KeyError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            # a type-confused sidecar ("schedule": "x") is a damaged checkpoint, not a crash
            s.warnings.append(f"skipping checkpoint {info.path.name}: {exc}")
            continue
        s.start_step = int(sidecar["step"])
        s.resumed_from = info.path
        return
    s.warnings.append("no readable checkpoint to resume from; starting this run again from step 0")


def _apply(s, tensors: dict, sidecar: dict, lr_given: bool, torch) -> None:
    if sidecar.get("plugin", {}).get("id") != s.plugin.id:
        raise CheckpointError(f"written by plugin {sidecar.get('plugin', {}).get('id')!r}, not {s.plugin.id!r}")
    s.model.load_state_dict({k: v.to(s.device) for k, v in strip_prefix(tensors, MODEL).items()}, strict=True)
    layout = sidecar.get("optimizers", {})
    same_optimizer = sidecar.get("engine", {}).get("optimizer") == s.engine.optimizer
    if same_optimizer:
        s.opt.load_state_dicts(unflatten_optimizers(tensors, layout))
    else:
        s.warnings.append(f"optimizer changed to {s.engine.optimizer}; its state starts fresh")
    if s.precision.scaler is not None and sidecar.get("scaler"):
        s.precision.scaler.load_state_dict(sidecar["scaler"])
    sched = sidecar.get("schedule", {})
    if not lr_given and "base_lr" in sched:
        s.opt.set_lr(base_lr=float(sched["base_lr"]))
    restore_rng(tensors, sidecar.get("rng", {}), s.data_gen)
    if s.dist.world_size > 1:  # the checkpoint holds rank 0's data stream; each rank needs its own
        s.data_gen.manual_seed((s.engine.seed * 1_000_003 + s.dist.rank + 1 + 7919 * int(sidecar["step"]))
                               & 0xFFFF_FFFF_FFFF)
    s.active_seconds = float(sidecar.get("active_seconds", 0.0))
