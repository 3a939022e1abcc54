"""Tiny stand-ins for latent models (no plugin needed): images and melodies from an 8-d z."""
from __future__ import annotations

import math

import torch
from torch import nn


class TinyImageModel(nn.Module):
    """z (n,8) -> smooth colourful 16x16 images: each latent dim weights a low-frequency pattern."""

    latent_dim = 8

    def __init__(self, size: int = 16):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
        basis = []
        for k in range(self.latent_dim):
            fx, fy, ph = 1 + k % 3, 1 + k // 3 % 3, k * 0.7
            basis.append(torch.sin(2 * math.pi * (fx * xx + fy * yy) / 2 + ph))
        self.register_buffer("basis", torch.stack(basis).view(self.latent_dim, -1))
        self.mix = nn.Parameter(torch.randn(3, self.latent_dim, generator=g))
        self.size = size

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        n = z.shape[0]
        coeff = z[:, None, :] * self.mix[None, :, :]                 # (n,3,D)
        img = torch.einsum("ncd,dp->ncp", coeff, self.basis)         # (n,3,P)
        return torch.sigmoid(img).view(n, 3, self.size, self.size)


class TinyMelodyModel(nn.Module):
    """z (n,8) -> (n,32) melody events: a note every 2 steps whose pitch follows z."""

    latent_dim = 8

    def __init__(self, length: int = 32):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.proj = nn.Parameter(torch.randn(self.latent_dim, length // 2, generator=g))
        self.length = length

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        pitch_steps = torch.round(z @ self.proj * 2.0).clamp(-12, 12).long()   # (n, L/2)
        notes = 2 + 24 + pitch_steps                                            # around C4 (60)
        events = torch.ones(z.shape[0], self.length, dtype=torch.long)         # HOLD
        events[:, 0::2] = notes
        return events
