"""What the character-level text plugins share: tokenising with a dataset's vocabulary,
the training/evaluation step, streaming generation with the sampling controls, and scoring.

A model subclasses :class:`CharLanguageModel` and implements two methods:

* ``forward(tokens)`` - logits (B, L, V) for a training window (no state carried);
* ``advance(tokens, state)`` - logits (B, L, V) for ``tokens`` following ``state``
  (RNN hidden state or a transformer KV cache) and the state after them.
"""
from __future__ import annotations

import math
from typing import Any, Iterator

import torch
import torch.nn.functional as F

from studio.core.plugins.api import TextCodec, pick
from studio.core.plugins.model import (  # noqa: F401  (SINGLE_THREAD_DECODE_PARAMS re-exported)
    SINGLE_THREAD_DECODE_PARAMS, StudioModel, generator_for, small_model_decoding,
)

__all__ = ["CharLanguageModel", "TextCodec", "vocab_from_text", "REPETITION_WINDOW"]

#: how many recent tokens the repetition penalty looks back on
REPETITION_WINDOW = 64


def vocab_from_text(text: str) -> list[str]:
    """The sorted character set of a text: the vocabulary convention of the text importer."""
    return sorted(set(text))


class CharLanguageModel(StudioModel):
    """Base of the character-level models: shared training, evaluation, generation and scoring."""

    #: the longest history the model can attend to (None: unbounded, e.g. an RNN)
    context: int | None = None

    def __init__(self, config: Any, spec: Any):
        super().__init__(config, spec)
        self.codec = TextCodec(spec.vocab)
        self.vocab_size = len(self.codec)

    # -- to implement -------------------------------------------------------
    def advance(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        raise NotImplementedError

    # -- training -------------------------------------------------------------
    def loss_on(self, batch: torch.Tensor) -> torch.Tensor:
        """Mean next-character cross-entropy (nats/char) of a (B, T+1) window batch."""
        batch = batch.to(self.device)
        logits = self(batch[:, :-1])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))

    def training_step(self, batch: torch.Tensor, opt) -> dict[str, float]:
        loss = self.loss_on(batch)
        opt.step("model", loss)
        return {"loss": float(loss.detach())}

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor) -> dict[str, float]:
        loss = float(self.loss_on(batch))
        return {"val_loss": loss, "val_nats_per_char": loss, "val_bits_per_char": loss / math.log(2)}

    @torch.no_grad()
    def evaluate(self, batches: Iterator[torch.Tensor]) -> dict[str, float]:
        """Held-out cross-entropy per character, weighted by the number of predictions."""
        was_training = self.training
        self.eval()
        total, count = 0.0, 0
        for batch in batches:
            n = batch.shape[0] * (batch.shape[1] - 1)
            total += float(self.loss_on(batch)) * n
            count += n
        self.train(was_training)
        if count == 0:
            raise ValueError("no text to evaluate: the split is shorter than one window")
        nats = total / count
        return {"nats_per_char": nats, "bits_per_char": nats / math.log(2), "perplexity": math.exp(nats),
                "chars": float(count)}

    # -- generation -----------------------------------------------------------
    def decoding(self):
        """Wrap character-by-character generation: one CPU thread for a small model
        (``studio.core.plugins.model.small_model_decoding``, also used by the Text panel)."""
        return small_model_decoding(self)

    def start_tokens(self, prime_tokens: list[int]) -> list[int]:
        """With no prime, condition on a newline (the start of a paragraph) when the vocabulary has one."""
        if prime_tokens:
            return list(prime_tokens)
        return [self.codec.index.get("\n", 0)]

    @torch.no_grad()
    def generate(self, prime_tokens: list[int], length: int, temperature: float = 1.0, top_k: int = 0,
                 top_p: float = 1.0, repetition_penalty: float = 1.0, seed: int = 0,
                 use_cache: bool = True) -> Iterator[int]:
        """Yield ``length`` token ids one at a time as they are produced; deterministic for a seed.

        ``use_cache=False`` recomputes the whole text every step (the reference the cached path
        must equal; only meaningful for models with a bounded ``context``, i.e. transformers).
        """
        was_training = self.training
        self.eval()
        try:
            device = self.device
            g = generator_for(seed, device)
            history = self.start_tokens(prime_tokens)
            for bad in history:
                if not 0 <= int(bad) < self.vocab_size:
                    raise ValueError(f"prime token {bad} is outside the vocabulary of {self.vocab_size}")
            cached = use_cache or not self.context
            if cached:  # feed the prime in chunks so every layer's state sees all of it
                state, chunk = None, self.context or 256
                for s in range(0, len(history), chunk):
                    logits, state = self.advance(torch.tensor([history[s:s + chunk]], device=device), state)
                logits = logits[0, -1]
            for _ in range(int(length)):
                if not cached:
                    logits = self(torch.tensor([history], device=device))[0, -1]
                recent = torch.tensor(history[-REPETITION_WINDOW:], device=device)
                nxt = int(pick(logits, temperature=temperature, top_k=top_k, top_p=top_p,
                               repetition_penalty=repetition_penalty, recent=recent, generator=g))
                history.append(nxt)
                yield nxt
                if cached:
                    logits, state = self.advance(torch.tensor([[nxt]], device=device), state)
                    logits = logits[0, -1]
        finally:
            self.train(was_training)

    def continue_text(self, prime: str, length: int, seed: int = 0, **controls: Any) -> Iterator[str]:
        """Characters one at a time after ``prime`` (unknown prime characters are skipped)."""
        for tok in self.generate(self.codec.encode(prime), length, seed=seed, **controls):
            yield self.codec.vocab[tok]

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, length: int = 200, prime: str = "", **controls: Any) -> list[str]:
        """``n`` texts, each the prime followed by ``length`` characters; sample i uses seed ``seed + i``."""
        with self.decoding():
            return [prime + "".join(self.continue_text(prime, length, seed=seed + i, **controls)) for i in range(n)]

    # -- scoring --------------------------------------------------------------
    @torch.no_grad()
    def token_nll(self, tokens: list[int]) -> float:
        """The "score" capability: summed cross-entropy (nats) of every token after the first,
        each predicted from the ones before it (the model's window or its running state)."""
        if len(tokens) < 2:
            raise ValueError("need at least two characters the model knows to measure its surprise")
        was_training = self.training
        self.eval()
        try:
            chunk = self.context or 256
            state, total = None, 0.0
            seq = torch.tensor(list(tokens), device=self.device)
            for start in range(0, len(tokens) - 1, chunk):
                inp = seq[start:start + chunk]
                tgt = seq[start + 1:start + 1 + chunk]
                logits, state = self.advance(inp[None], state)
                logits = logits[0, :len(tgt)]
                total += float(F.cross_entropy(logits, tgt, reduction="sum"))
        finally:
            self.train(was_training)
        return total

    @torch.no_grad()
    def score_text(self, text: str) -> dict[str, float]:
        """How surprised the model is by ``text``: nats/bits per character and perplexity.

        Characters outside the vocabulary are skipped and counted.
        """
        tokens = self.codec.encode(text)
        unknown = sum(1 for ch in text if ch not in self.codec.index)
        nats = self.token_nll(tokens) / (len(tokens) - 1)
        return {"nats_per_char": nats, "bits_per_char": nats / math.log(2), "perplexity": math.exp(nats),
                "chars": float(len(tokens) - 1), "unknown": float(unknown)}
