"""A dataset meeting a model trained on another dataset: map it into the model's tables, or refuse.

Each imported dataset has its own tables: a text dataset numbers the characters *it* holds
(``spec.vocab``), a melody dataset its own pitch range. Scoring held-out text imported on
its own with a model from another import fed the dataset's ids through the model's table
unmapped: 6.89 nats/char for a model at ~1.7, worse than guessing. :func:`fit_to_model`
re-encodes by meaning instead — characters through the model's character table (the
characters it never saw are dropped and counted), pitches into the model's range (folded by
octaves, as the importer does) — and refuses what cannot be mapped (image size or channels).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from studio.core.datasets.training_data import DatasetError, TrainingData


@dataclass
class FitReport:
    """What mapping the dataset into the model's tables changed."""
    mapped: bool = False                 # False: the tables were the same, nothing changed
    dropped: int = 0                     # characters (text) the model's table lacks, removed
    unknown: list[str] = field(default_factory=list)   # which characters (up to 20)
    folded: int = 0                      # melody notes moved by octaves into the model's range

    def to_dict(self) -> dict[str, Any]:
        return {"mapped": self.mapped, "unknown_characters": self.dropped, "unknown": self.unknown,
                "folded_notes": self.folded}

    def describe(self) -> str:
        if not self.mapped:
            return ""
        if self.dropped:
            shown = "".join(self.unknown[:20])
            return (f"the dataset's characters were mapped through the model's table; {self.dropped:,} "
                    f"characters the model never saw were left out ({shown!r})")
        if self.folded:
            return f"{self.folded:,} notes outside the model's pitch range were moved by octaves into it"
        return "the dataset was mapped into the model's tables"


def fit_to_model(data: TrainingData, model_spec) -> tuple[TrainingData, FitReport]:
    """``data`` re-encoded for a model built on ``model_spec`` (a ``DataSpec``), and what changed.

    Raises :class:`DatasetError` in words when the two cannot meet (other modality, image size).
    """
    spec = data.spec
    if spec.modality != model_spec.modality:
        raise DatasetError(f"the dataset holds {spec.modality} data but the model was trained on "
                           f"{model_spec.modality}")
    if spec.modality == "text":
        return _fit_text(data, model_spec)
    if spec.modality == "melody":
        return _fit_melody(data, model_spec)
    if (spec.image_size, spec.channels) != (model_spec.image_size, model_spec.channels):
        raise DatasetError(f"the dataset's images are {spec.image_size}x{spec.image_size} with {spec.channels} "
                           f"channel(s) but the model was trained on {model_spec.image_size}x"
                           f"{model_spec.image_size} with {model_spec.channels}; import the images again at "
                           "the model's size")
    return data, FitReport()


def _rebuild(data: TrainingData, model_spec, tensors: dict[str, torch.Tensor],
             manifest: dict[str, Any]) -> TrainingData:
    return TrainingData(model_spec, tensors, manifest, data.folder)


def _fit_text(data: TrainingData, model_spec) -> tuple[TrainingData, FitReport]:
    src, dst = list(data.spec.vocab), list(model_spec.vocab)
    if src == dst:
        return data, FitReport()
    index = {ch: i for i, ch in enumerate(dst)}
    lut = torch.tensor([index.get(ch, -1) for ch in src], dtype=torch.int64)
    report = FitReport(mapped=True)
    tokens = data.tensors["tokens"].long()
    split = int(data.manifest.get("split_at", int(len(tokens) * 0.9)))
    parts = []
    for part in (tokens[:split], tokens[split:]):
        mapped = lut[part]
        keep = mapped >= 0
        report.dropped += int((~keep).sum())
        parts.append(mapped[keep])
    missing = sorted({src[i] for i in range(len(src)) if int(lut[i]) < 0})
    report.unknown = missing[:20]
    manifest = {**data.manifest, "split_at": len(parts[0])}
    return _rebuild(data, model_spec, {**data.tensors, "tokens": torch.cat(parts)}, manifest), report


def _fit_melody(data: TrainingData, model_spec) -> tuple[TrainingData, FitReport]:
    from studio.core.audio.events import pitch_to_event

    s = data.spec
    if (s.min_pitch, s.max_pitch) == (model_spec.min_pitch, model_spec.max_pitch):
        return data, FitReport()
    report = FitReport(mapped=True)
    size = s.max_pitch - s.min_pitch + 3
    lut = torch.arange(size, dtype=torch.int64)
    for event in range(2, size):  # 0 rest, 1 hold: the same in every table; pitches folded by octaves
        lut[event] = pitch_to_event(s.min_pitch + event - 2, model_spec.min_pitch, model_spec.max_pitch)
    events = data.tensors["events"].long()
    outside = (events >= 2) & ((events - 2 + s.min_pitch < model_spec.min_pitch)
                               | (events - 2 + s.min_pitch > model_spec.max_pitch))
    report.folded = int(outside.sum())
    return _rebuild(data, model_spec, {**data.tensors, "events": lut[events]}, dict(data.manifest)), report
