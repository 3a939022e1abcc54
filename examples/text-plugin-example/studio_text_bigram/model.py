"""The bigram model: one learned table of next-character logits per character."""
from __future__ import annotations

from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.plugins.api import TextCodec, pick
from studio.core.plugins.model import StudioModel, generator_for


class BigramModel(StudioModel):
    def __init__(self, config: Any, spec: Any):
        super().__init__(config, spec)
        self.codec = TextCodec(spec.vocab)
        self.table = nn.Embedding(len(self.codec), len(self.codec))
        nn.init.zeros_(self.table.weight)
        self.sequence_length = int(config.context) + 1

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.table(tokens)

    def training_step(self, batch: torch.Tensor, opt) -> dict[str, float]:
        batch = batch.to(self.device)
        logits = self(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1),
                               label_smoothing=float(self.config.smoothing))
        opt.step("model", loss)
        return {"loss": float(loss.detach())}

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor) -> dict[str, float]:
        batch = batch.to(self.device)
        logits = self(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        return {"val_loss": float(loss)}

    # -- capability "continue" -------------------------------------------------
    @torch.no_grad()
    def generate(self, prime_tokens: list[int], length: int, temperature: float = 1.0, top_k: int = 0,
                 top_p: float = 1.0, seed: int = 0) -> Iterator[int]:
        g = generator_for(seed, self.device)
        last = int(prime_tokens[-1]) if prime_tokens else 0
        for _ in range(int(length)):
            logits = self.table.weight[last]
            last = int(pick(logits, temperature=temperature, top_k=top_k, top_p=top_p, generator=g))
            yield last

    # -- capability "score" ------------------------------------------------------
    @torch.no_grad()
    def token_nll(self, tokens: list[int]) -> float:
        seq = torch.tensor(list(tokens), device=self.device)
        return float(F.cross_entropy(self(seq[:-1]), seq[1:], reduction="sum"))

    # -- studio generate / training previews ---------------------------------------
    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, length: int = 200, prime: str = "", **controls: Any) -> list[str]:
        controls = {k: v for k, v in controls.items() if k in ("temperature", "top_k", "top_p")}
        start = self.codec.encode(prime) or [self.codec.index.get("\n", 0)]
        return [prime + self.codec.decode(self.generate(start, length, seed=seed + i, **controls))
                for i in range(n)]
