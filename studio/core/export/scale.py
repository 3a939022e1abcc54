"""Export sizes: enlarge generated pictures by 1×, 2×, 4× or 8× before they are written.

Small models make small pictures (32 or 64 px); artists print, post and edit bigger ones. Every
image and video writer (``images``, ``video``, ``studio.core.latent.walk_export``) enlarges through
:func:`scale_image`, so the choice means the same everywhere and is recorded the same way: the
recipe of each file gets ``"output": {"scale", "resample", "width", "height"}``.

Resampling: ``nearest`` repeats each pixel as a block (crisp pixel art, exact colours);
``smooth`` is Lanczos (Pillow), for pictures that should look painted rather than pixelated.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from PIL import Image

SCALES = (1, 2, 4, 8)
RESAMPLES = ("nearest", "smooth")
RESAMPLE_LABELS = {"nearest": "Crisp pixels (nearest)", "smooth": "Smooth (Lanczos)"}
#: Where a project keeps its choice (``project.ui[SETTING_KEY]``).
SETTING_KEY = "export_size"
RECIPE_KEY = "output"
#: About 268 million pixels (800 MB as RGB): a 16×16 latent grid of 128-px cells at 8× is past it, and
#: would exhaust memory before a file appeared, so it is refused in words instead.
MAX_EXPORT_PIXELS = 1 << 28


def parse_scale(value: Any) -> int:
    """1, 2, 4 or 8 from an int or text such as ``"4"`` or ``"4x"``; anything else is refused in words."""
    text = str(value).strip().lower().rstrip("x×")
    try:
        scale = int(text)
    except ValueError:
        raise ValueError(f"scale must be one of {', '.join(map(str, SCALES))} (got {value!r})") from None
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(map(str, SCALES))} (got {value!r}); "
                         "pictures are enlarged by whole powers of two so pixels stay aligned")
    return scale


def parse_resample(value: Any) -> str:
    name = str(value).strip().lower()
    if name not in RESAMPLES:
        raise ValueError(f"resample must be 'nearest' (crisp pixels) or 'smooth' (Lanczos), got {value!r}")
    return name


@dataclass(frozen=True)
class ExportSize:
    """How much to enlarge exported pictures, and how."""

    scale: int = 1
    resample: str = "nearest"

    def __post_init__(self):
        object.__setattr__(self, "scale", parse_scale(self.scale))
        object.__setattr__(self, "resample", parse_resample(self.resample))

    def pixels(self, width: int, height: int) -> tuple[int, int]:
        return width * self.scale, height * self.scale

    def label(self, width: int | None = None, height: int | None = None) -> str:
        """``"4× — 256×256 px"`` (the scale alone when the picture size is not known yet)."""
        if not width or not height:
            return f"{self.scale}×"
        w, h = self.pixels(width, height)
        return f"{self.scale}× — {w}×{h} px"

    def to_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "resample": self.resample}

    def record(self, width: int, height: int) -> dict[str, Any]:
        """What the recipe stores: the choice and the pixel size it gave."""
        return {**self.to_dict(), "width": int(width), "height": int(height)}

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None, default: "ExportSize | None" = None) -> "ExportSize":
        """The choice kept in a project's settings; a missing or damaged entry gives ``default``
        (a hand-edited project file must never stop exports)."""
        default = default or DEFAULT
        entry = (settings or {}).get(SETTING_KEY) if isinstance(settings, Mapping) else None
        if not isinstance(entry, Mapping):
            return default
        try:
            return cls(entry.get("scale", default.scale), entry.get("resample", default.resample))
        except ValueError:
            return default


#: A new project's choice: a 64-px model exports 256 px, soft enough for painting over.
DEFAULT = ExportSize(4, "smooth")


def check_budget(width: int, height: int, frames: int = 1, what: str = "this export") -> None:
    """Refuse (ValueError, in words) an export too large to build in memory."""
    total = int(width) * int(height) * max(1, int(frames))
    if total > MAX_EXPORT_PIXELS:
        many = f" × {frames} frames" if frames > 1 else ""
        raise ValueError(f"{what} would be {width}×{height} px{many} ({total * 3 / 2**20:,.0f} MB in memory); "
                         f"choose a smaller export size{' or fewer frames' if frames > 1 else ' or fewer cells'}")


def scale_image(image: Any, size: ExportSize | None) -> np.ndarray:
    """uint8 (H,W) or (H,W,C) array (or a PIL image) enlarged by ``size``; the same array at 1×."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3):
        raise ValueError(f"scale_image expects a uint8 (H,W) or (H,W,C) picture, got {arr.dtype} {arr.shape}")
    if size is None or size.scale == 1:
        return arr
    s = size.scale
    check_budget(arr.shape[1] * s, arr.shape[0] * s, what="the enlarged picture")
    if size.resample == "nearest":
        # Whole blocks by repetition: exact colours, identical s×s blocks, no library rounding.
        return np.ascontiguousarray(np.repeat(np.repeat(arr, s, axis=0), s, axis=1))
    h, w = arr.shape[:2]
    if arr.ndim == 3 and arr.shape[2] == 1:
        return scale_image(arr[..., 0], size)[..., None]
    if arr.ndim == 3 and arr.shape[2] not in (3, 4):
        raise ValueError(f"scale_image cannot resample {arr.shape[2]}-channel pictures smoothly")
    return np.asarray(Image.fromarray(np.ascontiguousarray(arr)).resize((w * s, h * s), Image.LANCZOS))


def scale_frames(frames: Any, size: ExportSize | None) -> list[np.ndarray]:
    return [scale_image(f, size) for f in frames]


def even_frame(frame: np.ndarray) -> np.ndarray:
    """Pad an odd width or height by repeating the last column/row: H.264 (yuv420p) needs even sides,
    and padding keeps every pixel where a rescale would blur the whole picture."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    pad = [(0, h % 2), (0, w % 2)] + [(0, 0)] * (frame.ndim - 2)
    return np.pad(frame, pad, mode="edge")


def stamp(recipe: dict[str, Any] | None, size: ExportSize | None, width: int, height: int) -> dict[str, Any] | None:
    """``recipe`` with the export size recorded (unchanged when no size was chosen)."""
    if size is None:
        return recipe
    return {**(recipe or {}), RECIPE_KEY: size.record(width, height)}
