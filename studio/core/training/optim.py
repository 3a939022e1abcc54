"""The engine's implementation of the plugin ``Optimizers`` interface.

One optimizer per parameter group the model declares; the model decides the
order of updates (GANs), the engine decides how an update is applied:
optimizer kind, learning rate (x the model's per-group scale), weight decay,
gradient clipping, mixed-precision scaling, DDP gradient averaging (grad_sync.py) and the
NaN/inf guard.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from studio.core.plugins.model import Optimizers, StudioModel
from studio.core.training.grad_sync import make_group_syncs, per_tensor_all_reduce

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")


class NonFiniteError(FloatingPointError):
    """A loss or gradient became NaN/inf; the message names the group and what went wrong."""


@dataclass
class OptimSettings:
    optimizer: str = "adam"
    lr: float = 2e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 0.0  # max global norm; 0 = off


def make_optimizer(params, kind: str, lr: float, s: OptimSettings) -> torch.optim.Optimizer:
    kind = kind.lower()
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=s.betas, weight_decay=s.weight_decay)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=s.betas, weight_decay=s.weight_decay)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=s.momentum, nesterov=s.nesterov and s.momentum > 0,
                               weight_decay=s.weight_decay)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=s.momentum, weight_decay=s.weight_decay)
    raise ValueError(f"optimizer {kind!r} is not one of {', '.join(OPTIMIZERS)}")


def _total_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """Global L2 norm of the gradients, with fused per-tensor norms where torch has them (NaN guard)."""
    total = getattr(torch.nn.utils, "get_total_norm", None)
    if total is not None:
        return total(grads, 2.0)
    return torch.stack([g.norm() for g in grads]).norm()


class EngineOptimizers(Optimizers):
    def __init__(self, model: StudioModel, settings: OptimSettings | None = None, scaler=None, world_size: int = 1,
                 defer_checks: bool = False, grad_sync: str = "ddp"):
        self.settings = settings or OptimSettings()
        self.model = model
        self.scaler = scaler  # torch.amp.GradScaler for fp16, else None
        self.world_size = world_size
        self.base_lr = self.settings.lr
        self.lr_factor = 1.0  # set by the schedule each step
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.params: dict[str, list[torch.nn.Parameter]] = {}
        for name, params in model.param_groups().items():
            params = [p for p in params if p.requires_grad]
            if not params:
                continue
            self.params[name] = params
            self.optimizers[name] = make_optimizer(params, self.settings.optimizer,
                                                   self.settings.lr * model.lr_scale(name), self.settings)
        # Several processes: each group's gradients are averaged by DDP during backward (grad_sync.py);
        # "per-tensor" (the former method) is kept for benchmarks/ddp_speed.py only.
        self.grad_sync = grad_sync
        self.syncs = make_group_syncs(self.params, world_size, grad_sync)
        self.last_grad_norm: dict[str, float] = {}
        # On a GPU, checking for NaN inside step() would wait for the device twice per update and
        # stall the launch queue; with defer_checks the engine calls check_finite() once per step.
        self.defer_checks = defer_checks
        self._pending: list[tuple[str, torch.Tensor, torch.Tensor | None]] = []

    def set_lr(self, base_lr: float | None = None, factor: float | None = None) -> None:
        if base_lr is not None:
            self.base_lr = float(base_lr)
        if factor is not None:
            self.lr_factor = float(factor)
        for name, opt in self.optimizers.items():
            for g in opt.param_groups:
                g["lr"] = self.base_lr * self.lr_factor * self.model.lr_scale(name)

    @property
    def current_lr(self) -> float:
        return self.base_lr * self.lr_factor

    def zero_grad(self, group: str) -> None:
        self.optimizers[group].zero_grad(set_to_none=True)

    def step(self, group: str, loss: torch.Tensor) -> None:
        if not self.defer_checks and not torch.isfinite(loss.detach()).all():
            raise NonFiniteError(f"the {group} loss became {float(loss.detach().float().mean())}")
        opt = self.optimizers[group]
        opt.zero_grad(set_to_none=True)
        # The engine runs training_step under autocast; backward belongs outside it.
        with torch.autocast(device_type=loss.device.type, enabled=False):
            scaled = self.scaler.scale(loss) if self.scaler is not None else loss
            sync = self.syncs.get(group)
            if sync is not None:
                scaled = sync.before_backward(scaled)
            scaled.backward()
        params = self.params[group]
        if self.world_size > 1 and sync is None:
            per_tensor_all_reduce(params, self.world_size)
        if self.scaler is not None:
            self.scaler.unscale_(opt)  # after the averaging: the same as unscaling each process's share
        if self.settings.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, self.settings.grad_clip)
        else:
            grads = [p.grad.detach() for p in params if p.grad is not None]
            norm = _total_norm(grads) if grads else torch.zeros(())
        if self.defer_checks:
            # fp16: inf gradients are the loss scaler's business (it skips that update)
            self._pending.append((group, loss.detach().float().mean(), None if self.scaler else norm.detach()))
        else:
            norm_f = float(norm)
            if not math.isfinite(norm_f) and self.scaler is None:
                raise NonFiniteError(f"the {group} gradients became {norm_f}")
            self.last_grad_norm[group] = norm_f
        if self.scaler is not None:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()

    def check_finite(self) -> None:
        """With ``defer_checks``: raise ``NonFiniteError`` if an update since the last call saw NaN/inf."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        values = torch.stack([torch.stack([lv, nv if nv is not None else torch.zeros((), device=lv.device)])
                              for _, lv, nv in pending]).float().cpu()  # one wait for the device
        for (group, _, norm), (loss_v, norm_v) in zip(pending, values.tolist()):
            if not math.isfinite(loss_v):
                raise NonFiniteError(f"the {group} loss became {loss_v}")
            if norm is not None:
                if not math.isfinite(norm_v):
                    raise NonFiniteError(f"the {group} gradients became {norm_v}")
                self.last_grad_norm[group] = norm_v

    # -- checkpoint state ---------------------------------------------------
    def state_dicts(self) -> dict[str, dict]:
        return {name: opt.state_dict() for name, opt in self.optimizers.items()}

    def load_state_dicts(self, states: dict[str, dict]) -> None:
        for name, st in states.items():
            if name in self.optimizers:
                self.optimizers[name].load_state_dict(st)
