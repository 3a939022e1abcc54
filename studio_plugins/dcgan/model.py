"""DCGAN-style GAN: the model (its Config lives in __init__.py so discovery needs no torch).

Generator: z -> linear -> 4x4 -> transposed convolutions (batch norm, ReLU) -> tanh.
Discriminator: stride-2 convolutions (LeakyReLU) -> linear score, kept in check by an R1
penalty on its slope at real images (by default), or by batch norm as in DCGAN, or spectral
norm. Losses: non-saturating, hinge or WGAN-GP. The discriminator and
generator are two parameter groups with their own learning-rate scale (two time-scale
update rule). Samples come from an exponential moving average of the generator's weights
whose batch-norm statistics are re-estimated for the averaged weights (the live
generator's running statistics do not fit them and wash samples out).
The plugin declares Adam (beta1 0 as is usual with R1, batch 64, lr 1e-3) as its engine
defaults; the generator learns at twice that rate by default. The discriminator
can see its inputs through differentiable augmentations (``augment.py``) for small datasets.
"""
from __future__ import annotations

import copy
import math
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from studio_plugins.dcgan import LOSSES, R1_EVERY, Config
from studio_plugins.dcgan.augment import augment, parse_policy
from studio_plugins.image_metrics import EMA, mean_pairwise_distance, sample_figures
from studio.core.plugins.api import OnnxExport
from studio.core.plugins.model import StudioModel, generator_for

SIZES = (32, 64, 128, 256)
# width 0: channels at the finest resolution for an image size; larger pictures get wider layers
# (a 256-px model is for a GPU), the small CPU sizes stay as cheap as before (32, the 1.3 default)
AUTO_WIDTH = {32: 32, 64: 32, 128: 48, 256: 64}
BN_EVERY = 25  # steps between re-estimates of the EMA generator's batch-norm statistics


def _channels(width: int, n: int) -> list[int]:
    return [min(width * 2 ** i, width * 8) for i in range(n)]


class Generator(nn.Module):
    """z (B, latent) -> images (B, C, H, W) in [0, 1]."""

    def __init__(self, latent: int, width: int, channels: int, size: int, resize: bool = True):
        super().__init__()
        n = int(math.log2(size)) - 2
        chans = _channels(width, n)[::-1]
        self.top = chans[0]
        self.fc = nn.Linear(latent, chans[0] * 16)

        def up(cin: int, cout: int, bias: bool) -> list[nn.Module]:
            # resize-convolution avoids the checkerboard artefacts of strided transposed
            # convolutions (Odena et al. 2016)
            if resize:
                return [nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=bias)]
            return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=bias)]

        layers: list[nn.Module] = [nn.BatchNorm2d(chans[0]), nn.ReLU()]
        for i in range(n - 1):
            layers += [*up(chans[i], chans[i + 1], False), nn.BatchNorm2d(chans[i + 1]), nn.ReLU()]
        layers += [*up(chans[-1], channels, True), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, self.top, 4, 4)) * 0.5 + 0.5


class Discriminator(nn.Module):
    """images in [0, 1] -> one score per image."""

    def __init__(self, width: int, channels: int, size: int, spectral: bool, batch_norm: bool):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm if spectral else (lambda m: m)
        n = int(math.log2(size)) - 2
        layers: list[nn.Module] = []
        cin = channels
        for i, ch in enumerate(_channels(width, n)):
            # DCGAN: batch norm on every layer but the first
            norm = [nn.BatchNorm2d(ch)] if batch_norm and i > 0 else []
            layers += [sn(nn.Conv2d(cin, ch, 4, 2, 1, bias=not norm)), *norm, nn.LeakyReLU(0.2)]
            cin = ch
        self.net = nn.Sequential(*layers, nn.Flatten(), sn(nn.Linear(cin * 16, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1).squeeze(1)


class DCGAN(StudioModel):
    def __init__(self, config: Config, spec):
        super().__init__(config, spec)
        size, c = int(spec.image_size), int(spec.channels)
        if size not in SIZES:
            raise ValueError(f"dcgan: image size {size} px is not supported; use one of {', '.join(map(str, SIZES))}")
        if c not in (1, 3):
            raise ValueError(f"dcgan: {c} channels is not supported; images must be greyscale (1) or RGB (3)")
        if config.loss not in LOSSES:
            raise ValueError(f"dcgan: loss {config.loss!r} is not one of {', '.join(LOSSES)}")
        self.latent_dim = config.latent_size
        try:
            self.augment_policy = parse_policy(config.augment)
        except ValueError as exc:
            raise ValueError(f"dcgan: {exc}") from None
        width = config.width or AUTO_WIDTH[size]
        self.generator = Generator(config.latent_size, width, c, size, config.upsample == "resize")
        # Batch norm needs neither spectral norm nor a per-sample gradient penalty beside it.
        d_bn = not config.spectral_norm and config.loss != "wgan-gp" and config.r1_gamma == 0
        self.discriminator = Discriminator(width, c, size, config.spectral_norm, d_bn)
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False).eval()
        # Fixed latents for the mode-collapse indicator, stored so a resumed run measures the same thing.
        self.register_buffer("fixed_z", torch.randn(64, config.latent_size, generator=generator_for(0)))
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))

    # -- training -------------------------------------------------------------
    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"discriminator": list(self.discriminator.parameters()),
                "generator": list(self.generator.parameters())}

    def lr_scale(self, group: str) -> float:
        return self.config.d_lr_scale if group == "discriminator" else self.config.g_lr_scale

    def _d_loss(self, real: torch.Tensor, fake: torch.Tensor,
                training: bool = True) -> tuple[torch.Tensor, dict[str, float]]:
        """Discriminator loss; ``training`` adds the augmentations and the lazy R1 penalty
        (validation scores the plain images)."""
        kind = self.config.loss
        if training and self.augment_policy:
            real, fake = augment(real, self.augment_policy), augment(fake, self.augment_policy)
        r1 = training and self.config.r1_gamma > 0 and int(self.steps_done) % R1_EVERY == 0
        if r1:
            real = real.detach().requires_grad_(True)
        d_real, d_fake = self.discriminator(real), self.discriminator(fake)
        extra: dict[str, float] = {}
        if kind == "nonsaturating":
            loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        elif kind == "hinge":
            loss = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        else:
            eps = torch.rand(len(real), 1, 1, 1, device=real.device)
            mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
            grad, = torch.autograd.grad(self.discriminator(mix).sum(), mix, create_graph=True)
            gp = (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()
            loss = d_fake.mean() - d_real.mean() + self.config.gp_weight * gp
            extra["gp"] = float(gp.detach())
        if r1:  # lazy regularisation: every R1_EVERY steps, scaled up to match
            grad, = torch.autograd.grad(d_real.sum(), real, create_graph=True)
            penalty = grad.flatten(1).pow(2).sum(1).mean()
            loss = loss + 0.5 * self.config.r1_gamma * R1_EVERY * penalty
            extra["r1"] = float(penalty.detach())
        extra["d_real"] = float(d_real.detach().mean())
        extra["d_fake"] = float(d_fake.detach().mean())
        return loss, extra

    def _z(self, n: int, device) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=device)

    def training_step(self, batch: torch.Tensor, opt) -> dict[str, float]:
        self.train()
        self.generator_ema.eval()
        real = batch.to(self.device)
        n = len(real)
        self.discriminator.requires_grad_(True)
        # One generator pass serves the first discriminator step (detached) and the generator step,
        # as in the DCGAN reference loop: a third less generator work per step.
        fake = self.generator(self._z(n, real.device))
        for i in range(self.config.d_steps):
            if i == 0:
                d_fake_in = fake.detach()
            else:
                with torch.no_grad():
                    d_fake_in = self.generator(self._z(n, real.device))
            d_loss, extra = self._d_loss(real, d_fake_in)
            opt.step("discriminator", d_loss)
        # Freeze D while updating G: no wasted gradients for D's weights.
        self.discriminator.requires_grad_(False)
        score = self.discriminator(augment(fake, self.augment_policy) if self.augment_policy else fake)
        g_loss = F.softplus(-score).mean() if self.config.loss == "nonsaturating" else -score.mean()
        opt.step("generator", g_loss)
        self.discriminator.requires_grad_(True)
        self.steps_done += 1
        out = {"d_loss": float(d_loss.detach()), "g_loss": float(g_loss.detach()), **extra}
        every = self.config.diversity_every
        if every and int(self.steps_done) % every == 0:
            out["diversity"] = self.diversity()
        return out

    def after_step(self, step: int) -> None:
        decay = self.config.ema_decay
        # Early on the average follows the weights closely, else it would keep the random start.
        decay = min(decay, (1 + step) / (10 + step)) if decay > 0 else 0.0
        EMA.update(self.generator_ema, self.generator, decay)
        if decay > 0 and int(self.steps_done) % BN_EVERY == 0:
            self.recalibrate_ema()

    @torch.no_grad()
    def recalibrate_ema(self, n: int = 256) -> None:
        """Re-estimate the averaged generator's batch-norm statistics from its own activations.

        The running statistics copied from the live generator describe the live weights;
        used with the averaged ones they give washed-out samples."""
        bns = [m for m in self.generator_ema.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not bns:
            return
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over this one pass
        g = generator_for(int(self.steps_done))
        self.generator_ema.train()
        self.generator_ema(torch.randn(n, self.latent_dim, generator=g).to(self.device))
        self.generator_ema.eval()
        for m in bns:
            m.momentum = 0.1

    @torch.no_grad()
    def diversity(self) -> float:
        """Mean pairwise distance of the 64 fixed-z samples (falls towards 0 when the generator collapses)."""
        return mean_pairwise_distance(self.generator_ema(self.fixed_z))

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor) -> dict[str, float]:
        real = batch.to(self.device)
        d_loss, _ = self._d_loss(real, self.generator_ema(self._z(len(real), real.device)), training=False)
        return {"val_d_loss": float(d_loss), "val_diversity": self.diversity()}

    @torch.no_grad()
    def evaluate(self, batches: Iterator[torch.Tensor]) -> dict[str, float]:
        """Mode-collapse indicator and nearest-neighbour distance of 256 samples to the given images."""
        return sample_figures(self.sample(256, seed=0), batches)

    # -- generation -----------------------------------------------------------
    def latents(self, n: int, seed: int = 0) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator_for(seed))

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        self.generator_ema.eval()
        z = z.to(self.device, torch.float32).view(-1, self.latent_dim)
        return self.generator_ema(z).clamp_(0.0, 1.0)

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, **kwargs) -> torch.Tensor:
        return self.decode(self.latents(n, seed))

    def onnx_exports(self) -> list[OnnxExport]:
        return [OnnxExport(
            name="generator", module=copy.deepcopy(self.generator_ema).eval(),
            example_inputs=(torch.zeros(2, self.latent_dim, device=self.device),),
            input_names=["z"], output_names=["images"],
            dynamic_axes={"z": {0: "batch"}, "images": {0: "batch"}})]
