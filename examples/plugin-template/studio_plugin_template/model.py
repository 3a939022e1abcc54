"""The template's model: a VAE whose encoder and decoder are one hidden layer each.

A plugin model subclasses ``StudioModel`` (an ``nn.Module``) and implements
``training_step`` and ``sample``; ``validation_step``, ``decode`` and ``encode``
are optional and switch on studio features (validation curves, the latent grid,
encoding your own pictures). See docs/plugin-guide.md in the studio.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.plugins.model import StudioModel, generator_for


class MLPVAE(StudioModel):
    def __init__(self, config, spec):
        super().__init__(config, spec)
        if spec.modality != "image" or spec.image_size <= 0 or spec.channels <= 0:
            raise ValueError(f"template-mlp-vae trains on images, got a {spec.modality} dataset")
        self.shape = (int(spec.channels), int(spec.image_size), int(spec.image_size))
        pixels = self.shape[0] * self.shape[1] * self.shape[2]
        self.latent_dim = int(config.latent_size)  # the `latent` capability reads this
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(pixels, config.hidden), nn.ReLU(),
                                     nn.Linear(config.hidden, 2 * self.latent_dim))
        self.decoder = nn.Sequential(nn.Linear(self.latent_dim, config.hidden), nn.ReLU(),
                                     nn.Linear(config.hidden, pixels))

    def _losses(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, KL) in nats per image."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        logvar = logvar.clamp(-10.0, 10.0)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        logits = self.decoder(z).view(-1, *self.shape)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)
        return recon.mean(), kl.mean()

    # -- training: batches are float (B, C, H, W) in [0, 1] ---------------------------
    def training_step(self, batch: torch.Tensor, opt) -> dict[str, float]:
        self.train()
        recon, kl = self._losses(batch)
        loss = recon + self.config.beta * kl
        opt.step("model", loss)  # the engine does backward, clipping, the optimizer step
        return {"loss": float(loss.detach()), "recon": float(recon.detach()), "kl": float(kl.detach())}

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor) -> dict[str, float]:
        recon, kl = self._losses(batch)
        return {"val_loss": float(recon + kl), "val_recon": float(recon)}

    # -- generation: deterministic for a seed ------------------------------------------
    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        z = z.to(self.device, torch.float32).view(-1, self.latent_dim)
        return torch.sigmoid(self.decoder(z)).view(-1, *self.shape)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.to(self.device, torch.float32)).chunk(2, dim=1)[0]

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, **kwargs) -> torch.Tensor:
        z = torch.randn(n, self.latent_dim, generator=generator_for(seed))  # CPU-drawn: devices agree
        return self.decode(z)
