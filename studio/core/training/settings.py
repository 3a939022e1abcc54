"""Engine settings and how ``--set key=value`` is split between the engine and the plugin.

``EngineSettings`` fields carry the same ``param`` metadata as a plugin
``Config``, so a front end renders both with one form builder
(``studio.core.plugins.api.config_params(EngineSettings)``).
Precedence, lowest first: the defaults below, the plugin's
``ModelPlugin.engine_defaults``, then what the user sets.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from studio.core.plugins.api import ConfigError, ModelPlugin, config_from_dict, config_params, param
from studio.core.training.optim import OPTIMIZERS, OptimSettings

SCHEDULES = ("constant", "cosine", "step")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class EngineSettings:
    lr: float = param(2e-3, label="Learning rate", min=1e-7, max=10.0, log=True,
                      help="Step size of the optimizer; changeable live while training.")
    batch_size: int = param(32, label="Batch size", min=1, max=65536,
                            help="Examples per step (per process under DDP).")
    optimizer: str = param("adam", label="Optimizer", choices=OPTIMIZERS,
                           help="adam/adamw: robust defaults; sgd: with momentum/Nesterov; rmsprop: for some GANs.")
    weight_decay: float = param(0.0, label="Weight decay", min=0.0, max=1.0,
                                help="L2 penalty (decoupled for adamw).")
    momentum: float = param(0.9, label="Momentum", min=0.0, max=0.999, help="sgd and rmsprop only.")
    nesterov: bool = param(False, label="Nesterov", help="Nesterov momentum (sgd only).")
    beta1: float = param(0.9, label="Adam beta1", min=0.0, max=0.9999,
                         help="adam/adamw first-moment decay; GANs often use 0.5.")
    beta2: float = param(0.999, label="Adam beta2", min=0.0, max=0.99999, help="adam/adamw second-moment decay.")
    grad_clip: float = param(0.0, label="Gradient clip", min=0.0, max=1e6,
                             help="Maximum global gradient norm per group; 0 turns clipping off.")
    warmup_steps: int = param(0, label="Warm-up steps", min=0, max=10_000_000,
                              help="Steps over which the learning rate ramps up linearly from 0.")
    schedule: str = param("constant", label="LR schedule", choices=SCHEDULES,
                          help="constant; cosine decay to final_lr_factor x lr at the last step; "
                               "step: multiply by lr_gamma every lr_step_every steps.")
    final_lr_factor: float = param(0.0, label="Final LR factor", min=0.0, max=1.0,
                                   help="cosine: the learning rate at the last step, as a fraction of lr.")
    lr_step_every: int = param(1000, label="LR step every", min=1, max=10_000_000,
                               help="step schedule: steps between decays.")
    lr_gamma: float = param(0.5, label="LR step factor", min=0.0, max=1.0,
                            help="step schedule: factor applied at each decay.")
    checkpoint_every: int = param(500, label="Checkpoint every (steps)", min=0, max=10_000_000,
                                  help="Write a checkpoint every N steps; 0: only by time and at the end.")
    checkpoint_minutes: float = param(10.0, label="Checkpoint every (minutes)", min=0.0, max=10_000.0,
                                      help="Also write one when this much time passed since the last; 0: off.")
    keep_last: int = param(3, label="Keep last checkpoints", min=1, max=1000,
                           help="Older checkpoints are deleted, except the best one.")
    seed: int = param(0, label="Seed", min=0, max=2**63 - 1,
                      help="Same seed + same device gives the same losses on CPU.")
    val_every: int = param(200, label="Validate every (steps)", min=0, max=10_000_000,
                           help="Run validation_step on held-out batches every N steps; 0: never.")
    val_batches: int = param(4, label="Validation batches", min=1, max=10_000,
                             help="Held-out batches averaged per validation.")
    monitor: str = param("", label="Monitored metric",
                         help="Validation metric for best checkpoint and early stopping (lower is better); "
                              "empty: val_loss, else the first val_* metric.")
    early_stopping: int = param(0, label="Early-stopping patience", min=0, max=100_000,
                                help="Stop after this many validations without improvement; 0: off.")
    sample_every: int = param(500, label="Preview every (steps)", min=0, max=10_000_000,
                              help="Save a sample preview into samples/ every N steps; 0: never.")
    sample_seconds: float = param(30.0, label="Preview every (seconds)", min=0.0, max=86_400.0,
                                  help="Also save a preview after this much training time, so slow runs show "
                                       "something early; 0: by steps only.")
    first_sample_s: float = param(5.0, label="First preview after (seconds)", min=0.0, max=86_400.0,
                                  help="The first timed preview comes this soon after training starts.")
    precision: str = param("auto", label="Precision", choices=PRECISIONS,
                           help="auto: bf16 (or fp16 with loss scaling) autocast on GPUs that support it, fp32 on CPU.")
    threads: int = param(0, label="CPU threads", min=0, max=1024,
                         help="torch intra-op threads; 0: all cores (one left free when run from the window).")

    def optim_settings(self) -> OptimSettings:
        return OptimSettings(optimizer=self.optimizer, lr=self.lr, weight_decay=self.weight_decay,
                             momentum=self.momentum, nesterov=self.nesterov, betas=(self.beta1, self.beta2),
                             grad_clip=self.grad_clip)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


ENGINE_KEYS = frozenset(f.name for f in dataclasses.fields(EngineSettings))


def split_settings(plugin: ModelPlugin, values: dict[str, Any] | None,
                   base_config: dict[str, Any] | None = None,
                   base_engine: dict[str, Any] | None = None) -> tuple[EngineSettings, Any]:
    """Route user settings to the engine and to the plugin ``Config``; validate both.

    A key the plugin's Config also declares goes to both. ``base_*`` are earlier
    values (a resumed run's), applied before ``values``. Unknown keys raise a
    ``ConfigError`` listing every known key.
    """
    values = dict(values or {})
    plugin_keys = {s.name for s in config_params(plugin.Config)}
    unknown = sorted(k for k in values if k not in ENGINE_KEYS and k not in plugin_keys)
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)}; engine settings: {', '.join(sorted(ENGINE_KEYS))}; "
            f"{plugin.id} settings: {', '.join(sorted(plugin_keys)) or 'none'}")
    defaults = dict(getattr(plugin, "engine_defaults", None) or {})
    bad = sorted(set(defaults) - ENGINE_KEYS)
    if bad:
        raise ConfigError(f"plugin {plugin.id} declares unknown engine defaults {', '.join(bad)}")
    engine_vals = {**defaults, **(base_engine or {}), **{k: v for k, v in values.items() if k in ENGINE_KEYS}}
    engine_vals = {k: v for k, v in engine_vals.items() if k in ENGINE_KEYS}
    engine = config_from_dict(EngineSettings, engine_vals)
    cfg_vals = {k: v for k, v in (base_config or {}).items() if k in plugin_keys}
    cfg_vals.update({k: v for k, v in values.items() if k in plugin_keys})
    config = config_from_dict(plugin.Config, cfg_vals)
    return engine, config


def parse_set_args(pairs: list[str] | None) -> dict[str, str]:
    """``["lr=1e-3", "batch_size=64"]`` -> dict; a pair without ``=`` is a ``ConfigError``."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        out[key.replace("-", "_")] = value.strip()
    return out
