"""A small, fast look into a dataset folder for previews (no torch: safetensors slices as numpy)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.datasets.writer import TENSORS, read_manifest


@dataclass
class DatasetPreview:
    folder: Path
    manifest: dict[str, Any]
    modality: str
    images: np.ndarray | None = None          # (n, C, H, W) uint8
    labels: list[str] = field(default_factory=list)
    phrases: np.ndarray | None = None         # (n, L) event ids
    text: str = ""
    count: int = 0

    @property
    def title(self) -> str:
        return self.folder.name


def _slice(path: Path, name: str, n: int) -> tuple[np.ndarray | None, int]:
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as fh:
        if name not in fh.keys():
            return None, 0
        sl = fh.get_slice(name)
        total = int(sl.get_shape()[0])
        return sl[: min(n, total)], total


def load_preview(folder: str | Path, n_images: int = 48, n_phrases: int = 8, n_chars: int = 3000) -> DatasetPreview:
    """Manifest plus the first few items; raises ValueError naming the folder when it is not a dataset."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise ValueError(f"{folder} is not a studio dataset (no readable manifest.json)")
    modality = str(manifest.get("modality", ""))
    pv = DatasetPreview(folder, manifest, modality)
    path = folder / TENSORS
    try:
        if modality == "image":
            pv.images, pv.count = _slice(path, "images", n_images)
            classes = manifest.get("classes") or []
            labels, _ = _slice(path, "labels", n_images)
            if classes and labels is not None:
                pv.labels = [classes[int(i)] if 0 <= int(i) < len(classes) else "" for i in labels]
        elif modality == "melody":
            pv.phrases, pv.count = _slice(path, "events", n_phrases)
        elif modality == "text":
            tokens, pv.count = _slice(path, "tokens", n_chars)
            vocab = manifest.get("spec", {}).get("vocab", [])
            if tokens is not None:
                pv.text = "".join(vocab[int(t)] for t in tokens if 0 <= int(t) < len(vocab))
    except Exception as exc:  # noqa: BLE001 - a damaged tensor file still shows its report
        raise ValueError(f"{path}: cannot read the cached tensors ({exc})") from exc
    return pv
