"""Differentiable augmentation of what the discriminator sees (Zhao et al. 2020, "DiffAugment").

With a few hundred or thousand images the discriminator soon memorises the real ones and its
gradients stop teaching the generator. Shifting and cutting out both real and generated
images, differentiably so gradients still reach the generator, keeps it honest; the
generator never learns to produce the augmentations because both sides get them.
Images are in [0, 1]; padding and cut-outs are 0.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("translation", "cutout", "colour")


def parse_policy(text: str) -> tuple[str, ...]:
    """"translation,cutout" -> ("translation", "cutout"); "" or "off" -> (); unknown names raise ValueError."""
    parts = tuple(p.strip() for p in text.replace("color", "colour").split(",") if p.strip())
    if parts in ((), ("off",)):
        return ()
    bad = [p for p in parts if p not in POLICIES]
    if bad:
        raise ValueError(f"unknown augmentation {', '.join(bad)}; use a comma list of {', '.join(POLICIES)} or off")
    return parts


def augment(x: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    for name in policy:
        x = _OPS[name](x)
    return x


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size in x and y, filling with 0."""
    n, _c, h, w = x.shape
    sy, sx = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    ty = torch.randint(-sy, sy + 1, (n, 1, 1), device=x.device)
    tx = torch.randint(-sx, sx + 1, (n, 1, 1), device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    # indices into the image padded by one pixel of zeros: anything shifted in from outside reads 0
    gy = (gy[None] + ty + 1).clamp(0, h + 1)
    gx = (gx[None] + tx + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded[batch, gy, gx].permute(0, 3, 1, 2).contiguous()


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Blank one square of ``ratio`` of the size at a random place in each image."""
    n, _c, h, w = x.shape
    ch, cw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    oy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    gy, gx = torch.meshgrid(torch.arange(ch, device=x.device), torch.arange(cw, device=x.device), indexing="ij")
    gy = (gy[None] + oy - ch // 2).clamp(0, h - 1)
    gx = (gx[None] + ox - cw // 2).clamp(0, w - 1)
    mask = torch.ones(n, h, w, device=x.device, dtype=x.dtype)
    mask[torch.arange(n, device=x.device)[:, None, None], gy, gx] = 0
    return x * mask.unsqueeze(1)


def _colour(x: torch.Tensor) -> torch.Tensor:
    """Random brightness, saturation (colour images) and contrast per image."""
    n = x.shape[0]
    x = x + (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5) * 0.5
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


_OPS = {"translation": _translation, "cutout": _cutout, "colour": _colour}
