"""Tiny synthetic melody data for the melody plugin tests: bar motifs that repeat, in several keys."""
from __future__ import annotations

import torch

from studio.core.plugins.api import DataSpec

SPEC = DataSpec("melody", phrase_length=64, min_pitch=48, max_pitch=84)


def motif_phrases(n: int = 96, seed: int = 0) -> torch.Tensor:
    """Each phrase: a one-bar arpeggio (quarter notes) in a random key, repeated four times."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for _ in range(n):
        base = int(torch.randint(55, 70, (1,), generator=g))
        bar = []
        for step in (0, 4, 7, 12):
            bar += [2 + base + step - SPEC.min_pitch, 1, 1, 1]
        rows.append(bar * 4)
    return torch.tensor(rows, dtype=torch.long)


def train(model, data, steps: int, lr: float = 5e-3, batch: int = 16):
    from studio.core.training.optim import EngineOptimizers, OptimSettings

    opt = EngineOptimizers(model, OptimSettings(lr=lr))
    g = torch.Generator().manual_seed(1)
    model.train()
    out = {}
    for _ in range(steps):
        out = model.training_step(data.random_batch("train", batch, g), opt)
    return out
