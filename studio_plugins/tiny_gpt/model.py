"""A small decoder-only Transformer for characters (nanoGPT's shape, modernised for small CPUs).

Pre-norm blocks with RMSNorm, rotary positions, no biases, tied input/output embeddings and
``F.scaled_dot_product_attention``. Attention is causal over a sliding window of ``context``
characters (inside a training window that is plain causal attention). Rotary positions make
attention depend only on the distance between characters, so the KV cache rolls past the context:
generation keeps the last ``context - 1`` keys per layer, runs at constant speed, and equals
recomputing the whole text with the window mask token for token.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from studio_plugins.text_common import CharLanguageModel

# One layer's cache: keys and values (B, heads, cached, head_dim); the state is (caches, next position).
KVState = tuple[list[tuple[torch.Tensor, torch.Tensor]], int]


def rotary_tables(positions: torch.Tensor, head_dim: int, base: float = 10000.0,
                  dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin (L, head_dim/2) for absolute ``positions``; angles in float64 so far positions stay exact."""
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float64, device=positions.device) / head_dim))
    angles = positions.to(torch.float64)[:, None] * inv[None, :]
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (first half, second half) of the last dim of x (B, H, L, D)."""
    a, b = x.chunk(2, dim=-1)
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Attention(nn.Module):
    """Causal self-attention over a sliding window of ``window`` characters (the context)."""

    def __init__(self, width: int, heads: int, dropout: float, window: int):
        super().__init__()
        self.heads, self.head_dim, self.window = heads, width // heads, window
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.proj = nn.Linear(width, width, bias=False)
        self.dropout = dropout

    def forward(self, x, cos, sin, past: tuple[torch.Tensor, torch.Tensor] | None = None):
        B, L, C = x.shape
        q, k, v = self.qkv(x).view(B, L, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        drop = self.dropout if self.training else 0.0
        P = 0
        if past is not None:
            P = past[0].shape[2]
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        if past is None and L <= self.window:  # a training window: plain causal attention
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=drop)
        elif L == 1 and P < self.window:  # one new query sees every cached key
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        else:  # query i sees keys P+i-window < j <= P+i (causal band)
            ones = torch.ones(L, P + L, dtype=torch.bool, device=x.device)
            mask = ones.tril(P) & ones.triu(P - self.window + 1)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        y = y.transpose(1, 2).reshape(B, L, C)
        return self.proj(y), (k, v)


class Block(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float, window: int, mlp_ratio: int = 4):
        super().__init__()
        self.norm1, self.norm2 = RMSNorm(width), RMSNorm(width)
        self.attn = Attention(width, heads, dropout, window)
        self.fc = nn.Linear(width, mlp_ratio * width, bias=False)
        self.out = nn.Linear(mlp_ratio * width, width, bias=False)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, cos, sin, past=None):
        a, kv = self.attn(self.norm1(x), cos, sin, past)
        x = x + self.drop(a)
        x = x + self.drop(self.out(F.gelu(self.fc(self.norm2(x)))))
        return x, kv


class TinyGPT(CharLanguageModel):
    def __init__(self, config: Any, spec: Any):
        super().__init__(config, spec)
        c = config
        if c.width % c.heads or (c.width // c.heads) % 2:
            raise ValueError(f"width {c.width} must split into {c.heads} heads of an even size")
        self.context = int(c.context)
        self.sequence_length = self.context + 1
        self.embed = nn.Embedding(self.vocab_size, c.width)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c.width, c.heads, c.dropout, self.context) for _ in range(c.layers))
        self.norm = RMSNorm(c.width)
        self.head = nn.Linear(c.width, self.vocab_size, bias=False)
        if c.tie_weights:
            self.head.weight = self.embed.weight
        self.apply(self._init)
        for b in self.blocks:  # GPT-2: scale residual projections by depth
            nn.init.normal_(b.attn.proj.weight, std=0.02 / math.sqrt(2 * c.layers))
            nn.init.normal_(b.out.weight, std=0.02 / math.sqrt(2 * c.layers))
        cos, sin = rotary_tables(torch.arange(self.context), c.width // c.heads)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"model": list(self.parameters())}

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (B, L, V). Windows longer than ``context`` use the sliding-window attention that
        generation with the KV cache computes (the full-recompute reference)."""
        L = tokens.shape[1]
        x = self.drop(self.embed(tokens))
        if L <= self.context:
            cos, sin = self.rope_cos[:L], self.rope_sin[:L]
        else:
            cos, sin = rotary_tables(torch.arange(L, device=tokens.device), self.config.width // self.config.heads)
        for b in self.blocks:
            x, _ = b(x, cos, sin)
        return self.head(self.norm(x))

    def advance(self, tokens: torch.Tensor, state: KVState | None) -> tuple[torch.Tensor, KVState]:
        """Logits for ``tokens`` following the cached ones. The cache keeps the last ``context - 1``
        keys/values per layer, so a step costs the same however long the text has grown."""
        B, L = tokens.shape
        caches, pos = state if state is not None else ([None] * len(self.blocks), 0)
        keep = self.context - 1
        caches = [None if c is None else (c[0][:, :, -keep:], c[1][:, :, -keep:]) for c in caches]
        cos, sin = rotary_tables(torch.arange(pos, pos + L, device=tokens.device),
                                 self.config.width // self.config.heads)
        x = self.embed(tokens)
        new = []
        for b, past in zip(self.blocks, caches):
            x, kv = b(x, cos, sin, past)
            new.append(kv)
        return self.head(self.norm(x)), (new, pos + L)

    def onnx_exports(self):
        from studio_plugins.tiny_gpt.onnx_step import exports
        return exports(self)
