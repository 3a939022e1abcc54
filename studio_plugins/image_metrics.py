"""Sample-quality figures shared by the image GAN and diffusion plugins (plain torch, no studio imports).

Distances are root-mean-square per pixel, so 32 px and 128 px images are on the same scale
(0 = identical, 1 = opposite extremes everywhere).
"""
from __future__ import annotations

from typing import Iterable

import torch


def rms_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(len(a), len(b)) RMS per-pixel distances between two image batches."""
    a, b = a.flatten(1).float(), b.flatten(1).float()
    return torch.cdist(a, b).div_(a.shape[1] ** 0.5)


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mode-collapse indicator: mean distance between distinct samples (near 0 = collapsed)."""
    n = len(x)
    if n < 2:
        return 0.0
    d = rms_distances(x, x)
    return float(d.sum() / (n * (n - 1)))


def sample_figures(samples: torch.Tensor, data: Iterable[torch.Tensor], max_data: int = 2000) -> dict[str, float]:
    """Diversity of samples next to that of the data, and nearest-neighbour distances.

    ``nn_distance`` (sample -> nearest data image) far below ``data_nn_distance``
    (data image -> its nearest other data image) means the model copies its data.
    """
    samples = samples.detach().cpu().float()
    real, count = [], 0
    for x in data:
        real.append(x.detach().cpu().float())
        count += len(x)
        if count >= max_data:
            break
    if not real:
        raise ValueError("no data images were given to compare the samples with")
    real_t = torch.cat(real)[:max_data]
    if real_t.shape[1:] != samples.shape[1:]:
        raise ValueError(f"data images have shape {tuple(real_t.shape[1:])}, samples {tuple(samples.shape[1:])}")
    nn = rms_distances(samples, real_t).min(1).values
    out = {"diversity": mean_pairwise_distance(samples), "data_diversity": mean_pairwise_distance(real_t[:len(samples)]),
           "nn_distance": float(nn.mean())}
    if len(real_t) > 1:
        d = rms_distances(real_t, real_t)
        d.fill_diagonal_(float("inf"))
        out["data_nn_distance"] = float(d.min(1).values.mean())
    return out


class EMA:
    """Exponential moving average of a module's weights into a frozen copy (buffers are copied)."""

    @staticmethod
    @torch.no_grad()
    def update(target: torch.nn.Module, source: torch.nn.Module, decay: float) -> None:
        for t, s in zip(target.parameters(), source.parameters()):
            t.lerp_(s.detach(), 1.0 - decay)
        for t, s in zip(target.buffers(), source.buffers()):
            t.copy_(s)
