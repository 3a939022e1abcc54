"""An order-2 Markov melody model as a third-party plugin (no torch at import: discovery stays cheap)."""
from __future__ import annotations

from dataclasses import dataclass

from studio.core.plugins.api import ModelPlugin, param


@dataclass
class Config:
    smoothing: float = param(0.05, label="Label smoothing", min=0.0, max=0.5,
                             help="Spread this much probability over all events while training "
                                  "(unseen two-event contexts still have somewhere to go)")
    temperature: float = param(1.0, label="Preview temperature", min=0.05, max=3.0,
                               help="Sampling temperature for previews and plain samples")


def build(config: Config, spec):
    from studio_melody_markov.model import MarkovMelody  # torch is imported here, not at discovery

    return MarkovMelody(config, spec)


plugin = ModelPlugin(
    id="example-melody-markov", name="Melody Markov (example plugin)", version="0.1.0", modality="melody",
    family="other", Config=Config, build=build, capabilities=frozenset({"continue", "score"}),
    description="Predicts each 16th-note event from the two before it: a tiny learned Markov chain.",
)
