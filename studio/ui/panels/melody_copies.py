"""What the Melody panel learns from a run's training tunes: their meter and key (a jig stays in 6/8 in
the piano roll and the MIDI file) and whether the model copies them (the check of each variation).

When a run's model is opened, the figures (8-note shapes, ``studio.core.melody_originality``) of its
training tunes are indexed on the loader's thread; each generated variation is then checked against
them (a set lookup, instant). A variation that takes more of its figures from the training tunes than
the tunes share among themselves is marked in the list, and the note under the list says how much of
the whole batch is copied and from which tune.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QColor

log = logging.getLogger(__name__)
AMBER = QColor(185, 119, 14)


@dataclass
class RunTunes:
    copy_index: Any = None             # MelodyCopyIndex of the training tunes, or None
    time_signature: str | None = None  # the collection's most common meter ("6/8"), None when unknown
    key: str | None = None             # its most common key ("G major"), None when unknown


def run_tunes(session) -> RunTunes:
    """Meter, key and copy index of the run's training tunes (an empty ``RunTunes`` when the dataset
    moved, was deleted or is empty: generation works without them)."""
    return tunes_of((session.origin.dataset or {}).get("path"))


def tunes_of_run(run_dir: str) -> RunTunes:
    """As :func:`run_tunes`, from the run folder's ``run.json`` (a demo run learns its dataset late)."""
    from studio.core.training.run_folder import RunFolderError, read_run
    try:
        return tunes_of((read_run(run_dir).get("dataset") or {}).get("path"))
    except RunFolderError:
        return RunTunes()


def tunes_of(path: str | None) -> RunTunes:
    if not path:
        return RunTunes()
    try:
        from studio.core.datasets import load_dataset
        from studio.core.melody_originality import MelodyCopyIndex
        data = load_dataset(path)
        found = RunTunes(time_signature=data.manifest.get("time_signature"), key=data.manifest.get("key"))
        if data.size("train"):
            found.copy_index = MelodyCopyIndex.for_dataset(data)
        return found
    except Exception as exc:  # noqa: BLE001 - a nicety; generation works without it
        log.info("no meter or copy check for %s: %s", path, exc)
        return RunTunes()


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
