"""Learning-rate schedules as a pure function of the step (nothing to checkpoint but the step).

The engine multiplies the base learning rate (``lr``, changeable live) by
``lr_factor(step, ...)``: a linear warm-up, then constant, cosine or step decay.
"""
from __future__ import annotations

import math


def lr_factor(step: int, *, schedule: str = "constant", warmup_steps: int = 0, max_steps: int | None = None,
              final_lr_factor: float = 0.0, lr_step_every: int = 1000, lr_gamma: float = 0.5) -> float:
    """Multiplier on the base learning rate for the optimisation step ``step`` (1-based)."""
    step = max(int(step), 1)
    if warmup_steps > 0 and step <= warmup_steps:
        return step / warmup_steps
    after = step - max(warmup_steps, 0)
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return lr_gamma ** (after // max(lr_step_every, 1))
    if schedule == "cosine":
        if not max_steps:  # a time-bounded run has no end to decay towards
            return 1.0
        span = max(max_steps - max(warmup_steps, 0), 1)
        progress = min(after / span, 1.0)
        return final_lr_factor + (1.0 - final_lr_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"schedule {schedule!r} is not one of constant, cosine, step")


def factor_for(settings, step: int, max_steps: int | None) -> float:
    """``lr_factor`` with the fields of an ``EngineSettings``."""
    return lr_factor(step, schedule=settings.schedule, warmup_steps=settings.warmup_steps, max_steps=max_steps,
                     final_lr_factor=settings.final_lr_factor, lr_step_every=settings.lr_step_every,
                     lr_gamma=settings.lr_gamma)
