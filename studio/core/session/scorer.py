"""``Scorer``: how surprised a model is by a sequence of token ids (the "score" capability, ``token_nll``).

Works for any modality whose tokens are ids (text characters, melody events); the Text panel's
characters go through :class:`~studio.core.session.TokenStream`, which encodes and then scores the same way.
"""
from __future__ import annotations

import math
from typing import Any

from studio.core.plugins.api import ScoringModel
from studio.core.session.errors import MissingCapability


class Scorer:
    def __init__(self, model: Any, *, capabilities: frozenset[str] | set[str], name: str = "model"):
        if "score" not in capabilities:
            raise MissingCapability(f"the {name} does not declare the \"score\" capability (token_nll), so it "
                                    "cannot say how surprised it is by a sequence", "score")
        if not isinstance(model, ScoringModel):
            raise MissingCapability(f"the {name} declares \"score\" but its model has no token_nll()", "score")
        self.model, self.name = model, name

    @classmethod
    def for_model(cls, model: Any, plugin: Any) -> "Scorer":
        return cls(model, capabilities=plugin.capabilities, name=plugin.name)

    def total_nats(self, tokens: list[int]) -> float:
        """Summed surprise (nats) of every token after the first."""
        tokens = [int(t) for t in tokens]
        if len(tokens) < 2:
            raise ValueError("need at least two tokens to measure surprise")
        own = getattr(self.model, "decoding", None)
        if callable(own):
            ctx = own()
        else:
            from studio.core.plugins.model import small_model_decoding  # imports torch

            ctx = small_model_decoding(self.model)
        with ctx:
            return float(self.model.token_nll(tokens))

    def score(self, tokens: list[int]) -> dict[str, float]:
        """Nats and bits per token, perplexity and the number of tokens scored."""
        nats = self.total_nats(tokens) / (len(tokens) - 1)
        return {"nats_per_token": nats, "bits_per_token": nats / math.log(2), "perplexity": math.exp(nats),
                "tokens": float(len(tokens) - 1)}
