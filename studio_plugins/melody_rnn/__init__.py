"""melody-rnn: a MelodyRNN-style recurrent model over 16th-note melody events.

LSTM, GRU or vanilla RNN (selectable), optional Magenta "lookback" features
(the events one and two bars back, position in the bar, repeat flags), prime
and continue, temperature / top-k / top-p sampling and beam search.
"""
from __future__ import annotations

from dataclasses import dataclass

from studio.core.plugins.api import DataSpec, ModelPlugin, param


@dataclass
class Config:
    cell: str = param("lstm", label="Cell", choices=("lstm", "gru", "rnn"),
                      help="LSTM remembers longest; GRU is a little faster; a vanilla RNN is the simplest baseline")
    layers: int = param(2, label="Layers", min=1, max=4, help="Stacked recurrent layers")
    hidden: int = param(128, label="Width", min=16, max=1024, help="Units per recurrent layer")
    embed: int = param(32, label="Embedding", min=8, max=256, help="Size of the learned vector per event")
    dropout: float = param(0.2, label="Dropout", min=0.0, max=0.8, help="Dropout between layers (regularises small datasets)")
    lookback: bool = param(True, label="Lookback", help="Also see the events 1 and 2 bars back and the position in the bar "
                                                      "(Magenta's lookback RNN): helps repeated bars")
    transpose: int = param(0, label="Transpose augment", min=0, max=6,
                           help="Randomly transpose training phrases by up to this many semitones")
    max_silence: int = param(4, label="Longest rest (steps)", min=0, max=64,
                             help="Generated melodies never stay silent longer than this many 16th notes "
                                  "(0: no limit). Training phrases end in silence, which a model would "
                                  "otherwise copy as a melody that stops after a few notes.")
    temperature: float = param(1.0, label="Preview temperature", min=0.05, max=3.0,
                               help="Sampling temperature for previews and plain samples")


def build(config: Config, spec: DataSpec):
    from studio_plugins.melody_rnn.model import MelodyRNN
    return MelodyRNN(config, spec)


plugin = ModelPlugin(
    id="melody-rnn", name="Melody RNN", version="1.1.0", modality="melody", family="rnn",
    Config=Config, build=build, capabilities=frozenset({"continue", "onnx"}),
    description="Recurrent melody model (LSTM/GRU/RNN) with lookback features; prime it with a melody to continue it.",
    # stop when held-out loss stops improving (10 validations): a small collection is otherwise learnt by heart
    engine_defaults={"early_stopping": 10},
)
