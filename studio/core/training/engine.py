"""The training engine: one code path for the window (via a child process), ``studio train`` and torchrun.

    result = train("vae", "datasets/faces", "runs/faces-vae", steps=2000, settings={"lr": 1e-3})

Set-up (this module): plugin, data, run folder (refusing one that holds
another run unless resuming), settings, device, threads, seeds, precision,
optimizers, resume from the newest valid checkpoint. The loop itself lives in
``loop.py``; what they share (``Session``, ``TrainResult``, ``StopTraining``,
``Hook``) in ``session.py``. Events go to ``hooks`` (callables taking one
``dict``; ``events.py`` names the kinds and their fields); a hook may raise
``StopTraining`` to ask for a graceful stop.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import time
from pathlib import Path
from typing import Any, Iterable

from studio.core.training.events import RunStatus
from studio.core.training.run_folder import RunFolder, RunFolderError, read_run
from studio.core.training.session import Hook, Session, TrainResult

DEFAULT_STEPS = 1000
log = logging.getLogger("studio.training")


class TrainingSetupError(ValueError):
    """The run could not start (bad settings, unusable folder, data that does not fit the plugin)."""


def _resolve_plugin(plugin_or_id):
    from studio.core.plugins.api import ModelPlugin

    if isinstance(plugin_or_id, ModelPlugin):
        return plugin_or_id
    from studio.core.plugins.registry import get_plugin
    return get_plugin(str(plugin_or_id))


def _resolve_data(data):
    from studio.core.datasets import TrainingData, load_dataset

    if isinstance(data, TrainingData):
        return data, (str(data.folder) if data.folder else ""), str(data.manifest.get("fingerprint", ""))
    td = load_dataset(data)
    return td, str(Path(data).resolve()), str(td.manifest.get("fingerprint", ""))


def _check_config_unchanged(old_cfg: dict, config, plugin, user: dict) -> None:
    from studio.core.plugins.api import config_to_dict

    new = config_to_dict(config)
    changed = [k for k in user if k in old_cfg and k in new and new[k] != old_cfg[k]]
    if changed:
        k = changed[0]
        raise TrainingSetupError(f"cannot change the model setting {k} of {plugin.id} when resuming "
                                 f"(was {old_cfg[k]!r}, now {new[k]!r}); start a new run instead")


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def choose_threads(requested: int, reserve_core: bool, world_size: int = 1) -> int:
    from studio.core.devices import training_threads

    if requested and requested > 0:
        return int(requested)
    return max(1, training_threads(reserve_core) // max(world_size, 1))


def train(plugin_or_id, data, out_dir, *, steps: int | None = None, minutes: float | None = None,
          device: str = "auto", seed: int | None = None, settings: dict[str, Any] | None = None,
          resume: bool = False, hooks: Hook | Iterable[Hook] | None = None, reserve_core: bool = False,
          control_after: int | None = None, dist=None, tensorboard: bool = False) -> TrainResult:
    """Train ``plugin_or_id`` (a ``ModelPlugin`` or its id) on ``data`` (a dataset folder or ``TrainingData``).

    ``steps`` is the total step count of the run (a resumed run continues to it);
    ``minutes`` bounds this session's training time (pauses excluded); with neither,
    a new run trains ``DEFAULT_STEPS`` and a resumed one its recorded ``max_steps``.
    ``settings`` mixes engine settings (``EngineSettings``) and plugin ``Config`` fields.
    ``seed`` (or ``settings["seed"]``) seeds model init, data order and sampling.
    ``reserve_core`` leaves one CPU core to a window; ``control_after`` is the ``control.json``
    seq after which commands are meant for this trainer (set by ``TrainingProcess``).
    ``tensorboard`` also writes every stored metric and preview to ``RUN/tensorboard/`` as it is
    logged (``tensorboard_live.py``; a failure there is one warning, never the end of the run).
    Setup problems raise (``TrainingSetupError``, ``RunFolderError``, ``ConfigError``,
    ``DatasetError``, ``PluginNotFound``, ``DeviceUnavailable``); once training runs, the
    outcome is returned as a :class:`TrainResult` and recorded in ``run.json``.
    """
    from studio.core.training import ddp

    hook_list = [hooks] if callable(hooks) else list(hooks or [])
    ctx = dist or ddp.from_env()
    run = RunFolder(out_dir)
    lock = None
    if ctx.is_main:  # one trainer per run folder: a second one is refused, naming the first (run_lock)
        from studio.core.training.run_lock import RunLock
        lock = RunLock(run.path)
        lock.acquire()
    try:
        session = _setup(plugin_or_id, data, run, steps, minutes, device, seed, settings or {}, resume,
                         reserve_core, ctx)
        from studio.core.training.loop import TrainingLoop

        loop = TrainingLoop(session, hook_list, control_after, tensorboard=tensorboard)
        result = None
        try:
            result = loop.run()
            return result
        finally:
            loop.close()
            if session.dist_initialized:  # a failed rank leaves at once; torchrun ends the others
                ddp.shutdown(wait_for_peers=result is not None and result.ok)
    finally:
        if lock is not None:
            lock.release()


def _setup(plugin_or_id, data, run: RunFolder, steps, minutes, device, seed, user: dict, resume: bool,
           reserve_core: bool, ctx) -> Session:
    import torch

    from studio.core.devices import choose
    from studio.core.plugins.api import config_to_dict
    from studio.core.training import ddp
    from studio.core.training.optim import EngineOptimizers
    from studio.core.training.precision import choose_precision
    from studio.core.training.settings import split_settings

    plugin = _resolve_plugin(plugin_or_id)
    if ctx.is_main:
        old = run.check_usable(resume)
        if old:  # before the processes meet: a failure recorded from now on is this session's
            from studio.core.training.rank_failures import clear
            clear(run.path)
    else:
        old = read_run(run.path) if resume and run.run_file.exists() else None
    if old and old.get("plugin", {}).get("id") not in (None, plugin.id):
        raise RunFolderError(f"{run.path} holds a run of plugin {old['plugin']['id']}, not {plugin.id}")
    td, data_path, fingerprint = _resolve_data(data)
    if td.spec.modality != plugin.modality:
        raise TrainingSetupError(f"plugin {plugin.id} trains on {plugin.modality} data but the dataset "
                                 f"{data_path or '(in memory)'} holds {td.spec.modality}")
    warnings: list[str] = []
    if old and old.get("dataset", {}).get("fingerprint") not in (None, "", fingerprint):
        warnings.append("the dataset differs from the one this run started with (fingerprint changed)")
    if old and isinstance(old.get("data_spec"), dict):
        td = _fit_to_run(td, old["data_spec"], warnings)
    recorded = plugin.recorded_config((old or {}).get("config")) if old else None
    engine, config = split_settings(plugin, user, base_config=recorded,
                                    base_engine=(old or {}).get("engine"))
    if old:
        _check_config_unchanged(recorded or {}, config, plugin, user)
    if "seed" not in user:
        engine.seed = int(seed if seed is not None else (old or {}).get("seed", engine.seed))
    if steps is None and minutes is None:
        steps = (old or {}).get("max_steps") or DEFAULT_STEPS

    acc = choose(device)
    dev = ddp.device_for(ctx, acc.id)
    ctx2 = ddp.init(ctx, acc.kind)
    threads = choose_threads(engine.threads, reserve_core, ctx.world_size)
    torch.set_num_threads(threads)
    if dev.startswith("cuda"):
        torch.cuda.set_device(torch.device(dev))

    seed_everything(engine.seed)
    try:
        model = plugin.build(config, td.spec)
    except Exception as exc:  # plugin code: any error is a setup failure in words
        raise TrainingSetupError(f"plugin {plugin.id} could not build its model: {type(exc).__name__}: {exc}") from exc
    precision = choose_precision(engine.precision, dev, acc.bf16 if acc.kind == "cuda" else None,
                                 num_params=sum(p.numel() for p in model.parameters()))
    model.to(torch.device(dev))
    if ctx.enabled:
        ddp.broadcast_module(model)
    opt = EngineOptimizers(model, engine.optim_settings(), scaler=precision.scaler, world_size=ctx.world_size,
                           defer_checks=torch.device(dev).type != "cpu")
    data_gen = torch.Generator().manual_seed((engine.seed * 1_000_003 + ctx.rank + 1) & 0xFFFF_FFFF_FFFF)

    session = Session(plugin=plugin, data=td, run=run, model=model, config=config, engine=engine, opt=opt,
                      precision=precision, device=dev, device_label=acc.label, dist=ctx2,
                      dist_initialized=ctx2.enabled, data_gen=data_gen, start_step=0, max_steps=steps,
                      max_minutes=minutes, threads=threads, best=(old or {}).get("best"), warnings=warnings,
                      resuming=bool(old))
    if old:
        from studio.core.training.resume import restore_latest
        restore_latest(session, lr_given="lr" in user)
    if ctx.is_main:
        fields = {"plugin": {"id": plugin.id, "version": plugin.version}, "config": config_to_dict(config),
                  "engine": engine.to_dict(), "dataset": {"path": data_path, "fingerprint": fingerprint},
                  "data_spec": td.spec.to_dict(), "seed": engine.seed, "device": dev, "device_name": acc.label,
                  "precision": precision.name, "threads": threads, "world_size": ctx.world_size,
                  "studio_version": _studio_version(), "status": RunStatus.RUNNING, "reason": "",
                  "step": session.start_step, "max_steps": steps, "max_minutes": minutes,
                  "pid": os.getpid(), "host": socket.gethostname(), "best": session.best,
                  "started": time.time()}
        run.adopt(old, fields) if old else run.create(fields)
    return session


def _fit_to_run(td, recorded_spec: dict, warnings: list[str]):
    """Resuming on another import: its ids go through the run's own tables (characters, pitches), or
    the resume is refused in words (image size) — never fed unmapped into the model."""
    from studio.core.datasets.fit_to_model import fit_to_model
    from studio.core.plugins.api import DataSpec

    try:
        fitted, report = fit_to_model(td, DataSpec.from_dict(recorded_spec))
    except (ValueError, TypeError) as exc:
        raise TrainingSetupError(f"cannot resume on this dataset: {exc}") from exc
    if report.mapped:
        warnings.append(report.describe())
    return fitted


def _studio_version() -> str:
    from studio import __version__
    return __version__
