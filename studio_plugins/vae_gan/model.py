"""VAE-GAN: the model (its Config lives in __init__.py so discovery needs no torch).

A VAE alone is blurry (a pixel likelihood rewards the average of what an image could be);
a GAN alone is sharp but has no encoder, so your own pictures cannot be placed on the grid
or morphed. Larsen et al. (2016) train one decoder with both: reconstruct the encoded
picture, measured in the discriminator's features (sharp), and fool the discriminator
with decoded prior draws and reconstructions (crisp), with a KL term so prior draws land
where pictures encode. Here:

* encoder: stride-2 convolutions to 4x4 -> latent mean and log-variance;
* decoder: 4x4 -> transposed convolutions, each resolution adding its colours to the
  upsampled picture of the coarser ones (1.1; see ``Decoder``), linear output around
  mid-grey (no batch norm: samples do not depend on the batch, so one image decodes the
  same alone or in a grid);
* discriminator: stride-2 convolutions whose per-resolution activations are the
  reconstruction features (distances relative to the activations' size, 1.1), kept in
  check by a lazy R1 penalty and seeing every image through differentiable augmentation
  (translation, colour, cut-out; Zhao et al. 2020), which is what lets it learn from 100
  pictures without memorising them;
* samples decode draws from a mixture fitted to where the pictures encode (or N(0, I))
  with an exponential moving average of the decoder.
Width and depth follow the image size (see ``widths_for``); the engine switches on mixed
precision for large models on a GPU, the losses are computed in fp32.
"""
from __future__ import annotations

import copy
import math
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from studio_plugins.dcgan.augment import augment, parse_policy
from studio_plugins.image_common import MixturePriorSampling, check_choice, check_image_spec, kl_terms
from studio_plugins.image_metrics import EMA, mean_pairwise_distance, sample_figures
from studio_plugins.vae_gan import PRIORS, Config
from studio.core.plugins.api import OnnxExport
from studio.core.plugins.model import StudioModel, generator_for

SIZES = (32, 64, 128, 256)
R1_EVERY = 4  # steps between R1 penalties (lazy regularisation, StyleGAN2)
MAX_CHANNELS = 512
AUTO_WIDTH = {32: 32, 64: 32, 128: 48, 256: 64}


def widths_for(size: int, width: int) -> list[int]:
    """Channels per resolution, finest first, for an image size (width 0 = automatic)."""
    w = width or AUTO_WIDTH[size]
    n = int(math.log2(size)) - 2
    return [min(w * 2 ** i, MAX_CHANNELS) for i in range(n)]


def depth_for(size: int, depth: int) -> int:
    return depth if depth >= 0 else (0 if size <= 64 else 1)


def _extra(ch: int, depth: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Conv2d(ch, ch, 3, 1, 1), nn.LeakyReLU(0.2)]
    return layers


class Encoder(nn.Module):
    """images in [0, 1] -> (mean, log-variance) of the latent."""

    def __init__(self, latent: int, chans: list[int], channels: int, depth: int):
        super().__init__()
        layers: list[nn.Module] = []
        cin = channels
        for ch in chans:
            layers += [nn.Conv2d(cin, ch, 4, 2, 1), nn.LeakyReLU(0.2), *_extra(ch, depth)]
            cin = ch
        self.net = nn.Sequential(*layers, nn.Flatten())
        self.to_stats = nn.Linear(cin * 16, 2 * latent)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.to_stats(self.net(x * 2 - 1)).float().chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 6.0)


class Decoder(nn.Module):
    """z (B, latent) -> images (B, C, H, W), about [0, 1] (unclamped while training).

    Every resolution adds its own colour picture to the upsampled sum of the coarser ones
    (the "skip" generator of StyleGAN2): the 4x4 and 8x8 layers get the reconstruction's
    gradient directly, so colours and layout are learnt in tens of steps, not hundreds.
    Colour tiles, plain L1 autoencoder, 60 steps: L1 0.10 against 0.17 for one chain of
    transposed convolutions ending in a 3x3 convolution (1.0.0)."""

    def __init__(self, latent: int, chans: list[int], channels: int, depth: int):
        super().__init__()
        deep = chans[::-1]
        self.top = deep[0]
        self.fc = nn.Linear(latent, deep[0] * 16)
        self.first = nn.Sequential(nn.LeakyReLU(0.2), *_extra(deep[0], depth))
        self.ups = nn.ModuleList()
        self.to_rgb = nn.ModuleList([nn.Conv2d(deep[0], channels, 1)])
        for i, ch in enumerate(deep):
            last = i + 1 == len(deep)
            # the full-resolution layer is the costliest: half the channels there (a third of the
            # decoder's time at 64 px) and a 3x3 convolution writes the colours (sharper edges)
            out = max(deep[-1] // 2, 8) if last else deep[i + 1]
            self.ups.append(nn.Sequential(nn.ConvTranspose2d(ch, out, 4, 2, 1), nn.LeakyReLU(0.2),
                                          *([] if last else _extra(out, depth))))
            self.to_rgb.append(nn.Conv2d(out, channels, 3, 1, 1) if last else nn.Conv2d(out, channels, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # linear output around mid-grey, no sigmoid: a saturated sigmoid stops learning when an L1
        # reconstruction pulls a mostly dark picture to black; decode() and the export clamp to [0, 1]
        h = self.first(self.fc(z).view(-1, self.top, 4, 4))
        img = self.to_rgb[0](h)
        for up, rgb in zip(self.ups, self.to_rgb[1:]):
            h = up(h)
            img = F.interpolate(img, scale_factor=2.0, mode="bilinear", align_corners=False) + rgb(h)
        return img + 0.5


class DecodeImages(nn.Module):
    """The exportable generator: z -> images clamped to [0, 1]."""

    def __init__(self, decoder: Decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).clamp(0.0, 1.0)


class Discriminator(nn.Module):
    """images in [0, 1] -> (score per image, the activations at each resolution)."""

    def __init__(self, chans: list[int], channels: int, depth: int):
        super().__init__()
        self.stages = nn.ModuleList()
        cin = channels
        for ch in chans:
            self.stages.append(nn.Sequential(nn.Conv2d(cin, ch, 4, 2, 1), nn.LeakyReLU(0.2), *_extra(ch, depth)))
            cin = ch
        self.score = nn.Linear(cin * 16, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h, feats = x * 2 - 1, []
        for stage in self.stages:
            h = stage(h)
            feats.append(h)
        return self.score(h.flatten(1)).float().squeeze(1), feats


class VAEGAN(MixturePriorSampling, StudioModel):
    def __init__(self, config: Config, spec):
        super().__init__(config, spec)
        size, c = check_image_spec("vae-gan", spec, SIZES)
        try:
            self.augment_policy = parse_policy(config.augment)
        except ValueError as exc:
            raise ValueError(f"vae-gan: {exc}") from None
        check_choice("vae-gan", "sampling prior", config.prior, PRIORS)
        self.latent_dim = config.latent_size
        chans, depth = widths_for(size, config.width), depth_for(size, config.depth)
        self.encoder = Encoder(config.latent_size, chans, c, depth)
        self.decoder = Decoder(config.latent_size, chans, c, depth)
        self.discriminator = Discriminator(chans, c, depth)
        self.decoder_ema = copy.deepcopy(self.decoder).requires_grad_(False).eval()
        # Fixed latents for the mode-collapse indicator, stored so a resumed run measures the same thing.
        self.register_buffer("fixed_z", torch.randn(64, config.latent_size, generator=generator_for(0)))
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        # the VAE plugin's sampling mixture, fitted to where the pictures encode
        self.init_prior(config.prior_components, config.latent_size)

    # -- training -------------------------------------------------------------
    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"discriminator": list(self.discriminator.parameters()),
                "model": list(self.encoder.parameters()) + list(self.decoder.parameters())}

    def lr_scale(self, group: str) -> float:
        return self.config.d_lr_scale if group == "discriminator" else 1.0

    def _aug(self, x: torch.Tensor) -> torch.Tensor:
        return augment(x, self.augment_policy) if self.augment_policy else x

    def _d_loss(self, real: torch.Tensor, fake: torch.Tensor, training: bool = True) -> tuple[torch.Tensor, dict]:
        r1 = training and self.config.r1_gamma > 0 and int(self.steps_done) % R1_EVERY == 0
        if training:
            real, fake = self._aug(real), self._aug(fake)
        if r1:
            real = real.detach().requires_grad_(True)
        d_real, _ = self.discriminator(real)
        d_fake, _ = self.discriminator(fake)
        loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        extra = {"d_real": float(d_real.detach().mean()), "d_fake": float(d_fake.detach().mean())}
        if r1:
            grad, = torch.autograd.grad(d_real.sum(), real, create_graph=True)
            penalty = grad.float().flatten(1).pow(2).sum(1).mean()
            loss = loss + 0.5 * self.config.r1_gamma * R1_EVERY * penalty
            extra["r1"] = float(penalty.detach())
        return loss, extra

    def _feature_distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Mean L1 distance between the discriminator's activations of two image batches, per image,
        each resolution's relative to the size of the target's activations there.

        Relative, because the discriminator's activations grow as it trains (nothing normalises
        them): an absolute distance would grow with them and soon outweigh the pixel term."""
        with torch.no_grad():  # the targets: no graph needed
            _, fa = self.discriminator(a)
        _, fb = self.discriminator(b)
        return sum((x.float() - y.float()).abs().flatten(1).mean(1) / (y.float().abs().mean() + 1e-3)
                   for x, y in zip(fb, fa)) / len(fa)

    def training_step(self, batch: torch.Tensor, opt) -> dict[str, float]:
        self.train()
        cfg = self.config
        real = batch.to(self.device)
        n = len(real)
        mu, logvar = self.encoder(real)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        # one decoder pass for the reconstructions and the prior draws
        both = self.decoder(torch.cat([z, torch.randn_like(mu)]).to(real.dtype))
        recon, drawn = both[:n], both[n:]

        self.discriminator.requires_grad_(True)
        d_loss, extra = self._d_loss(real, both.detach().float()[torch.randperm(2 * n, device=real.device)[:n]])
        opt.step("discriminator", d_loss)

        # encoder + decoder: discriminator frozen (no wasted gradients for its weights)
        self.discriminator.requires_grad_(False)
        kl = kl_terms(mu, logvar).sum(1)
        pixel = (recon.float() - real.float()).abs().flatten(1).mean(1)
        feature = self._feature_distance(real, recon) if cfg.feature_weight > 0 else torch.zeros_like(pixel)
        score, _ = self.discriminator(self._aug(both))
        adv = F.softplus(-score).mean()
        # the KL per pixel, like the reconstruction: kl_weight is the scale of a Laplace likelihood
        # whose negative log is the pixel term (0.1: the balance of a beta-1 VAE at that noise level)
        loss = (cfg.pixel_weight * pixel + cfg.feature_weight * feature).mean() + \
            cfg.kl_weight * kl.mean() / real[0].numel() + cfg.adversarial_weight * adv
        opt.step("model", loss)
        self.discriminator.requires_grad_(True)
        self.bank.add(mu)
        self.steps_done += 1
        return {"loss": float(loss.detach()), "d_loss": float(d_loss.detach()), "g_loss": float(adv.detach()),
                "pixel": float(pixel.detach().mean()), "feature": float(feature.detach().mean()),
                "kl": float(kl.detach().mean()), **extra}

    def after_step(self, step: int) -> None:
        decay = self.config.ema_decay
        # early on the average follows the weights closely, else it would keep the random start
        decay = min(decay, (1 + step) / (10 + step)) if decay > 0 else 0.0
        EMA.update(self.decoder_ema, self.decoder, decay)
        self.refit_prior_when_due()

    @torch.no_grad()
    def diversity(self) -> float:
        """Mean pairwise distance of the 64 fixed-z samples (falls towards 0 when the decoder collapses)."""
        return mean_pairwise_distance(self.decode(self.fixed_z))

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor) -> dict[str, float]:
        real = batch.to(self.device)
        mu, _ = self.encoder(real)
        recon = self.decode(mu)
        d_loss, _ = self._d_loss(real, self.decode(torch.randn_like(mu)), training=False)
        return {"val_pixel": float((recon - real).abs().mean()), "val_d_loss": float(d_loss),
                "val_diversity": self.diversity()}

    @torch.no_grad()
    def evaluate(self, batches: Iterator[torch.Tensor]) -> dict[str, float]:
        """Reconstruction error of the given images (mean absolute per pixel, through the encoder),
        diversity and nearest-neighbour distance of 256 samples to them."""
        was = self.training
        self.eval()
        kept, err, count = [], 0.0, 0
        for x in batches:
            x = x.to(self.device)
            err += float((self.reconstruct(x) - x).abs().flatten(1).mean(1).sum())
            count += len(x)
            kept.append(x.cpu())
        self.train(was)
        if count == 0:
            raise ValueError("vae-gan: evaluation got no images (is the validation split empty?)")
        return {"recon_l1": err / count, **sample_figures(self.sample(256, seed=0), kept), "images": float(count)}

    # -- generation (sample, latents, reconstruct: MixturePriorSampling) ------
    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        self.decoder_ema.eval()
        z = z.to(self.device, torch.float32).view(-1, self.latent_dim)
        return self.decoder_ema(z).float().clamp_(0.0, 1.0)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent means of images (B, C, H, W) in [0, 1]."""
        return self.encoder(x.to(self.device, torch.float32))[0]

    def onnx_exports(self) -> list[OnnxExport]:
        return self.decoder_export(DecodeImages(copy.deepcopy(self.decoder_ema)))
