"""Where a model's real samples live in its latent space, and the default grid plane through them.

A plane through the centre of latent space along random directions decodes to the mean picture
almost everywhere: every coordinate but two is zero, far from where samples are drawn. The
*learned* plane instead goes through the latents the model actually samples from (its own prior,
``model.latents``), or the encoded training data when the model has no prior of its own, along
their two principal directions, wide enough (±3 standard deviations) that the grid is as varied as
``studio generate`` samples.
"""
from __future__ import annotations

import logging

import numpy as np

from studio.core.latent.planes import PCADirections, Plane, pca_directions

log = logging.getLogger(__name__)

LEARNED_SAMPLES = 512
#: Half-width of the grid in standard deviations along each principal direction.
LEARNED_SIGMA = 3.0


def prior_latents(model, n: int = LEARNED_SAMPLES, seed: int = 0) -> np.ndarray | None:
    """``n`` latents from the model's own sampling prior (``model.latents``), or None without one."""
    draw = getattr(model, "latents", None)
    if not callable(draw):
        return None
    try:
        z = draw(int(n), int(seed))
    except Exception as exc:  # noqa: BLE001 - a plugin's prior failing leaves the other sources
        log.warning("the model's latents(%d) failed (%s); using other sources for the grid plane", n, exc)
        return None
    z = z.detach().float().cpu().numpy() if hasattr(z, "detach") else np.asarray(z, np.float32)
    return z.reshape(len(z), -1)


def learned_codes(model, latent_dim: int, encoded=None, n: int = LEARNED_SAMPLES,
                  seed: int = 0) -> tuple[np.ndarray, str]:
    """Latents where the model's samples live, and where they came from (for the status line).

    In order: the model's sampling prior; the encoded training data (``encoded``); standard
    normal draws, the prior every plugin without ``latents`` samples from.
    """
    z = prior_latents(model, n, seed)
    if z is not None and z.shape[0] >= 3 and z.shape[1] == latent_dim:
        return z, "the model's own sampling prior"
    if encoded is not None:
        enc = np.asarray(encoded, np.float32)
        if enc.ndim == 2 and enc.shape[0] >= 3 and enc.shape[1] == latent_dim:
            return enc, "your encoded training data"
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, latent_dim)).astype(np.float32), "the standard normal prior"


def learned_plane(codes, sigma: float = LEARNED_SIGMA) -> Plane:
    """The plane through ``codes`` along their top two principal directions (see module doc).

    The axes are scaled by the codes' spread along each direction, so one plane unit is one
    standard deviation on both axes; ``meta["sigma"]`` is how far the default view reaches.
    The centre is a real, typical code rather than the mean itself: in many dimensions samples sit
    on a shell away from the mean, and the mean decodes to a blend of everything.
    """
    pca: PCADirections = pca_directions(codes, k=2)
    if pca.directions.shape[0] < 2:
        raise ValueError("the learned plane needs latents that vary in at least two directions")
    codes = np.asarray(codes, np.float32)
    std = np.maximum(pca.std[:2], 1e-6)
    # off the plane, the code at the median distance from the mean (a typical one); on the plane, the mean
    off = codes - pca.mean
    off -= (off @ pca.directions[:2].T) @ pca.directions[:2]
    dist = np.sqrt((off ** 2).sum(axis=1))
    origin = pca.mean + off[int(np.argmin(np.abs(dist - np.median(dist))))]
    return Plane("learned", codes.shape[1], origin=origin.astype(np.float32),
                 u=(pca.directions[0] * std[0]).astype(np.float32),
                 v=(pca.directions[1] * std[1]).astype(np.float32),
                 meta={"std": [1.0, 1.0], "sigma": float(sigma)})
