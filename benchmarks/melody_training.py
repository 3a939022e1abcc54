"""Training a melody plugin for the melody benchmark: a CPU-time budget, early stopping on held-out loss.

A model spec is a plugin id with optional Config overrides: ``melody-rnn``, ``melody-rnn:transpose=5,dropout=0.3``;
the override ``auto`` applies ``studio_plugins.melody_common.settings_for_collection`` for the number of training tunes.
"""
from __future__ import annotations

import copy
import importlib
import json
import time

import numpy as np


def parse_spec(spec: str) -> tuple[str, dict, bool]:
    """'melody-rnn:transpose=5,auto' -> ('melody-rnn', {'transpose': 5}, auto=True)."""
    plugin_id, _, rest = spec.partition(":")
    overrides, auto = {}, False
    for item in filter(None, rest.split(",")):
        if item == "auto":
            auto = True
            continue
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return plugin_id, overrides, auto


def val_nll(model, phrases, batch: int = 128) -> float:
    import torch
    with torch.no_grad():
        got = model.evaluate(torch.as_tensor(phrases[i:i + batch]) for i in range(0, len(phrases), batch))
    return float(got.get("nll_per_event", float("nan")))


def train_plugin(spec: str, train_phrases: np.ndarray, val_phrases: np.ndarray, train_tunes: int, *,
                 cpu_seconds: float, batch: int, seed: int, length: int, min_pitch: int, max_pitch: int,
                 patience: int = 10, val_every: int = 100):
    """Train for ``cpu_seconds`` of process CPU time (or until ``patience`` validations bring no better held-out
    loss: the best weights are kept, as the studio keeps its best checkpoint). Returns (model, info)."""
    import torch

    from studio_plugins.melody_common import settings_for_collection
    from studio.core.datasets.training_data import TrainingData
    from studio.core.plugins.api import DataSpec, config_from_dict
    from studio.core.training.optim import EngineOptimizers, OptimSettings

    plugin_id, overrides, auto = parse_spec(spec)
    plugin = importlib.import_module(f"studio_plugins.{plugin_id.replace('-', '_')}").plugin
    names = {p for p in plugin.Config.__dataclass_fields__}
    if auto:
        overrides = {**{k: v for k, v in settings_for_collection(train_tunes).items() if k in names}, **overrides}
    if plugin_id == "melody-vae":
        overrides.setdefault("bars", length // 16)
    data_spec = DataSpec("melody", phrase_length=length, min_pitch=min_pitch, max_pitch=max_pitch)
    data = TrainingData.from_tensors(data_spec, events=torch.as_tensor(train_phrases))
    torch.manual_seed(seed)
    model = plugin.build(config_from_dict(plugin.Config, overrides), data_spec)
    lr = float(plugin.engine_defaults.get("lr", 2e-3))
    opt = EngineOptimizers(model, OptimSettings(lr=lr, grad_clip=1.0))
    g = torch.Generator().manual_seed(seed)
    steps, bad, best, best_state, best_step, stopped = 0, 0, float("inf"), None, 0, ""
    t0 = time.process_time()
    model.train()
    while time.process_time() - t0 < cpu_seconds:
        model.training_step(data.random_batch("train", batch, g), opt)
        steps += 1
        if patience and val_every and steps % val_every == 0 and len(val_phrases):
            model.eval()
            nll = val_nll(model, val_phrases)
            model.train()
            if nll < best:
                best, best_state, best_step, bad = nll, copy.deepcopy(model.state_dict()), steps, 0
            else:
                bad += 1
                if bad >= patience:
                    stopped = f"early stop at step {steps}"
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    info = {"steps": steps, "best_step": best_step or steps, "cpu_s": round(time.process_time() - t0, 1),
            "overrides": overrides}
    if len(val_phrases):
        info["val_nll"] = round(val_nll(model, val_phrases), 4)
    if stopped:
        info["stopped"] = stopped
    return model, info
