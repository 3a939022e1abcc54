"""Convolutional beta-VAE: the model (its Config lives in __init__.py so discovery needs no torch).

Encoder: stride-2 convolutions down to 4x4, then a linear layer to the latent
mean and log-variance. Decoder: the mirror image with transposed convolutions,
ending in a sigmoid so images are in [0, 1]. The reconstruction term is a real
log-likelihood (Bernoulli, Gaussian or Laplace with a learned global scale), so
the loss is the negative ELBO in nats per image and `studio eval` reports it.
Samples decode draws from a Gaussian mixture fitted to the encoded training images
(ex-post density estimation, see prior.py) rather than from N(0, I): much cleaner.
"""
from __future__ import annotations

import math
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from studio_plugins.image_common import MixturePriorSampling, check_choice, check_image_spec, kl_terms
from studio_plugins.vae import LOSSES, PRIORS, Config
from studio.core.plugins.api import OnnxExport
from studio.core.plugins.model import StudioModel, generator_for

SIZES = (32, 64, 128)


def _channels(width: int, n: int) -> list[int]:
    return [min(width * 2 ** i, width * 8) for i in range(n)]


class Decoder(nn.Module):
    """z (B, latent) -> logits (B, C, H, W)."""

    def __init__(self, latent: int, width: int, channels: int, size: int):
        super().__init__()
        n = int(math.log2(size)) - 2
        chans = _channels(width, n)[::-1]  # deepest first
        self.top = chans[0]
        self.fc = nn.Linear(latent, chans[0] * 16)
        layers: list[nn.Module] = []
        for i in range(n):
            # the last layer writes the image channels directly: a full-resolution
            # conv would double the decoder's cost for little gain at these sizes
            out = chans[i + 1] if i + 1 < n else channels
            layers += [nn.LeakyReLU(0.2), nn.ConvTranspose2d(chans[i], out, 4, 2, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, self.top, 4, 4))


class DecodeImages(nn.Module):
    """The exportable generator: z -> images in [0, 1]."""

    def __init__(self, decoder: Decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))


class VAE(MixturePriorSampling, StudioModel):
    def __init__(self, config: Config, spec):
        super().__init__(config, spec)
        size, c = check_image_spec("vae", spec, SIZES)
        check_choice("vae", "sampling prior", config.prior, PRIORS)
        check_choice("vae", "reconstruction loss", config.recon_loss, LOSSES)
        self.latent_dim = config.latent_size
        n = int(math.log2(size)) - 2
        chans = _channels(config.width, n)
        enc: list[nn.Module] = []
        cin = c
        for ch in chans:
            enc += [nn.Conv2d(cin, ch, 4, 2, 1), nn.LeakyReLU(0.2)]
            cin = ch
        self.encoder = nn.Sequential(*enc, nn.Flatten())
        self.to_stats = nn.Linear(chans[-1] * 16, 2 * config.latent_size)
        self.decoder = Decoder(config.latent_size, config.width, c, size)
        # One learned noise level (log scale) for the Gaussian/Laplace likelihoods.
        self.log_scale = nn.Parameter(torch.tensor(-1.0))
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self.init_prior(config.prior_components, config.latent_size)

    # -- pieces ---------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.to_stats(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def recon_nats(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood per image (B,) in nats."""
        kind = self.config.recon_loss
        if kind == "bce":
            nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
        else:
            mean = torch.sigmoid(logits)
            log_s = self.log_scale.clamp(min=-5.0)  # noise level >= 0.007, keeps the KL term meaningful
            if kind == "mse":
                nll = 0.5 * ((x - mean) / log_s.exp()) ** 2 + log_s + 0.5 * math.log(2 * math.pi)
            else:
                nll = (x - mean).abs() / log_s.exp() + log_s + math.log(2.0)
        return nll.flatten(1).sum(1)

    def losses(self, x: torch.Tensor, sample_z: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction nats, KL nats), each per image (B,), and the latent means (B, latent)."""
        mu, logvar = self.posterior(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if sample_z else mu
        kl = kl_terms(mu, logvar).sum(1)
        return self.recon_nats(self.decoder(z), x), kl, mu

    def kl_weight(self) -> float:
        warm = self.config.kl_warmup_steps
        ramp = 1.0 if warm <= 0 else min(1.0, (int(self.steps_done) + 1) / warm)
        return self.config.beta * ramp

    # -- training -------------------------------------------------------------
    def training_step(self, batch: torch.Tensor, opt) -> dict[str, float]:
        self.train()
        recon, kl, mu = self.losses(batch)
        w = self.kl_weight()
        loss = (recon + w * kl).mean()
        opt.step("model", loss)
        self.bank.add(mu)
        self.steps_done += 1
        return {"loss": float(loss.detach()), "recon": float(recon.detach().mean()), "kl": float(kl.detach().mean()), "kl_weight": w}

    def after_step(self, step: int) -> None:
        self.refit_prior_when_due()

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor) -> dict[str, float]:
        recon, kl, _ = self.losses(batch)
        return {"val_loss": float((recon + kl).mean()), "val_recon": float(recon.mean()), "val_kl": float(kl.mean())}

    @torch.no_grad()
    def evaluate(self, batches: Iterator[torch.Tensor]) -> dict[str, float]:
        """Negative ELBO (beta = 1) in nats per image, averaged over every image given."""
        was = self.training
        self.eval()
        g = generator_for(0)  # fixed posterior noise: the same checkpoint always gives the same figure
        tot = {"recon": 0.0, "kl": 0.0}
        count = 0
        for x in batches:
            x = x.to(self.device)
            mu, logvar = self.posterior(x)
            eps = torch.randn(mu.shape, generator=g).to(mu.device)
            z = mu + eps * (0.5 * logvar).exp()
            tot["recon"] += float(self.recon_nats(self.decoder(z), x).sum())
            tot["kl"] += float(kl_terms(mu, logvar).sum())
            count += len(x)
        self.train(was)
        if count == 0:
            raise ValueError("vae: evaluation got no images (is the validation split empty?)")
        recon, kl = tot["recon"] / count, tot["kl"] / count
        pixels = self.spec.channels * self.spec.image_size ** 2
        nelbo = recon + kl
        return {"nelbo_nats": nelbo, "recon_nats": recon, "kl_nats": kl,
                "bits_per_dim": nelbo / (pixels * math.log(2)), "images": float(count)}

    # -- generation (sample, latents, reconstruct: MixturePriorSampling) ------
    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        z = z.to(self.device, torch.float32).view(-1, self.latent_dim)
        return torch.sigmoid(self.decoder(z)).clamp_(0.0, 1.0)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent means of images (B, C, H, W) in [0, 1]."""
        return self.posterior(x.to(self.device, torch.float32))[0]

    def onnx_exports(self) -> list[OnnxExport]:
        return self.decoder_export(DecodeImages(self.decoder))
