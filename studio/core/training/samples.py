"""Sample previews written while training: ``samples/step-XXXXXXXX.png|.json|.txt``.

Images become one PNG grid (Pillow); melodies a JSON list of event-id
sequences (``studio.core.audio.events`` vocabulary, with the pitch range so a
reader can decode them); text a UTF-8 ``.txt``. Writes are atomic.
"""
from __future__ import annotations

import json
import math
from io import BytesIO
from pathlib import Path
from typing import Any

from studio.core.fileio import atomic_write_bytes, atomic_write_text

MELODY_FORMAT = "studio-melody-events/1"


def image_grid(images, pad: int = 2):
    """float (n,C,H,W) in [0,1] -> a PIL image grid, about square."""
    import numpy as np
    from PIL import Image

    arr = images.detach().float().clamp(0, 1).mul(255).round().byte().cpu().numpy()
    n, c, h, w = arr.shape
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        grid[y:y + h, x:x + w] = arr[i].transpose(1, 2, 0)
    mode = "L" if c == 1 else "RGB"
    return Image.fromarray(grid[:, :, 0] if c == 1 else grid[:, :, :3], mode=mode)


def save_preview(samples_dir: str | Path, step: int, modality: str, sample: Any, spec=None) -> tuple[str, Path]:
    """Write one preview; returns (kind, path). ``kind`` is ``image|melody|text``."""
    samples_dir = Path(samples_dir)
    stem = samples_dir / f"step-{int(step):08d}"
    if modality == "image":
        buf = BytesIO()
        image_grid(sample).save(buf, format="PNG")
        path = stem.with_suffix(".png")
        atomic_write_bytes(path, buf.getvalue())
        return "image", path
    if modality == "melody":
        seqs = sample.detach().long().cpu().tolist() if hasattr(sample, "detach") else [list(map(int, s)) for s in sample]
        doc = {"format": MELODY_FORMAT, "step": int(step), "steps_per_quarter": 4,
               "min_pitch": getattr(spec, "min_pitch", 36) or 36, "max_pitch": getattr(spec, "max_pitch", 96) or 96,
               "events": seqs}
        path = stem.with_suffix(".json")
        atomic_write_text(path, json.dumps(doc) + "\n")
        return "melody", path
    if modality == "text":
        texts = [sample] if isinstance(sample, str) else [str(t) for t in sample]
        path = stem.with_suffix(".txt")
        atomic_write_text(path, "\n\n----\n\n".join(texts) + "\n")
        return "text", path
    raise ValueError(f"no preview format for modality {modality!r}")
