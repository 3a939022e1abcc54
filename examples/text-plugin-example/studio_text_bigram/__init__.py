"""A character bigram text model as a third-party plugin (no torch at import: discovery stays cheap)."""
from __future__ import annotations

from dataclasses import dataclass

from studio.core.plugins.api import ModelPlugin, param


@dataclass
class Config:
    context: int = param(32, label="Window", min=2, max=1024,
                         help="Characters per training window (a bigram looks back one character)")
    smoothing: float = param(0.0, label="Label smoothing", min=0.0, max=0.5,
                             help="Spread this much probability over all characters while training")


def build(config: Config, spec):
    from studio_text_bigram.model import BigramModel  # torch is imported here, not at discovery

    return BigramModel(config, spec)


plugin = ModelPlugin(
    id="example-char-bigram", name="Char bigram (example plugin)", version="0.1.0", modality="text",
    family="other", Config=Config, build=build, capabilities=frozenset({"continue", "score"}),
    description="Predicts each character from the one before it: the smallest text model there is.",
)
