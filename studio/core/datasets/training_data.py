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
    if not mpath.exists() and not mpath.is_symlink():  # a FIFO or device is refused below, by name
        raise DatasetError(f"{folder} is not a dataset folder (no {MANIFEST}); import one with `studio import`")
    try:
        manifest = read_json(mpath, what="dataset manifest")
    except ValueError as exc:  # the guarded reader's message names the file
        raise DatasetError(str(exc)) from exc
    except OSError as exc:
        raise DatasetError(f"{mpath}: {exc.strerror or exc}") from exc
    if not isinstance(manifest, dict) or "spec" not in manifest:
        raise DatasetError(f"{mpath}: not a studio dataset manifest (no 'spec')")
    spec = _spec(manifest, mpath)
    tpath = folder / TENSORS
    if tpath.exists() and not tpath.is_file():
        raise DatasetError(f"{tpath} is not a regular file; re-import the dataset")
    try:
        tensors = load_file(str(tpath))
    except (OSError, SafetensorError, ValueError) as exc:
        raise DatasetError(f"{tpath}: cannot read the cached tensors ({exc}); re-import the dataset") from exc
    problem = tensor_problem(spec, tensors, manifest)
    if problem:  # out-of-range ids once surfaced as a raw IndexError at training step 1
        raise DatasetError(f"{tpath}: {problem}; the dataset is damaged or was edited, re-import the dataset")
    return TrainingData(spec, tensors, manifest, folder)


def _spec(manifest: dict[str, Any], mpath: Path) -> DataSpec:
    """The manifest's DataSpec, its field types checked (a type-confused manifest is refused in words)."""
    d = manifest["spec"]
    if not isinstance(d, dict):
        raise DatasetError(f"{mpath}: 'spec' should be an object, not {type(d).__name__}; re-import the dataset")
    if d.get("modality") not in ("image", "melody", "text"):
        raise DatasetError(f"{mpath}: unknown modality {str(d.get('modality'))[:40]!r}; re-import the dataset")
    for key in ("image_size", "channels", "num_classes", "phrase_length", "min_pitch", "max_pitch"):
        v = d.get(key, 0)
        if not (isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31):
            raise DatasetError(f"{mpath}: spec '{key}' should be a whole number, not {str(v)[:40]!r}; "
                               "re-import the dataset")
    vocab = d.get("vocab", [])
    if not isinstance(vocab, list) or not all(isinstance(c, str) for c in vocab):
        raise DatasetError(f"{mpath}: spec 'vocab' should be a list of characters; re-import the dataset")
    split = manifest.get("split_at")
    if split is not None and not (isinstance(split, int) and not isinstance(split, bool) and split >= 0):
        raise DatasetError(f"{mpath}: 'split_at' should be a whole number; re-import the dataset")
    if manifest.get("augment") is not None and not isinstance(manifest["augment"], dict):
        raise DatasetError(f"{mpath}: 'augment' should be an object; re-import the dataset")
    return DataSpec.from_dict(d)


def _range_problem(name: str, t: torch.Tensor, low: int, high: int) -> str | None:
    if t.is_floating_point() or t.dtype == torch.bool:
        return f"'{name}' holds {t.dtype} values, not whole numbers"
    if t.numel() and (int(t.min()) < low or int(t.max()) >= high):
        return f"'{name}' holds values from {int(t.min())} to {int(t.max())}, outside {low}..{high - 1}"
    return None


def tensor_problem(spec: DataSpec, tensors: dict[str, torch.Tensor], manifest: dict[str, Any]) -> str | None:
    """What in a dataset's tensors does not fit its manifest (names, shapes, id ranges), in words; else None."""
    if spec.modality == "text":
        t = tensors.get("tokens")
        if t is None or t.dim() != 1:
            return "no 1-D 'tokens' tensor"
        if not spec.vocab:
            return "the manifest has an empty character table"
        split = manifest.get("split_at")
        if split is not None and split > len(t):
            return f"'split_at' {split} is past the end of the {len(t)} tokens"
        return _range_problem("tokens", t, 0, len(spec.vocab))
    if spec.modality == "melody":
        t = tensors.get("events")
        if t is None or t.dim() != 2:
            return "no 2-D 'events' tensor"
        if spec.max_pitch < spec.min_pitch:
            return f"the pitch range {spec.min_pitch}..{spec.max_pitch} is empty"
        problem = _range_problem("events", t, 0, spec.vocab_size)
    else:
        t = tensors.get("images")
        if t is None or t.dim() != 4:
            return "no 4-D 'images' tensor"
        if t.dtype != torch.uint8:
            return f"'images' holds {t.dtype}, not 8-bit pixels"
        want = (spec.channels, spec.image_size, spec.image_size)
        if spec.image_size and tuple(t.shape[1:]) != want:
            return f"'images' are {tuple(t.shape[1:])}, but the manifest says {want}"
        labels = tensors.get("labels")
        problem = None
        if labels is not None and spec.num_classes:
            if labels.dim() != 1 or len(labels) != len(t):
                return f"'labels' has shape {tuple(labels.shape)}, not one per image"
            problem = _range_problem("labels", labels, 0, spec.num_classes)
    if problem:
        return problem
    mask = tensors.get("val_mask")
    if mask is not None and (mask.dim() != 1 or len(mask) != len(t)):
        return f"'val_mask' has shape {tuple(mask.shape)}, not one flag per item"
    return None
