"""Tiny synthetic melody data for the melody plugin tests: bar motifs that repeat, in several keys."""
from __future__ import annotations

import torch

from studio.core.plugins.api import DataSpec

SPEC = DataSpec("melody", phrase_length=64, min_pitch=48, max_pitch=84)

#: two short jigs in 6/8 (ABC; no pickup: the ABC reader does not shift upbeats yet), bars of dotted-quarter +
#: eighth + quarter + eighth ("long-short" jig figures): the meter must survive import, the roll and export
JIGS = """X:1
T:Test Jig One
M:6/8
L:1/8
K:D
d2f a2f|d2f a2f|g2e c2e|d3 d2A|d2f a2f|d2f a2f|g2e c2e|d3 d3:|
X:2
T:Test Jig Two
M:6/8
L:1/8
K:G
G2B d2B|G2B d2B|A2c e2c|G3 G2D|G2B d2B|G2B d2B|A2c e2c|G3 G3:|
"""


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


def tiny_rnn():
    """An untrained one-layer melody-rnn on SPEC (seeded): enough to fill the Melody panel's variations."""
    from studio.core.plugins.api import config_from_dict
    from studio_plugins.melody_rnn import plugin

    torch.manual_seed(0)
    return plugin.build(config_from_dict(plugin.Config, {"hidden": 32, "layers": 1, "embed": 8}), SPEC)
