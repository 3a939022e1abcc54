"""Is the melody model copying the training tunes? The Melody panel's check of each variation.

When a run's model is opened, the figures (8-note shapes, ``studio.core.melody_originality``) of its
training tunes are indexed on the loader's thread; each generated variation is then checked against
them (a set lookup, instant). A variation that takes more of its figures from the training tunes than
the tunes share among themselves is marked in the list, and the note under the list says how much of
the whole batch is copied and from which tune.
"""
from __future__ import annotations

import logging

from PySide6.QtGui import QColor

log = logging.getLogger(__name__)
AMBER = QColor(185, 119, 14)


def copy_index_for(session):
    """A ``MelodyCopyIndex`` of the run's training tunes, or None (dataset moved, deleted, or empty)."""
    path = (session.origin.dataset or {}).get("path")
    if not path:
        return None
    try:
        import torch

        from studio.core.datasets import load_dataset
        from studio.core.melody_originality import MelodyCopyIndex
        data = load_dataset(path)
        if not data.size("train"):
            return None
        train = torch.cat(list(data.iter_batches("train", 256)))
        return MelodyCopyIndex(train.tolist(), data.spec.min_pitch)
    except Exception as exc:  # noqa: BLE001 - the check is a nicety; generation works without it
        log.info("no copy check for %s: %s", path, exc)
        return None


def mark_variation(item, index, events: list[int]) -> None:
    """Mark a variations-list item when that variation copies (text, colour, tooltip)."""
    if index is None:
        return
    report = index.report([events])
    warning = report.warning()
    if warning:
        item.setText(f"{item.text()} · {report.copy_rate:.0%} copied")
        item.setForeground(AMBER)
        item.setToolTip(f"{warning}\n{item.toolTip()}")


def batch_note(index, variations: list[list[int]]) -> tuple[str, bool]:
    """(the sentence under the variations, whether it is a warning) for a finished batch."""
    if index is None or not variations:
        return "", False
    report = index.report(variations)
    warning = report.warning()
    if warning:
        return warning, True
    return (f"Original: {report.copy_rate:.0%} of these variations' 8-note figures come from the training "
            f"tunes (the tunes share {report.training_copy_rate:.0%} among themselves)."), False
