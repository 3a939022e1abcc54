"""A dataset folder loaded for training: tensors + DataSpec + random batches.

Folder format (stable): ``manifest.json`` and ``data.safetensors`` holding
  images:  ``images`` uint8 (N,C,H,W), ``labels`` int64 (N,), ``val_mask`` bool (N,)
  melody:  ``events`` int64 (N,L) phrases, ``val_mask`` bool (N,)
  text:    ``tokens`` int64 (T,); the manifest's ``split_at`` is the first validation token
Augmentation choices (``augment.hflip``) are applied here at batch time, never baked in.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import torch

from studio.core.fileio import read_json
from studio.core.plugins.api import DataSpec

MANIFEST = "manifest.json"
TENSORS = "data.safetensors"


class DatasetError(ValueError):
    """A dataset folder that cannot be used, with the reason in words."""


class TrainingData:
    def __init__(self, spec: DataSpec, tensors: dict[str, torch.Tensor], manifest: dict[str, Any] | None = None,
                 folder: Path | None = None):
        self.spec = spec
        self.tensors = tensors
        self.manifest = manifest or {}
        self.folder = folder
        self.hflip = bool(self.manifest.get("augment", {}).get("hflip", False))
        if spec.modality == "text":
            tokens = tensors["tokens"].long()
            split = int(self.manifest.get("split_at", int(len(tokens) * 0.9)))
            self._splits = {"train": tokens[:split], "val": tokens[split:]}
        else:
            key = "images" if spec.modality == "image" else "events"
            items = tensors[key]
            mask = tensors.get("val_mask")
            if mask is None:
                mask = torch.zeros(len(items), dtype=torch.bool)
            mask = mask.bool()
            val = items[mask]
            self._splits = {"train": items[~mask], "val": val if len(val) else items[: max(1, len(items) // 10)]}

    @classmethod
    def from_tensors(cls, spec: DataSpec, **tensors: torch.Tensor) -> "TrainingData":
        """For tests and plugins' own checks: build from in-memory tensors."""
        return cls(spec, tensors, {})

    def size(self, split: str = "train") -> int:
        return len(self._splits[split])

    def _item_batch(self, items: torch.Tensor, idx: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        batch = items[idx]
        if self.spec.modality == "image":
            batch = batch.float().div_(255.0)
            if self.hflip and generator is not None:
                flip = torch.rand(len(batch), generator=generator) < 0.5
                batch[flip] = batch[flip].flip(-1)
            return batch
        return batch.long()

    def random_batch(self, split: str, batch_size: int, generator: torch.Generator | None = None,
                     seq_len: int | None = None) -> torch.Tensor:
        """Images float (B,C,H,W) in [0,1]; melodies long (B,L); text long (B,seq_len) windows."""
        data = self._splits[split]
        if self.spec.modality == "text":
            if seq_len is None:
                raise DatasetError("text batches need seq_len (the model's context + 1)")
            n = len(data) - seq_len
            if n <= 0:
                raise DatasetError(f"the {split} text has {len(data)} characters, fewer than one window of {seq_len}")
            starts = torch.randint(0, n + 1, (batch_size,), generator=generator)
            return torch.stack([data[s:s + seq_len] for s in starts.tolist()])
        idx = torch.randint(0, len(data), (batch_size,), generator=generator)
        return self._item_batch(data, idx, generator)

    def iter_batches(self, split: str, batch_size: int, seq_len: int | None = None,
                     max_batches: int | None = None) -> Iterator[torch.Tensor]:
        """Deterministic pass over a split (evaluation)."""
        data = self._splits[split]
        count = 0
        if self.spec.modality == "text":
            if seq_len is None:
                raise DatasetError("text batches need seq_len")
            # Non-overlapping windows; a window of seq_len scores seq_len-1 next-char predictions.
            starts = list(range(0, max(len(data) - seq_len, 0) + 1, seq_len - 1))
            for i in range(0, len(starts), batch_size):
                yield torch.stack([data[s:s + seq_len] for s in starts[i:i + batch_size]])
                count += 1
                if max_batches and count >= max_batches:
                    return
            return
        for i in range(0, len(data), batch_size):
            yield self._item_batch(data, torch.arange(i, min(i + batch_size, len(data))), None)
            count += 1
            if max_batches and count >= max_batches:
                return


def load_dataset(folder: str | Path) -> TrainingData:
    """Open a dataset folder written by an importer; refuses anything else in words."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    mpath = folder / MANIFEST
    if not mpath.is_file():
        raise DatasetError(f"{folder} is not a dataset folder (no {MANIFEST}); import one with `studio import`")
    try:
        manifest = read_json(mpath)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{mpath}: {exc}") from exc
    if not isinstance(manifest, dict) or "spec" not in manifest:
        raise DatasetError(f"{mpath}: not a studio dataset manifest (no 'spec')")
    try:
        tensors = load_file(str(folder / TENSORS))
    except (OSError, SafetensorError, ValueError) as exc:
        raise DatasetError(f"{folder / TENSORS}: cannot read the cached tensors ({exc}); re-import the dataset") from exc
    spec = DataSpec.from_dict(manifest["spec"])
    return TrainingData(spec, tensors, manifest, folder)
