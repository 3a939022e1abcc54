"""Helpers shared by the melody plugins (melody-rnn, melody-vae)."""
from __future__ import annotations

import torch

from studio.core.plugins.api import HOLD


def transpose_batch(batch: torch.Tensor, max_shift: int, vocab: int) -> torch.Tensor:
    """Shift each phrase's notes by a random number of semitones, leaving phrases that would leave the range."""
    if max_shift <= 0:
        return batch
    shift = torch.randint(-max_shift, max_shift + 1, (batch.shape[0], 1))
    notes = batch > HOLD  # note-on ids follow REST and HOLD
    moved = torch.where(notes, batch + shift, batch)
    ok = ((moved > HOLD) & (moved < vocab) | ~notes).all(dim=1, keepdim=True)
    return torch.where(ok, moved, batch)
