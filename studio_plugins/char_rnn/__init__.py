"""char-rnn: Karpathy's character-level LSTM/GRU (prime text, temperature, length, seed).

Training windows are ``window`` characters long; inside a window the loss is back-propagated
through ``bptt`` characters at a time (truncated BPTT: the hidden state flows across chunks but
gradients stop at chunk borders), so the model learns to carry state further than it back-propagates.
"""
from __future__ import annotations

from dataclasses import dataclass

from studio.core.plugins.api import ModelPlugin, param


@dataclass
class Config:
    cell: str = param("lstm", label="Cell", choices=("lstm", "gru"),
                      help="LSTM remembers longer; GRU is a little faster and smaller")
    layers: int = param(2, label="Layers", min=1, max=6, help="Recurrent layers stacked on each other")
    width: int = param(256, label="Width", min=16, max=2048, help="Hidden units per layer")
    embedding: int = param(64, label="Embedding size", min=8, max=1024, help="Size of each character's input vector")
    dropout: float = param(0.0, label="Dropout", min=0.0, max=0.9,
                           help="Dropout between layers while training; helps large models on small texts")
    bptt: int = param(64, label="Truncated BPTT length", min=4, max=1024,
                      help="Characters back-propagated through at once")
    window: int = param(128, label="Training window (characters)", min=4, max=8192,
                        help="Characters per training sequence; the hidden state runs through all of them "
                             "(a multiple of the BPTT length works best)")


def build(config: Config, spec):
    from studio_plugins.char_rnn.model import CharRNN
    return CharRNN(config, spec)


plugin = ModelPlugin(
    id="char-rnn", name="Char-RNN (LSTM/GRU)", version="1.0", modality="text", family="rnn",
    Config=Config, build=build, capabilities=frozenset({"continue", "score", "onnx"}),
    description="Karpathy's character-level recurrent network: learns to write like your text.",
    engine_defaults={"lr": 2e-3, "grad_clip": 5.0})
