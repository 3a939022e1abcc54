"""Latent bookmarks and paths as plain dicts kept in ``Project.bookmarks`` / ``Project.paths``.

A bookmark records everything needed to reproduce its sample exactly:
``{name, plugin, run, checkpoint, vector, seed, thumbnail?, created}``; ``vector`` is a list of
floats, ``thumbnail`` a small PNG as base64 text. A path is
``{name, plugin, run, checkpoint, points: [vectors], method, steps, created}``.
Plain dicts keep ``project.json`` readable by outside tooling; only keys are ever added.
"""
from __future__ import annotations

import base64
import io
import time
from typing import Any, Sequence

import numpy as np

from studio.core.latent.interp import METHODS, as_vectors


def _vector_list(vector) -> list[float]:
    arr = np.asarray(vector, dtype=np.float32).reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise ValueError("a latent vector with NaN or infinite values cannot be bookmarked")
    return [float(x) for x in arr]


def thumbnail_png(image_hwc: np.ndarray, size: int = 48) -> str:
    """A small PNG (base64 text) of an RGB/grey uint8 image, for bookmark lists."""
    from PIL import Image

    arr = np.asarray(image_hwc)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    im = Image.fromarray(arr)
    im.thumbnail((size, size), Image.Resampling.NEAREST if max(arr.shape[:2]) <= size else Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def thumbnail_bytes(bookmark: dict[str, Any]) -> bytes | None:
    data = bookmark.get("thumbnail")
    if not data:
        return None
    try:
        return base64.b64decode(data)
    except (ValueError, TypeError):
        return None


def make_bookmark(name: str, *, plugin: str, run: str, checkpoint: str, vector, seed: int | None = None,
                  thumbnail: str | None = None, **extra: Any) -> dict[str, Any]:
    bm: dict[str, Any] = {"name": str(name) or "bookmark", "plugin": str(plugin), "run": str(run),
                          "checkpoint": str(checkpoint), "vector": _vector_list(vector),
                          "seed": None if seed is None else int(seed), "created": time.time()}
    if thumbnail:
        bm["thumbnail"] = thumbnail
    bm.update(extra)
    return bm


def bookmark_vector(bookmark: dict[str, Any], dim: int | None = None) -> np.ndarray:
    """The bookmark's vector as float32 (D,); a clear error when it does not fit the model."""
    name = bookmark.get("name", "?")
    vec = bookmark.get("vector")
    if not isinstance(vec, list) or not vec:
        raise ValueError(f"bookmark {name!r} has no vector")
    arr = np.asarray(vec, dtype=np.float32)
    if dim is not None and arr.shape[0] != dim:
        raise ValueError(f"bookmark {name!r} has {arr.shape[0]} dimensions; this model's latent has {dim}")
    return arr


def make_path(name: str, points: Sequence, *, plugin: str, run: str, checkpoint: str, method: str = "slerp",
              steps: int = 8, **extra: Any) -> dict[str, Any]:
    if method not in METHODS:
        raise ValueError(f"interpolation method {method!r} is not one of {', '.join(METHODS)}")
    pts = as_vectors(points)
    if len(pts) < 2:
        raise ValueError("a path needs at least two points")
    path = {"name": str(name) or "path", "plugin": str(plugin), "run": str(run), "checkpoint": str(checkpoint),
            "points": [_vector_list(p) for p in pts], "method": method, "steps": int(steps), "created": time.time()}
    path.update(extra)
    return path


def path_points(path: dict[str, Any], dim: int | None = None) -> np.ndarray:
    pts = path.get("points")
    if not isinstance(pts, list) or len(pts) < 2:
        raise ValueError(f"path {path.get('name', '?')!r} needs at least two points")
    return as_vectors(pts, dim)


def unique_name(existing: Sequence[dict[str, Any]], base: str) -> str:
    names = {d.get("name") for d in existing}
    if base not in names:
        return base
    i = 2
    while f"{base} {i}" in names:
        i += 1
    return f"{base} {i}"


def add_bookmark(project, bookmark: dict[str, Any], save: bool = True) -> dict[str, Any]:
    """Append to ``project.bookmarks`` (renaming on a clash) and save the project."""
    bookmark = dict(bookmark)
    bookmark["name"] = unique_name(project.bookmarks, bookmark.get("name") or "bookmark")
    project.bookmarks.append(bookmark)
    if save:
        project.save()
    return bookmark


def add_path(project, path: dict[str, Any], save: bool = True) -> dict[str, Any]:
    path = dict(path)
    path["name"] = unique_name(project.paths, path.get("name") or "path")
    project.paths.append(path)
    if save:
        project.save()
    return path


def remove_named(items: list[dict[str, Any]], name: str) -> bool:
    for i, d in enumerate(items):
        if d.get("name") == name:
            del items[i]
            return True
    return False
