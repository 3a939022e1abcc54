"""While a model trains, each preview is checked against the training data: is it starting to copy?

The figures go into the run's metrics (the Loss panel draws them, the Training panel warns from them):

* ``originality/similarity`` (images): median similarity of the preview pictures to their closest
  training picture (``studio.core.originality``: features, not raw pixels).
* ``originality/copy_rate``: images, the share of preview pictures that are near copies; melodies, the
  share of their 8-note figures found in the training tunes (``studio.core.melody_originality``).
* ``originality/copy_limit``: the copy rate above which the studio warns (for melodies it depends on how
  much the training tunes share among themselves).

The training index is built once, on the first preview, after that preview is written (the artist sees
the picture first). A dataset the check cannot cover (text, fewer than 2 items) turns the watch off.
"""
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("studio.training")

COPY_RATE = "originality/copy_rate"
COPY_LIMIT = "originality/copy_limit"
SIMILARITY = "originality/similarity"


class OriginalityWatch:
    def __init__(self, data: Any):
        self.data = data
        self.modality = data.spec.modality
        self.index = None
        self.off = self.modality not in ("image", "melody")

    def _build(self) -> None:
        if self.modality == "image":
            from studio.core.originality import index_for_dataset
            self.index = index_for_dataset(self.data)
        else:
            from studio.core.melody_originality import MelodyCopyIndex
            self.index = MelodyCopyIndex.for_dataset(self.data)

    def check(self, sample: Any) -> tuple[dict[str, float], str | None]:
        """(metric values, a warning sentence or None) for one preview batch; ({}, None) when off."""
        if self.off:
            return {}, None
        try:
            if self.index is None:
                self._build()
            if self.modality == "image":
                from studio.core.originality import WARN_COPY_RATE
                report = self.index.report(sample.detach().float().cpu())
                figures = {SIMILARITY: report.nearest_training_similarity, COPY_RATE: report.copy_rate,
                           COPY_LIMIT: WARN_COPY_RATE}
            else:
                events = sample.detach().long().cpu().tolist() if hasattr(sample, "detach") else sample
                report = self.index.report(events)
                figures = {COPY_RATE: report.copy_rate, COPY_LIMIT: report.threshold}
        except (ValueError, RuntimeError) as exc:  # too few items, odd shapes: the check is a nicety
            log.info("originality check off: %s", exc)
            self.off = True
            return {}, None
        return figures, report.warning()
