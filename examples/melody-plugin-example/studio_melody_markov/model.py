"""The model: one learned table of next-event logits for every pair of previous events."""
from __future__ import annotations

from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.plugins.api import REST, pick
from studio.core.plugins.model import StudioModel, generator_for


class MarkovMelody(StudioModel):
    def __init__(self, config: Any, spec: Any):
        super().__init__(config, spec)
        self.vocab = int(spec.vocab_size)            # REST, HOLD, then one note-on per pitch
        self.table = nn.Embedding(self.vocab * self.vocab, self.vocab)
        nn.init.zeros_(self.table.weight)
        self.phrase_length = int(spec.phrase_length or 32)

    def _contexts(self, events: torch.Tensor) -> torch.Tensor:
        """(B, L) events -> (B, L) context ids: the two events before each step (REST before the start)."""
        pad = torch.full((events.shape[0], 2), REST, dtype=torch.long, device=events.device)
        padded = torch.cat([pad, events], 1)
        return padded[:, :-2] * self.vocab + padded[:, 1:-1]

    def forward(self, events: torch.Tensor) -> torch.Tensor:
        return self.table(self._contexts(events))  # (B, L, vocab): logits of each step

    def _loss(self, batch: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
        batch = batch.to(self.device)
        logits = self(batch)
        return F.cross_entropy(logits.reshape(-1, self.vocab), batch.reshape(-1), label_smoothing=smoothing)

    def training_step(self, batch: torch.Tensor, opt) -> dict[str, float]:
        loss = self._loss(batch, float(self.config.smoothing))
        opt.step("model", loss)
        return {"loss": float(loss.detach())}

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor) -> dict[str, float]:
        return {"val_loss": float(self._loss(batch))}

    # -- capability "continue" ------------------------------------------------------
    @torch.no_grad()
    def generate(self, prime_tokens: list[int], length: int, temperature: float = 1.0, top_k: int = 0,
                 top_p: float = 1.0, seed: int = 0) -> Iterator[int]:
        g = generator_for(seed, self.device)
        history = [REST, REST] + [int(t) for t in prime_tokens]
        a, b = history[-2], history[-1]
        for _ in range(int(length)):
            logits = self.table.weight[a * self.vocab + b]
            nxt = int(pick(logits, temperature=temperature, top_k=top_k, top_p=top_p, generator=g))
            a, b = b, nxt
            yield nxt

    # -- capability "score" -----------------------------------------------------------
    @torch.no_grad()
    def token_nll(self, tokens: list[int]) -> float:
        seq = torch.tensor([list(tokens)], device=self.device)
        logits = self(seq)[0, 1:]                      # predictions of every event after the first
        return float(F.cross_entropy(logits, seq[0, 1:], reduction="sum"))

    # -- studio generate / training previews -----------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, length: int | None = None, temperature: float | None = None,
               top_k: int = 0, top_p: float = 1.0, prime: list[int] | None = None, **_: Any) -> torch.Tensor:
        """``n`` melodies of ``length`` events after ``prime`` (long (n, length)); sample i uses seed + i."""
        length = int(length or self.phrase_length)
        t = self.config.temperature if temperature is None else float(temperature)
        rows = [list(self.generate(list(prime or []), length, temperature=t, top_k=top_k, top_p=top_p,
                                   seed=seed + i)) for i in range(n)]
        return torch.tensor(rows, dtype=torch.long)
