"""Small diffusion model (DDPM training, DDIM sampling); its Config lives in __init__.py (no torch at discovery).

Continuous time t in [0, 1] with a cosine noise schedule (Nichol & Dhariwal):
x_t = alpha(t) x + sigma(t) eps. The U-Net predicts v = alpha eps - sigma x
(Salimans & Ho; steadier than eps at high noise) or eps. Sampling runs a few
deterministic DDIM steps from an initial noise tensor, so the noise is a latent
(``decode``) and sampling is interactive on a CPU. Samples use an EMA of the weights.
"""
from __future__ import annotations

import copy
import math
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from studio_plugins.ddpm import Config
from studio_plugins.image_metrics import EMA, sample_figures
from studio.core.plugins.api import OnnxExport
from studio.core.plugins.model import StudioModel, generator_for

SIZES = (32, 64)
T_MAX = 0.985  # the cosine schedule's last few percent are pure noise; stop short so alpha > 0


def _alpha_sigma(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine schedule: signal and noise scales at time t (alpha^2 + sigma^2 = 1)."""
    angle = (t + 0.008) / 1.008 * (math.pi / 2)
    return torch.cos(angle), torch.sin(angle)


class TimeEmbedding(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 2), nn.SiLU(), nn.Linear(dim * 2, dim * 2))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, device=t.device, dtype=torch.float32) * (-math.log(1000.0) / half))
        args = t.float()[:, None] * 1000.0 * freqs[None]
        return self.mlp(torch.cat([args.sin(), args.cos()], dim=1))


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, tdim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(8, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(8, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.temb(temb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    """A CPU-friendly U-Net: full resolution only at the ends, residual blocks from half size down.

    Half, quarter and eighth size (64 px: one more level), one residual block each way.
    Skipping residual blocks at full resolution makes a step about four times cheaper.
    """

    def __init__(self, channels: int, size: int, width: int):
        super().__init__()
        levels = 3 if size == 32 else 4
        chans = [width] + [width * 2] * (levels - 1)
        tdim = width * 2
        self.time = TimeEmbedding(width)
        self.inp = nn.Conv2d(channels, width, 3, padding=1)
        self.stem = nn.Conv2d(width, width, 4, stride=2, padding=1)
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        cin = width
        for i, ch in enumerate(chans):
            self.down.append(ResBlock(cin, ch, tdim))
            cin = ch
            self.pool.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1) if i < levels - 1 else nn.Identity())
        self.mid = ResBlock(cin, cin, tdim)
        self.up = nn.ModuleList()
        for ch in reversed(chans):
            self.up.append(ResBlock(cin + ch, ch, tdim))
            cin = ch
        self.unstem = nn.ConvTranspose2d(cin, width, 4, stride=2, padding=1)
        self.out = nn.Sequential(nn.GroupNorm(8, 2 * width), nn.SiLU(), nn.Conv2d(2 * width, channels, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time(t)
        full = self.inp(x)
        h = self.stem(full)
        skips = []
        for block, pool in zip(self.down, self.pool):
            h = block(h, temb)
            skips.append(h)
            h = pool(h)
        h = self.mid(h, temb)
        for i, block in enumerate(self.up):
            if i:  # the deepest level was not pooled; every later skip is twice the size
                h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = block(torch.cat([h, skips.pop()], dim=1), temb)
        return self.out(torch.cat([self.unstem(h), full], dim=1))


def ddim_schedule(steps: int) -> torch.Tensor:
    """One row per DDIM step: (t, alpha(t), sigma(t), alpha(s), sigma(s)), from time t down to s."""
    times = torch.tensor([T_MAX * (1 - i / steps) for i in range(steps + 1)], dtype=torch.float32)
    a, s = _alpha_sigma(times)
    return torch.stack([times[:-1], a[:-1], s[:-1], a[1:], s[1:]], dim=1)


class DDIMStep(nn.Module):
    """One deterministic DDIM step: (x at t, a schedule row) -> x at the next, lower time s."""

    def __init__(self, unet: UNet, prediction: str):
        super().__init__()
        self.unet, self.prediction = unet, prediction

    def forward(self, x: torch.Tensor, row: torch.Tensor) -> torch.Tensor:
        t, a_t, s_t, a_s, s_s = row[0:1], row[1], row[2], row[3], row[4]
        out = self.unet(x, t.expand(x.shape[0]))
        if self.prediction == "v":
            x0 = a_t * x - s_t * out
        else:
            x0 = (x - s_t * out) / a_t
        x0 = x0.clamp(-1.0, 1.0)
        eps = (x - a_t * x0) / s_t
        return a_s * x0 + s_s * eps


class DDIMFinish(nn.Module):
    """The sampler's last move: x in [-1, 1] -> images in [0, 1]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * 0.5 + 0.5).clamp(0.0, 1.0)


class DDIMDecoder(nn.Module):
    """Initial noise (B, C, H, W) -> images in [0, 1] by deterministic DDIM.

    ``forward`` runs the steps in Python (a plain ONNX export unrolls them: the network once per
    step); ``onnx_loop`` describes the same sampler as one step run once per schedule row, which the
    studio's exporter writes as an ONNX Loop, so the network (and its int8 bookkeeping) is stored once.
    """

    def __init__(self, unet: UNet, steps: int, prediction: str):
        super().__init__()
        self.unet, self.steps, self.prediction = unet, int(steps), prediction
        self.step, self.finish = DDIMStep(unet, prediction), DDIMFinish()
        self.register_buffer("schedule", ddim_schedule(self.steps).to(next(unet.parameters()).device),
                             persistent=False)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        x = noise
        for i in range(self.steps):
            x = self.step(x, self.schedule[i])
        return self.finish(x)

    def onnx_loop(self) -> dict:
        """The loop form (plain values: plugins do not import the exporter): ``step(x, row)`` once per
        row of ``schedule``, then ``finish(x)``; ``forward`` computes exactly this."""
        return {"step": self.step, "schedule": self.schedule.detach().cpu(), "finish": self.finish}


class DDPM(StudioModel):
    def __init__(self, config: Config, spec):
        super().__init__(config, spec)
        size, c = int(spec.image_size), int(spec.channels)
        if size not in SIZES:
            raise ValueError(f"ddpm: image size {size} px is not supported; use one of {', '.join(map(str, SIZES))}")
        if c not in (1, 3):
            raise ValueError(f"ddpm: {c} channels is not supported; images must be greyscale (1) or RGB (3)")
        if config.prediction not in ("v", "eps"):
            raise ValueError(f"ddpm: prediction {config.prediction!r} is not 'v' or 'eps'")
        if config.width % 8:
            raise ValueError(f"ddpm: width {config.width} must be a multiple of 8 (group normalisation)")
        self.shape = (c, size, size)
        self.latent_dim = c * size * size
        self.unet = UNet(c, size, config.width)
        self.unet_ema = copy.deepcopy(self.unet).requires_grad_(False).eval()

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"model": list(self.unet.parameters())}

    def _loss(self, batch: torch.Tensor, generator: torch.Generator | None = None, unet: nn.Module | None = None):
        x = batch.to(self.device) * 2 - 1
        n = len(x)
        t = torch.rand(n, generator=generator).to(x.device) * T_MAX
        noise = torch.randn(x.shape, generator=generator).to(x.device) if generator is not None \
            else torch.randn_like(x)
        a, s = (v.view(-1, 1, 1, 1) for v in _alpha_sigma(t))
        target = a * noise - s * x if self.config.prediction == "v" else noise
        return F.mse_loss((unet or self.unet)(a * x + s * noise, t), target)

    def training_step(self, batch: torch.Tensor, opt) -> dict[str, float]:
        self.unet.train()
        loss = self._loss(batch)
        opt.step("model", loss)
        return {"loss": float(loss.detach())}

    def after_step(self, step: int) -> None:
        decay = self.config.ema_decay
        decay = min(decay, (1 + step) / (10 + step)) if decay > 0 else 0.0
        EMA.update(self.unet_ema, self.unet, decay)

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor) -> dict[str, float]:
        # fixed noise and times, so the curve moves only when the model does
        return {"val_loss": float(self._loss(batch, generator_for(0), self.unet_ema))}

    @torch.no_grad()
    def evaluate(self, batches: Iterator[torch.Tensor]) -> dict[str, float]:
        """Mode-collapse indicator and nearest-neighbour distance of 256 samples to the given images."""
        return sample_figures(self.sample(256, seed=0), batches)

    # -- generation -----------------------------------------------------------
    def latents(self, n: int, seed: int = 0) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator_for(seed))

    def decoder(self, steps: int | None = None) -> DDIMDecoder:
        return DDIMDecoder(self.unet_ema, steps or self.config.sample_steps, self.config.prediction)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        self.unet_ema.eval()
        z = z.to(self.device, torch.float32).reshape(-1, *self.shape)
        return self.decoder(steps)(z)

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, steps: int | None = None, **kwargs) -> torch.Tensor:
        return self.decode(self.latents(n, seed), steps)

    def onnx_exports(self) -> list[OnnxExport]:
        return [OnnxExport(
            name="ddim_decoder", module=DDIMDecoder(copy.deepcopy(self.unet_ema).eval(), self.config.sample_steps,
                                                    self.config.prediction),
            example_inputs=(torch.zeros(2, *self.shape, device=self.device),),
            input_names=["noise"], output_names=["images"],
            dynamic_axes={"noise": {0: "batch"}, "images": {0: "batch"}})]
