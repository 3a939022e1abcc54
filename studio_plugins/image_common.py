"""Helpers shared by the image plugins with an encoder and a fitted sampling prior (vae, vae-gan).

Imports torch: only the plugins' model.py modules import it, never a plugin's ``__init__``.
"""
from __future__ import annotations

from typing import Sequence

import torch

from studio.core.plugins.api import OnnxExport
from studio.core.plugins.model import generator_for
from studio_plugins.vae.prior import LatentBank, fit_gmm, sample_gmm

BANK = 4096  # encoded training latents kept for fitting the sampling prior


def check_image_spec(plugin_id: str, spec, sizes: Sequence[int]) -> tuple[int, int]:
    """``(size, channels)`` of the data, or a ValueError that names the plugin and what it supports."""
    size, c = int(spec.image_size), int(spec.channels)
    if size not in sizes:
        raise ValueError(f"{plugin_id}: image size {size} px is not supported; use one of {', '.join(map(str, sizes))}")
    if c not in (1, 3):
        raise ValueError(f"{plugin_id}: {c} channels is not supported; images must be greyscale (1) or RGB (3)")
    return size, c


def check_choice(plugin_id: str, what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{plugin_id}: {what} {value!r} is not one of {', '.join(choices)}")


def kl_terms(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL divergence of N(mu, exp(logvar)) from N(0, I), per latent number (sum it per image)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


class MixturePriorSampling:
    """Sampling from a Gaussian mixture fitted to where the training images encode, for a StudioModel.

    Ex-post density estimation (see vae/prior.py): decoded draws from the fitted mixture are much
    cleaner than draws from N(0, I), which many encodings never reach. The model calls
    ``init_prior`` in its constructor, adds each step's latent means to ``self.bank`` and calls
    ``refit_prior_when_due`` after a step; it provides ``decode``, ``encode``, ``latent_dim``, a
    ``steps_done`` buffer and the Config fields prior, prior_components, prior_every and
    sample_temperature.
    """

    def init_prior(self, components: int, latent: int) -> None:
        # The fitted mixture is checkpointed (these buffer names are checkpoint keys);
        # prior_fitted = 0 means "not fitted yet: use N(0, I)".
        self.register_buffer("prior_weights", torch.full((components,), 1.0 / components))
        self.register_buffer("prior_means", torch.zeros(components, latent))
        self.register_buffer("prior_chol", torch.eye(latent).repeat(components, 1, 1))
        self.register_buffer("prior_fitted", torch.zeros((), dtype=torch.long))
        self.bank = LatentBank(BANK, latent)

    def refit_prior_when_due(self) -> None:
        if self.config.prior == "mixture" and int(self.steps_done) % self.config.prior_every == 0:
            self.fit_prior()

    @torch.no_grad()
    def fit_prior(self, latents: torch.Tensor | None = None) -> None:
        """Fit the sampling mixture to ``latents`` (default: the recent training latent means)."""
        z = self.bank.values() if latents is None else latents.detach().float().cpu()
        if len(z) < 2 * self.latent_dim:
            return  # too few points for even one full covariance; keep the previous prior
        w, m, c = fit_gmm(z, self.config.prior_components, seed=int(self.steps_done))
        self.prior_weights.copy_(w)
        self.prior_means.copy_(m)
        self.prior_chol.copy_(c)
        self.prior_fitted.fill_(1)

    def latents(self, n: int, seed: int = 0, temperature: float | None = None) -> torch.Tensor:
        """The latents ``sample`` decodes for a seed (CPU-drawn, so devices agree): draws from the
        fitted mixture, or N(0, I) before the first fit or with ``prior="normal"``."""
        t = self.config.sample_temperature if temperature is None else float(temperature)
        g = generator_for(seed)
        if self.config.prior == "mixture" and int(self.prior_fitted):
            return sample_gmm(self.prior_weights, self.prior_means, self.prior_chol, n, g, t)
        return torch.randn(n, self.latent_dim, generator=g) * t

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, temperature: float | None = None, **kwargs) -> torch.Tensor:
        return self.decode(self.latents(n, seed, temperature))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def decoder_export(self, module: torch.nn.Module) -> list[OnnxExport]:
        """The ONNX export of ``module``, z (batch, latent) -> images (batch, C, H, W) in [0, 1]."""
        return [OnnxExport(
            name="decoder", module=module.eval(),
            example_inputs=(torch.zeros(2, self.latent_dim, device=self.device),),
            input_names=["z"], output_names=["images"],
            dynamic_axes={"z": {0: "batch"}, "images": {0: "batch"}})]
