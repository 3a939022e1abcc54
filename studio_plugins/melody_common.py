"""Helpers shared by the melody plugins (melody-rnn, melody-vae, melody-transformer)."""
from __future__ import annotations

import torch

from studio.core.plugins.api import HOLD, REST, STEPS_PER_BAR


def transpose_batch(batch: torch.Tensor, max_shift: int, vocab: int) -> torch.Tensor:
    """Shift each phrase's notes by a random number of semitones, leaving phrases that would leave the range."""
    if max_shift <= 0:
        return batch
    shift = torch.randint(-max_shift, max_shift + 1, (batch.shape[0], 1))
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
    measured yet) a little more dropout; never transposition.
    """
    if tunes < 60:
        return {"dropout": 0.3}
    return {}
