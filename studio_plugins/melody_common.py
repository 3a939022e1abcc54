"""Helpers shared by the melody plugins (melody-rnn, melody-vae, melody-transformer).

Imports torch: only the plugins' model.py modules import it, never a plugin's ``__init__``.
"""
from __future__ import annotations

import math
from typing import Any, Iterator

import torch

from studio.core.plugins.api import HOLD, REST, STEPS_PER_BAR, pick
from studio.core.plugins.model import generator_for


def transpose_batch(batch: torch.Tensor, max_shift: int, vocab: int) -> torch.Tensor:
    """Shift each phrase's notes by a random number of semitones, leaving phrases that would leave the range."""
    if max_shift <= 0:
        return batch
    shift = torch.randint(-max_shift, max_shift + 1, (batch.shape[0], 1)).to(batch.device)  # CPU-drawn
    notes = batch > HOLD  # note-on ids follow REST and HOLD
    moved = torch.where(notes, batch + shift, batch)
    ok = ((moved > HOLD) & (moved < vocab) | ~notes).all(dim=1, keepdim=True)
    return torch.where(ok, moved, batch)


def forbid_dead_air(logits: torch.Tensor, hist: torch.Tensor, limit: int) -> torch.Tensor:
    """Forbid REST and HOLD after ``limit`` silent steps, and HOLD once a note has lasted a bar.

    Training phrases end in padding silence, and a model copies it as a melody that stops
    after a few notes or one note held for bars; a real tune's rests are short and its notes
    rarely outlast a bar. ``logits`` (n, vocab), ``hist`` (n, t); ``limit`` 0: no rule.
    """
    if limit <= 0:
        return logits
    logits = logits.clone()
    for i, row in enumerate(hist.cpu().tolist()):
        onset = max((k for k, tok in enumerate(row) if tok > HOLD), default=-1)  # last note start
        after = row[onset + 1:]
        if onset < 0 or REST in after:  # silent: since the first rest after the note (or the start)
            start = onset + 1 + after.index(REST) if REST in after else 0
            if len(row) - start >= limit:
                logits[i, REST] = logits[i, HOLD] = float("-inf")
        elif len(row) - onset >= STEPS_PER_BAR:  # the note has sounded for a bar
            logits[i, HOLD] = float("-inf")
    return logits


def settings_for_collection(tunes: int) -> dict[str, float | int]:
    """Config overrides by collection size (training tunes); the benchmark's ``melody-rnn:auto`` applies them.

    Measured (docs/performance.md, 100 training tunes, 120 CPU s): more dropout (0.35) did not help
    (classifier 0.745 vs 0.703 on Bach, 0.773 vs 0.778 on Ryan's) and transposition by up to 5 semitones
    hurt (0.873 vs 0.703: the model writes in any key, not the collection's), so from 60 tunes up the
    defaults stay and early stopping guards against learning tunes by heart. Below 60 tunes (not
    measured yet) a little more dropout; never transposition. A smaller model (one layer of 64) was
    not adopted either: Ryan's 200 0.765 vs 0.800 over four seeds (still above 0.70), but Bach 200
    0.650 vs 0.621 (docs/performance.md, "Ryan's 200: sampling and model size").
    """
    if tunes < 60:
        return {"dropout": 0.3}
    return {}


class NextEventModel:
    """Training, held-out figures and sampling of a model that predicts each melody event from those
    before it (melody-rnn, melody-transformer), for a StudioModel.

    The model provides ``_nll(batch)`` -> (cross-entropy per event, logits (B, L, vocab)),
    ``_prime(history)`` -> the state after reading a history (None for a model that re-reads it)
    and ``_next_logits(history, state)`` -> (logits (n, vocab) on the CPU for the next event, the
    new state); ``vocab``, ``sequence_length`` and the Config fields transpose, max_silence and
    temperature.
    """

    # -- training ----------------------------------------------------------
    def training_step(self, batch, opt):
        batch = transpose_batch(batch.long().to(self.device), self.config.transpose, self.vocab)
        nll, logits = self._nll(batch)
        loss = nll.mean()
        opt.step("model", loss)
        return {"loss": float(loss.detach()), "accuracy": float((logits.argmax(-1) == batch).float().mean())}

    @torch.no_grad()
    def validation_step(self, batch):
        batch = batch.long().to(self.device)
        nll, logits = self._nll(batch)
        return {"val_loss": float(nll.mean()), "val_accuracy": float((logits.argmax(-1) == batch).float().mean())}

    @torch.no_grad()
    def evaluate(self, batches: Iterator[torch.Tensor]) -> dict[str, float]:
        """Negative log-likelihood per event in nats over every held-out event (and perplexity)."""
        was = self.training
        self.eval()
        total, count, correct = 0.0, 0, 0
        for batch in batches:
            batch = batch.long().to(self.device)
            nll, logits = self._nll(batch)
            total += float(nll.sum())
            count += nll.numel()
            correct += int((logits.argmax(-1) == batch).sum())
        self.train(was)
        if not count:
            return {}
        mean = total / count
        return {"nll_per_event": mean, "perplexity": math.exp(mean), "accuracy": correct / count, "events": float(count)}

    # -- generation --------------------------------------------------------
    def _no_dead_air(self, logits: torch.Tensor, hist: torch.Tensor) -> torch.Tensor:
        """Forbid REST and HOLD after ``max_silence`` silent steps (see ``forbid_dead_air``)."""
        return forbid_dead_air(logits, hist, int(getattr(self.config, "max_silence", 0) or 0))

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, length: int | None = None, temperature: float | None = None,
               top_k: int = 0, top_p: float = 1.0, prime=None, **_: Any) -> torch.Tensor:
        """``n`` melodies of ``length`` steps (long (n, length)); deterministic for a seed."""
        length = int(length or self.sequence_length or 64)
        temperature = self.config.temperature if temperature is None else temperature
        was = self.training
        self.eval()
        g = generator_for(seed)
        prime_t = torch.as_tensor(list(prime or []), dtype=torch.long).view(1, -1).expand(n, -1)
        hist = prime_t.to(self.device)
        state = self._prime(hist)
        for _ in range(length):
            logits, state = self._next_logits(hist, state)
            tok = pick(self._no_dead_air(logits, hist), temperature=temperature, top_k=top_k, top_p=top_p, generator=g)
            hist = torch.cat([hist, tok.view(n, 1).to(self.device)], 1)
        self.train(was)
        return hist[:, prime_t.shape[1]:].cpu()

    @torch.no_grad()
    def generate(self, prime_tokens, length: int, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                 repetition_penalty: float = 1.0, seed: int = 0) -> Iterator[int]:
        """Continue ``prime_tokens`` by ``length`` events, yielding each event id as it is chosen."""
        was = self.training
        self.eval()
        try:
            g = generator_for(seed)
            hist = torch.as_tensor(list(prime_tokens or []), dtype=torch.long, device=self.device).view(1, -1)
            state = self._prime(hist)
            for _ in range(int(length)):
                logits, state = self._next_logits(hist, state)
                recent = hist[0, -STEPS_PER_BAR:].cpu() if repetition_penalty != 1.0 else None
                tok = pick(self._no_dead_air(logits, hist)[0], temperature=temperature, top_k=top_k, top_p=top_p,
                           repetition_penalty=repetition_penalty, recent=recent, generator=g)
                hist = torch.cat([hist, tok.view(1, 1).to(self.device)], 1)
                yield int(tok)
        finally:
            self.train(was)
