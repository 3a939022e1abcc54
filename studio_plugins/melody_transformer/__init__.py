"""melody-transformer: a small Music-Transformer-style decoder over 16th-note melody events.

Relative self-attention (Huang et al. 2018: each head also scores how far back a step is, so a
figure one bar or one phrase back is found wherever it occurs) over note events, plus the
position in a 4/4 bar (16 steps) and in a three-beat bar (12 steps: 3/4, 6/8), so reels,
waltzes and jigs all get a beat to lean on without the dataset naming its meter.
"""
from __future__ import annotations

from dataclasses import dataclass

from studio.core.plugins.api import DataSpec, ModelPlugin, param


@dataclass
class Config:
    layers: int = param(2, label="Layers", min=1, max=8, help="Stacked attention blocks")
    width: int = param(96, label="Width", min=32, max=512, help="Size of each event's vector (a multiple of Heads)")
    heads: int = param(4, label="Heads", min=1, max=16, help="Attention heads per block")
    max_distance: int = param(64, label="Relative reach (steps)", min=8, max=512,
                              help="Farthest distance (in 16ths) the relative attention tells apart; farther "
                                   "steps share one learned distance")
    dropout: float = param(0.2, label="Dropout", min=0.0, max=0.8,
                           help="Dropout in attention and feed-forward layers (raise it for small collections)")
    transpose: int = param(0, label="Transpose augment", min=0, max=6,
                           help="Randomly transpose training phrases by up to this many semitones (the model then "
                                "writes in any key, not the collection's own)")
    max_silence: int = param(4, label="Longest rest (steps)", min=0, max=64,
                             help="Generated melodies never stay silent longer than this many 16th notes (0: no limit)")
    temperature: float = param(1.0, label="Preview temperature", min=0.05, max=3.0,
                               help="Sampling temperature for previews and plain samples")


def build(config: Config, spec: DataSpec):
    from studio_plugins.melody_transformer.model import MelodyTransformer
    return MelodyTransformer(config, spec)


plugin = ModelPlugin(
    id="melody-transformer", name="Melody Transformer", version="1.0.0", modality="melody", family="transformer",
    Config=Config, build=build, capabilities=frozenset({"continue", "score"}),
    description="Music-Transformer-style melody model: relative attention over note events with bar and beat "
                "position; learns repeats and phrase structure, for any meter.",
    # stop when held-out loss stops improving: a small collection is otherwise learnt by heart
    engine_defaults={"lr": 1e-3, "early_stopping": 10, "val_every": 100},
)
