"""2-D planes through latent space, the directions that span them, and breeding.

A plane maps real coordinates ``(a, b)`` to latent vectors. The grid explorer shows the
lattice ``a = i * step, b = j * step``; dragging moves the view over the lattice and the
wheel changes ``step``. Three kinds:

* ``learned`` (the default): through the latents the model samples from, along their top two
  principal directions, one unit = one standard deviation (``studio.core.latent.learned``);
* ``random``: ``origin + a*u + b*v`` with two random orthonormal directions (seeded);
* ``pca``: the same with the top two principal directions of encoded training data;
* ``corners``: a bilinear or spherical mix of four chosen vectors (Beat Blender); ``(0,0)`` is
  the top-left corner and ``(1,1)`` the bottom-right, values outside extrapolate.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from studio.core.latent.interp import lerp, slerp_pairs

PLANE_KINDS = ("learned", "random", "pca", "corners")
CORNER_NAMES = ("top-left", "top-right", "bottom-left", "bottom-right")


def orthonormal_directions(dim: int, k: int, seed: int = 0) -> np.ndarray:
    """``k`` random orthonormal directions in ``dim`` dimensions, shape (k, dim) (QR of a Gaussian)."""
    if dim < 1:
        raise ValueError(f"latent size must be positive, got {dim}")
    k = int(k)
    if k > dim:
        raise ValueError(f"cannot make {k} orthonormal directions in {dim} dimensions")
    rng = np.random.default_rng(int(seed))
    g = rng.standard_normal((dim, k))
    q, r = np.linalg.qr(g)
    q = q * np.sign(np.diag(r))[None, :]  # make the factorisation unique, so a seed is stable
    return q.T.astype(np.float32)


@dataclass
class PCADirections:
    mean: np.ndarray           # (D,)
    directions: np.ndarray     # (k, D), unit rows, largest variance first
    std: np.ndarray            # (k,) standard deviation of the data along each direction

    @property
    def explained(self) -> np.ndarray:
        var = self.std ** 2
        return var / max(float(var.sum()), 1e-12)


def pca_directions(codes, k: int = 8) -> PCADirections:
    """Principal directions of encoded data (rows of ``codes``), via SVD of the centred matrix.

    Sign is fixed so each direction's largest component is positive (stable across calls).
    """
    x = np.asarray(codes, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"PCA needs at least two encoded samples of shape (n, D), got shape {x.shape}")
    mean = x.mean(axis=0)
    xc = x - mean
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    k = max(1, min(int(k), vt.shape[0]))
    vt = vt[:k]
    signs = np.sign(vt[np.arange(k), np.argmax(np.abs(vt), axis=1)])
    vt = vt * signs[:, None]
    std = s[:k] / np.sqrt(max(x.shape[0] - 1, 1))
    return PCADirections(mean.astype(np.float32), vt.astype(np.float32), std.astype(np.float32))


@dataclass
class Plane:
    """A plane through latent space; see the module docstring for the kinds."""
    kind: str
    dim: int
    origin: np.ndarray | None = None
    u: np.ndarray | None = None
    v: np.ndarray | None = None
    corners: np.ndarray | None = None   # (4, D): top-left, top-right, bottom-left, bottom-right
    method: str = "lerp"                # corner mixing: "lerp" (bilinear) or "slerp"
    seed: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    # -- constructors -----------------------------------------------------
    @classmethod
    def random(cls, dim: int, seed: int = 0, origin=None) -> "Plane":
        u, v = orthonormal_directions(dim, 2, seed)
        o = np.zeros(dim, np.float32) if origin is None else np.asarray(origin, np.float32).reshape(dim)
        return cls("random", dim, origin=o, u=u, v=v, seed=int(seed))

    @classmethod
    def from_pca(cls, pca: PCADirections, origin=None) -> "Plane":
        if pca.directions.shape[0] < 2:
            raise ValueError("a PCA plane needs at least two principal directions")
        dim = pca.directions.shape[1]
        o = pca.mean if origin is None else np.asarray(origin, np.float32).reshape(dim)
        return cls("pca", dim, origin=o.astype(np.float32), u=pca.directions[0], v=pca.directions[1],
                   meta={"std": [float(s) for s in pca.std[:2]]})

    @classmethod
    def from_corners(cls, corners, method: str = "lerp") -> "Plane":
        c = np.asarray(corners, dtype=np.float32)
        if c.ndim != 2 or c.shape[0] != 4:
            raise ValueError(f"a corner plane needs exactly four latent vectors, got shape {c.shape}")
        if method not in ("lerp", "slerp"):
            raise ValueError(f"corner mixing must be lerp or slerp, not {method!r}")
        return cls("corners", c.shape[1], corners=c, method=method)

    # -- mapping ----------------------------------------------------------
    def points(self, a, b) -> np.ndarray:
        """Latent vectors (n, D) at plane coordinates ``a``, ``b`` (arrays of n)."""
        a = np.asarray(a, dtype=np.float32).reshape(-1)
        b = np.asarray(b, dtype=np.float32).reshape(-1)
        if self.kind == "corners":
            c = self.corners
            if self.method == "slerp":
                n = len(a)
                top = slerp_pairs(np.broadcast_to(c[0], (n, self.dim)), np.broadcast_to(c[1], (n, self.dim)), a)
                bottom = slerp_pairs(np.broadcast_to(c[2], (n, self.dim)), np.broadcast_to(c[3], (n, self.dim)), a)
                return slerp_pairs(top, bottom, b)
            top = lerp(c[0], c[1], a)
            bottom = lerp(c[2], c[3], a)
            return ((1.0 - b)[:, None] * top + b[:, None] * bottom).astype(np.float32)
        return (self.origin[None, :] + a[:, None] * self.u[None, :] + b[:, None] * self.v[None, :]).astype(np.float32)

    def point(self, a: float, b: float) -> np.ndarray:
        return self.points([a], [b])[0]

    def default_view(self, cols: int) -> tuple[float, float, float]:
        """(centre a, centre b, step) that frames the interesting part of the plane."""
        if self.kind == "corners":
            step = 1.0 / max(cols - 1, 1)
            return 0.5, 0.5, step
        if self.kind == "learned":
            # +-sigma standard deviations across the grid on both axes
            return 0.0, 0.0, 2.0 * float(self.meta.get("sigma", 3.0)) / max(cols, 1)
        if self.kind == "pca" and self.meta.get("std"):
            # about +-2 standard deviations of the data across the grid
            return 0.0, 0.0, 4.0 * float(self.meta["std"][0]) / max(cols, 1)
        return 0.0, 0.0, 0.5

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "dim": self.dim, "seed": self.seed, "method": self.method}


def breed(parent, n: int = 8, spread: float = 0.5, seed: int = 0) -> np.ndarray:
    """A ring of ``n`` children around ``parent`` (Artbreeder's "children" idea).

    The children lie on a circle of radius ``spread`` in a random plane through the parent
    (seeded), evenly spaced, so the ring is the same picture the grid shows when it centres
    a random plane on the parent with ``step = spread``.
    """
    p = np.asarray(parent, dtype=np.float32).reshape(-1)
    if n < 1:
        raise ValueError(f"breeding needs at least one child, got {n}")
    if spread < 0:
        raise ValueError(f"spread must not be negative, got {spread}")
    if p.shape[0] < 2:
        rng = np.random.default_rng(seed)
        return (p[None, :] + spread * rng.choice([-1.0, 1.0], size=(n, 1))).astype(np.float32)
    u, v = orthonormal_directions(p.shape[0], 2, seed)
    angles = 2.0 * np.pi * np.arange(n) / n
    offsets = spread * (np.cos(angles)[:, None] * u[None, :] + np.sin(angles)[:, None] * v[None, :])
    return (p[None, :] + offsets).astype(np.float32)
