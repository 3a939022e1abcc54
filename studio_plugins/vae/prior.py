"""Ex-post density estimation for the VAE's latent space (Ghosh et al. 2020, "From Variational
to Deterministic Autoencoders").

A VAE's aggregate posterior (where the encoder actually puts the training images) is not
N(0, I); decoding N(0, I) draws lands partly in the holes between digits and gives blurry
blends. Fitting a small Gaussian mixture (full covariances) to the encoded latent means and
sampling from it instead gives cleaner, more typical samples at no training cost.

Plain torch, fixed-size tensors, so the fitted mixture lives in the model's state dict
(and so in the safetensors checkpoint).
"""
from __future__ import annotations

import math

import torch


class LatentBank:
    """A ring buffer of the most recent latent means seen in training (not checkpointed:
    a resumed run refills it within a few dozen steps)."""

    def __init__(self, capacity: int, dim: int):
        self.data = torch.zeros(capacity, dim)
        self.count = 0  # total ever added; the buffer is full once count >= capacity

    def add(self, mu: torch.Tensor) -> None:
        mu = mu.detach().float().cpu()[-len(self.data):]
        start = self.count % len(self.data)
        first = min(len(mu), len(self.data) - start)
        self.data[start:start + first] = mu[:first]
        self.data[: len(mu) - first] = mu[first:]
        self.count += len(mu)

    def values(self) -> torch.Tensor:
        return self.data[: min(self.count, len(self.data))]


def _log_probs(x: torch.Tensor, means: torch.Tensor, chol: torch.Tensor) -> torch.Tensor:
    """(n, k) log densities of each point under each full-covariance Gaussian."""
    d = x.shape[1]
    diff = (x[:, None, :] - means[None]).permute(1, 2, 0)  # (k, d, n)
    y = torch.linalg.solve_triangular(chol, diff, upper=False)  # (k, d, n)
    maha = y.pow(2).sum(1).T  # (n, k)
    logdet = 2 * torch.log(torch.diagonal(chol, dim1=1, dim2=2)).sum(1)  # (k,)
    return -0.5 * (maha + logdet[None] + d * math.log(2 * math.pi))


def fit_gmm(x: torch.Tensor, k: int, iters: int = 30, seed: int = 0, reg: float = 1e-3
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """EM for a k-component Gaussian mixture on points x (n, d): (weights (k,), means (k, d),
    Cholesky factors of the covariances (k, d, d)). Components beyond what the data can support
    (fewer than 2d points each) get weight 0. ``reg`` x the mean variance is added to every
    covariance so duplicates or a collapsed dimension cannot make it singular."""
    x = x.double()
    n, d = x.shape
    g = torch.Generator().manual_seed(seed)
    used = max(1, min(k, n // (2 * d)))
    floor = reg * float(x.var(0).mean().clamp(min=1e-8)) + 1e-8
    eye = torch.eye(d, dtype=x.dtype)
    # k-means++ seeding, then a few Lloyd steps: EM from random means can leave components empty
    means = x[torch.randint(n, (1,), generator=g)]
    for _ in range(used - 1):
        d2 = torch.cdist(x, means).min(1).values.pow(2) + 1e-12
        means = torch.cat([means, x[torch.multinomial(d2 / d2.sum(), 1, generator=g)]])
    for _ in range(5):
        assign = torch.cdist(x, means).argmin(1)
        for j in range(used):
            sel = x[assign == j]
            if len(sel):
                means[j] = sel.mean(0)
    resp = torch.nn.functional.one_hot(torch.cdist(x, means).argmin(1), used).double()
    for it in range(iters + 1):
        # M step
        nk = resp.sum(0) + 1e-10
        weights = nk / n
        means = (resp.T @ x) / nk[:, None]
        diff = x[:, None, :] - means[None]  # (n, k, d)
        cov = torch.einsum("nk,nki,nkj->kij", resp, diff, diff) / nk[:, None, None] + floor * eye
        chol = torch.linalg.cholesky(cov)
        if it == iters:
            break
        # E step
        logp = _log_probs(x, means, chol) + torch.log(weights)[None]
        resp = torch.softmax(logp, dim=1)
    out_w = torch.zeros(k, dtype=torch.float32)
    out_m = torch.zeros(k, d, dtype=torch.float32)
    out_c = torch.eye(d).repeat(k, 1, 1)
    out_w[:used], out_m[:used], out_c[:used] = weights.float(), means.float(), chol.float()
    return out_w, out_m, out_c


def sample_gmm(weights: torch.Tensor, means: torch.Tensor, chol: torch.Tensor, n: int,
               generator: torch.Generator, temperature: float = 1.0) -> torch.Tensor:
    """n draws (CPU) from the mixture, each component's spread scaled by ``temperature``."""
    weights, means, chol = weights.cpu().float(), means.cpu().float(), chol.cpu().float()
    comp = torch.multinomial(weights, n, replacement=True, generator=generator)
    eps = torch.randn(n, means.shape[1], generator=generator)
    return means[comp] + temperature * (chol[comp] @ eps[:, :, None]).squeeze(-1)
