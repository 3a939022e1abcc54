"""Argument types that refuse absurd numbers in words, before any work starts.

argparse's ``type=float`` takes ``nan``, ``inf`` and ``1e-9``; ``type=int`` takes ``2**64``.
Each then failed deep inside (``--bpm 1e-9`` asked numpy for 75 PiB, ``--seed 2**64``
overflowed torch, ``--minutes nan`` trained for ever). These are used as ``type=``:

    p.add_argument("--bpm", type=bpm, default=120.0)
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--minutes", type=positive_minutes)
"""
from __future__ import annotations

import argparse
import math

MIN_BPM, MAX_BPM = 20.0, 400.0      # as the melody importer (audio.note_spans)
MAX_SEED = 2**63 - 1                # torch.manual_seed takes a signed 64-bit number
MAX_MINUTES = 60 * 24 * 365         # a year of training


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{what} must be a finite number, not {text!r}")
    return value


def bpm(text: str) -> float:
    """A tempo in beats per minute, 20..400 (0 or 1e-9 would ask for an endless audio buffer)."""
    value = _number(text, "the tempo (--bpm)")
    if not MIN_BPM <= value <= MAX_BPM:
        raise argparse.ArgumentTypeError(f"the tempo (--bpm) must be between {MIN_BPM:g} and {MAX_BPM:g} "
                                         f"beats per minute, not {text}")
    return value


def seed(text: str) -> int:
    """A random seed: a whole number from 0 to 2**63-1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the seed (--seed) must be a whole number, not {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"the seed (--seed) must be between 0 and {MAX_SEED} (2**63-1), "
                                         f"not {text}")
    return value


def positive_minutes(text: str) -> float:
    """A training time in minutes: positive, finite, at most a year."""
    value = _number(text, "the training time (--minutes)")
    if not 0 < value <= MAX_MINUTES:
        raise argparse.ArgumentTypeError(f"the training time (--minutes) must be more than 0 and at most "
                                         f"{MAX_MINUTES} (a year), not {text}")
    return value


def positive_int(what: str, most: int = 2**31 - 1):
    """A type for a count such as ``--steps`` or ``--batch-size``: 1..``most``."""
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, not {text!r}") from None
        if not 1 <= value <= most:
            raise argparse.ArgumentTypeError(f"{what} must be between 1 and {most}, not {text}")
        return value
    check.__name__ = "count"
    return check
