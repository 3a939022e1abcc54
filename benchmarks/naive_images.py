"""Naive image baselines: what a hand-written first attempt from the PyTorch examples looks like.

The image benchmarks train one of these next to each plugin for the same wall time (or steps):
image_quality.py on 1-channel 32 px digits, colour_quality.py on 3-channel 64 px colour pictures.
The models take their channels and size from the data; the architectures and training loops
are the ones those benchmarks always measured, so their figures stay comparable.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.datasets.training_data import TrainingData

N_SAMPLES = 300
BATCH = 64


class NaiveVAE(nn.Module):  # the PyTorch examples' MLP VAE
    def __init__(self, channels: int, size: int):
        super().__init__()
        self.shape = (channels, size, size)
        d = channels * size * size
        self.fc1, self.mu, self.lv = nn.Linear(d, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.dec = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, d))

    def step(self, x, opt):
        h = F.relu(self.fc1(x.flatten(1)))
        mu, lv = self.mu(h), self.lv(h)
        z = mu + torch.randn_like(mu) * (0.5 * lv).exp()
        rec = F.binary_cross_entropy_with_logits(self.dec(z), x.flatten(1), reduction="sum")
        loss = (rec - 0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp())) / len(x)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def sample(self, n, g):
        return torch.sigmoid(self.dec(torch.randn(n, 20, generator=g))).view(n, *self.shape)


class NaiveGAN(nn.Module):
    """The PyTorch DCGAN example, ngf = ndf = ``f``, one stride-2 layer per doubling from 4 px to ``size``.

    ``tanh``: the example's Tanh output, images scaled to [-1, 1] for the discriminator; otherwise a
    Sigmoid output on [0, 1] images. ``bias``: the example's convolutions have none."""

    def __init__(self, channels: int, size: int, nz: int = 100, f: int = 32, bias: bool = False,
                 tanh: bool = True):
        super().__init__()
        self.nz, self.tanh = nz, tanh
        mults = [2 ** i for i in range(int(math.log2(size)) - 3, -1, -1)]  # 32 px: 4, 2, 1; 64 px: 8, 4, 2, 1
        g: list[nn.Module] = [nn.ConvTranspose2d(nz, f * mults[0], 4, 1, 0, bias=bias), nn.BatchNorm2d(f * mults[0]),
                              nn.ReLU()]
        for a, b in zip(mults, mults[1:]):
            g += [nn.ConvTranspose2d(f * a, f * b, 4, 2, 1, bias=bias), nn.BatchNorm2d(f * b), nn.ReLU()]
        g += [nn.ConvTranspose2d(f, channels, 4, 2, 1, bias=bias), nn.Tanh() if tanh else nn.Sigmoid()]
        self.G = nn.Sequential(*g)
        d: list[nn.Module] = [nn.Conv2d(channels, f, 4, 2, 1, bias=bias), nn.LeakyReLU(0.2)]
        for a, b in zip(mults[::-1], mults[-2::-1]):
            d += [nn.Conv2d(f * a, f * b, 4, 2, 1, bias=bias), nn.BatchNorm2d(f * b), nn.LeakyReLU(0.2)]
        d += [nn.Conv2d(f * mults[0], 1, 4, 1, 0, bias=bias), nn.Flatten()]
        self.D = nn.Sequential(*d)

    def step(self, x, opts):
        og, od = opts
        if self.tanh:
            x = x * 2 - 1
        fake = self.G(torch.randn(len(x), self.nz, 1, 1))
        ones, zeros = torch.ones(len(x), 1), torch.zeros(len(x), 1)
        ld = F.binary_cross_entropy_with_logits(self.D(x), ones) + \
            F.binary_cross_entropy_with_logits(self.D(fake.detach()), zeros)
        od.zero_grad()
        ld.backward()
        od.step()
        lg = F.binary_cross_entropy_with_logits(self.D(fake), ones)
        og.zero_grad()
        lg.backward()
        og.step()

    def sample(self, n, g):
        self.G.eval()
        out = self.G(torch.randn(n, self.nz, 1, 1, generator=g))
        return out * 0.5 + 0.5 if self.tanh else out


class NaiveDDPM(nn.Module):  # plain 32-channel conv denoiser, linear schedule, eps, no EMA
    T = 1000

    def __init__(self, channels: int, size: int):
        super().__init__()
        self.shape = (channels, size, size)
        self.emb = nn.Linear(1, 32)
        self.inp = nn.Conv2d(channels, 32, 3, padding=1)
        self.down = nn.Conv2d(32, 64, 4, 2, 1)
        self.mid = nn.Conv2d(64, 64, 3, padding=1)
        self.up = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        self.out = nn.Conv2d(64, channels, 3, padding=1)
        self.register_buffer("abar", torch.cumprod(1 - torch.linspace(1e-4, 0.02, self.T), 0))

    def eps(self, x, t):
        h = F.silu(self.inp(x) + self.emb(t.float().view(-1, 1) / self.T)[:, :, None, None])
        d = F.silu(self.mid(F.silu(self.down(h))))
        return self.out(torch.cat([F.silu(self.up(d)), h], 1))

    def step(self, x, opt):
        x = x * 2 - 1
        t = torch.randint(0, self.T, (len(x),))
        a = self.abar[t].view(-1, 1, 1, 1)
        noise = torch.randn_like(x)
        loss = F.mse_loss(self.eps(a.sqrt() * x + (1 - a).sqrt() * noise, t), noise)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def sample(self, n, g, steps=50):
        x = torch.randn(n, *self.shape, generator=g)
        ts = torch.linspace(self.T - 1, 0, steps).long().tolist()
        for i, t in enumerate(ts):
            a = self.abar[t]
            a_prev = self.abar[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
            e = self.eps(x, torch.full((n,), t))
            x0 = ((x - (1 - a).sqrt() * e) / a.sqrt()).clamp(-1, 1)
            x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * e
        return (x + 1) / 2


def run_naive(family: str, data: TrainingData, seconds: float, seed: int, max_steps: int = 0,
              sample_batch: int = N_SAMPLES, gan: dict | None = None) -> dict:
    """Train the naive model of ``family`` ("vae", "gan" or "diffusion") for ``seconds`` (or ``max_steps``)
    on ``data``'s training images; ``N_SAMPLES`` samples drawn ``sample_batch`` at a time (seeds 1234, 1235...);
    ``gan``: NaiveGAN's keyword arguments."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    c, size = int(data.spec.channels), int(data.spec.image_size)
    if family == "vae":
        m = NaiveVAE(c, size)
        opt = torch.optim.Adam(m.parameters(), 1e-3)
    elif family == "gan":
        m = NaiveGAN(c, size, **(gan or {}))
        opt = (torch.optim.Adam(m.G.parameters(), 2e-4, betas=(0.5, 0.999)),
               torch.optim.Adam(m.D.parameters(), 2e-4, betas=(0.5, 0.999)))
    else:
        m = NaiveDDPM(c, size)
        opt = torch.optim.Adam(m.parameters(), 1e-3)
    steps, t0 = 0, time.perf_counter()
    while (steps < max_steps) if max_steps else (time.perf_counter() - t0 < seconds):
        m.step(data.random_batch("train", BATCH, generator=g), opt)
        steps += 1
    train_s = time.perf_counter() - t0
    with torch.no_grad():
        samples = torch.cat([m.sample(sample_batch, torch.Generator().manual_seed(1234 + i))
                             for i in range(N_SAMPLES // sample_batch)])
    return {"steps": steps, "train_seconds": round(train_s, 1), "samples": samples.clamp(0, 1)}


def save_sheet(samples: torch.Tensor, path: Path, n: int = 8) -> None:
    """A PNG of the first ``n`` x ``n`` samples (N, C, H, W) in [0, 1], greyscale or RGB."""
    from PIL import Image
    c, size = samples.shape[1], samples.shape[-1]
    grid = samples[: n * n].reshape(n, n, c, size, size).permute(0, 3, 1, 4, 2).reshape(n * size, n * size, c)
    Image.fromarray((grid.squeeze(2) * 255).round().byte().numpy()).save(path)
