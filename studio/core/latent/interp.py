"""Interpolation between latent vectors: lerp, slerp and walks along a path of points.

Pure numpy on float32 vectors so the UI thread can plan a walk without torch.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

METHODS = ("lerp", "slerp")


def as_vectors(x, dim: int | None = None) -> np.ndarray:
    """A float32 (n, D) array from a vector, a list of vectors or an array; checks D when given."""
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"expected latent vectors of shape (n, D), got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"latent vectors have {arr.shape[1]} dimensions but the model expects {dim}")
    return arr


def lerp(a: np.ndarray, b: np.ndarray, t) -> np.ndarray:
    """Straight-line mix; ``t`` may be a scalar or an array of n weights (returns (n, D))."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    t = np.asarray(t, dtype=np.float32)
    if t.ndim == 0:
        return (1.0 - t) * a + t * b
    return (1.0 - t)[:, None] * a[None, :] + t[:, None] * b[None, :]


def slerp(a: np.ndarray, b: np.ndarray, t, eps: float = 1e-6) -> np.ndarray:
    """Spherical mix (White 2016): keeps the norm typical of a Gaussian prior between two samples.

    The angle is measured between the directions; the magnitude is interpolated linearly, so
    slerp of vectors with different lengths still ends exactly on ``a`` and ``b``. Falls back
    to lerp for (anti)parallel vectors, where the great circle is undefined.
    """
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    t_arr = np.asarray(t, dtype=np.float32)
    scalar = t_arr.ndim == 0
    t_arr = np.atleast_1d(t_arr)
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na < eps or nb < eps:
        out = lerp(a, b, t_arr)
        return out[0] if scalar else out
    ua, ub = a / na, b / nb
    dot = float(np.clip(np.dot(ua, ub), -1.0, 1.0))
    omega = np.arccos(dot)
    so = np.sin(omega)
    if so < eps:
        out = lerp(a, b, t_arr)
        return out[0] if scalar else out
    wa = np.sin((1.0 - t_arr) * omega) / so
    wb = np.sin(t_arr * omega) / so
    direction = wa[:, None] * ua[None, :] + wb[:, None] * ub[None, :]
    norm = (1.0 - t_arr) * na + t_arr * nb
    out = (direction * norm[:, None]).astype(np.float32)
    return out[0] if scalar else out


def mix(a, b, t, method: str = "slerp") -> np.ndarray:
    if method not in METHODS:
        raise ValueError(f"interpolation method {method!r} is not one of {', '.join(METHODS)}")
    return slerp(a, b, t) if method == "slerp" else lerp(a, b, t)


def walk(points: Sequence, steps_per_segment: int, method: str = "slerp") -> np.ndarray:
    """Frames along a path: ``steps_per_segment`` frames per segment plus the final point.

    A path of K points gives ``(K - 1) * steps_per_segment + 1`` frames; every waypoint is
    hit exactly, so a walk between bookmarks starts and ends on them.
    """
    pts = as_vectors(points)
    if len(pts) < 2:
        raise ValueError("a path needs at least two points")
    if steps_per_segment < 1:
        raise ValueError(f"steps per segment must be at least 1, got {steps_per_segment}")
    t = np.arange(steps_per_segment, dtype=np.float32) / steps_per_segment
    frames = [mix(pts[k], pts[k + 1], t, method) for k in range(len(pts) - 1)]
    frames.append(pts[-1:])
    return np.concatenate(frames, axis=0).astype(np.float32)


def walk_between(a, b, steps: int, method: str = "slerp") -> np.ndarray:
    """``steps`` frames from ``a`` to ``b`` inclusive (the CLI's ``--steps``)."""
    if steps < 2:
        raise ValueError(f"a walk needs at least 2 steps, got {steps}")
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)
    return mix(np.asarray(a, np.float32).ravel(), np.asarray(b, np.float32).ravel(), t, method).astype(np.float32)


def seed_vector(seed: int, dim: int) -> np.ndarray:
    """The standard-normal latent vector of a seed: the same z as ``torch.randn(1, dim)`` drawn
    from ``studio.core.plugins.model.generator_for(seed)``, so a seed means one thing everywhere."""
    import torch

    from studio.core.plugins.model import generator_for

    return torch.randn(1, int(dim), generator=generator_for(int(seed))).numpy()[0].astype(np.float32)


def slerp_pairs(a: np.ndarray, b: np.ndarray, t: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Row-wise slerp: ``a``, ``b`` (n, D), ``t`` (n,) -> (n, D). Used for four-corner planes."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    t = np.asarray(t, dtype=np.float32).reshape(-1)
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    safe = (na > eps) & (nb > eps)
    ua = a / np.where(safe, na, 1.0)[:, None]
    ub = b / np.where(safe, nb, 1.0)[:, None]
    dot = np.clip(np.sum(ua * ub, axis=1), -1.0, 1.0)
    omega = np.arccos(dot)
    so = np.sin(omega)
    curved = safe & (so > eps)
    so_safe = np.where(curved, so, 1.0)
    wa = np.sin((1.0 - t) * omega) / so_safe
    wb = np.sin(t * omega) / so_safe
    norm = (1.0 - t) * na + t * nb
    spherical = (wa[:, None] * ua + wb[:, None] * ub) * norm[:, None]
    linear = (1.0 - t)[:, None] * a + t[:, None] * b
    return np.where(curved[:, None], spherical, linear).astype(np.float32)
