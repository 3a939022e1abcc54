"""Built-in demo sources that need no download, imported through the same importers as user files.

- images: coloured shapes (circle, square, triangle, star) of varied size, position
  and rotation, drawn by Pillow at run time (seeded, so the same every time);
- melody: Essen folk songs from the ABC files that music21 ships in its corpus;
- text: tiny-shakespeare (public-domain plays, as distributed with char-rnn), shipped in
  ``studio/resources/demo/sources``.
Generated sources go to ``<data dir>/demo-sources`` so re-imports are cache hits.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from studio.core import paths
from studio.core.datasets.report import CancelToken, ImportResult, Progress, ProgressCallback

SHAPES = ("circle", "square", "triangle", "star")
LICENSES = {
    "image": "Procedurally generated shapes (Generative Studio demo); free to use.",
    "melody": "Essen Folksong Collection (Helmut Schaffrath et al.) as shipped in music21's corpus "
              "(music21 is BSD-licensed); for study and demonstration.",
    "text": "Works of Shakespeare (tiny-shakespeare, as distributed with char-rnn); public domain.",
}


def demo_sources_dir() -> Path:
    d = paths.data_dir() / "demo-sources"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _shape_polygon(kind: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    if kind == "square":
        pts = [(r * math.cos(a), r * math.sin(a)) for a in (math.pi / 4 + k * math.pi / 2 for k in range(4))]
    elif kind == "triangle":
        pts = [(r * math.cos(a), r * math.sin(a)) for a in (-math.pi / 2 + k * 2 * math.pi / 3 for k in range(3))]
    else:  # star
        pts = [((r if k % 2 == 0 else r * 0.45) * math.cos(-math.pi / 2 + k * math.pi / 5),
                (r if k % 2 == 0 else r * 0.45) * math.sin(-math.pi / 2 + k * math.pi / 5)) for k in range(10)]
    ca, sa = math.cos(angle), math.sin(angle)
    return [(cx + x * ca - y * sa, cy + x * sa + y * ca) for x, y in pts]


def generate_shapes(folder: Path, n: int = 512, size: int = 64, seed: int = 0,
                    progress: Progress | None = None) -> Path:
    """Write ``n`` PNG shapes into ``folder/<shape>/NNNNN.png`` (skips files already there)."""
    import random

    from PIL import Image, ImageDraw

    progress = progress or Progress()
    rng = random.Random(seed)
    for i in range(n):
        kind = SHAPES[i % len(SHAPES)]
        # Draw every random number even for existing files so the sequence stays the same.
        bg = tuple(rng.randint(200, 255) for _ in range(3))
        fg = tuple(rng.randint(0, 180) for _ in range(3))
        r = rng.uniform(0.18, 0.38) * size
        cx, cy = rng.uniform(r, size - r), rng.uniform(r, size - r)
        angle = rng.uniform(0, 2 * math.pi)
        path = folder / kind / f"{i:05d}.png"
        if path.exists():
            continue
        if i % 32 == 0:
            progress.update(i, n, "drawing demo shapes")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Drawn at 4x and downsampled: smooth edges like a real picture.
        big = Image.new("RGB", (size * 4, size * 4), bg)
        d = ImageDraw.Draw(big)
        if kind == "circle":
            d.ellipse([4 * (cx - r), 4 * (cy - r), 4 * (cx + r), 4 * (cy + r)], fill=fg)
        else:
            d.polygon([(4 * x, 4 * y) for x, y in _shape_polygon(kind, cx, cy, r, angle)], fill=fg)
        tmp = path.with_suffix(".tmp")
        big.resize((size, size), Image.Resampling.LANCZOS).save(tmp, format="PNG")
        tmp.replace(path)
    return folder


def essen_files(limit: int | None = None) -> list[Path]:
    """The Essen folk-song ABC files in music21's corpus (read in place, never copied)."""
    from music21 import corpus

    files = sorted(p for p in corpus.getPaths(fileExtensions=("abc",)) if "essenFolksong" in str(p))
    return files[:limit] if limit else files


def shakespeare_file() -> Path:
    """The shipped tiny-shakespeare text (read in place, never copied)."""
    return paths.resources_dir() / "demo" / "sources" / "tiny-shakespeare.txt"


def import_demo(modality: str, out_dir, *, n: int | None = None, progress: ProgressCallback | None = None,
                cancel: CancelToken = None, **settings: Any) -> ImportResult:
    """Import the built-in demo source of ``modality`` ('image' | 'melody' | 'text') into ``out_dir``.

    ``n``: number of shapes (images, default 512) or of tunes (melody, default 240; 0: every Essen tune).
    Other keyword arguments go to the importer (size, channels, phrase_bars, ...).
    """
    modality = {"images": "image", "music": "melody", "melodies": "melody"}.get(modality, modality)
    prog = Progress(progress, cancel)
    if modality == "image":
        from studio.core.datasets.images import import_images

        count = int(n or 512)
        folder = generate_shapes(demo_sources_dir() / f"shapes-{count}", count, progress=prog)
        settings.setdefault("labels", True)
        return import_images([folder], out_dir, progress=progress, cancel=cancel,
                             license_note=LICENSES["image"], **settings)
    if modality == "melody":
        from studio.core.datasets.music import import_music

        files = essen_files()
        if not files:
            raise FileNotFoundError("music21's corpus has no Essen folk songs in this installation")
        if n == 0:  # the whole collection
            chosen, per_file = files, None
        else:
            tunes, per_file = int(n or 240), 40
            chosen, per_file = files[: max(1, math.ceil(tunes / per_file))], min(per_file, tunes)
        return import_music(chosen, out_dir, max_tunes_per_file=per_file, progress=progress,
                            cancel=cancel, license_note=LICENSES["melody"], **settings)
    if modality == "text":
        from studio.core.datasets.text import import_text

        src = shakespeare_file()
        if not src.is_file():
            raise FileNotFoundError(f"{src}: the demo text is missing from this installation")
        return import_text([src], out_dir, progress=progress, cancel=cancel, license_note=LICENSES["text"],
                           **settings)
    raise ValueError(f"unknown demo modality {modality!r}; use image, melody or text")
