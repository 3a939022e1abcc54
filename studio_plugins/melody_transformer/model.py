"""The melody transformer: relative self-attention (Music Transformer) with 4/4 and 3-beat bar positions."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from studio_plugins.melody_common import NextEventModel
from studio.core.plugins.model import StudioModel

BAR_STEPS = (16, 12)  # 4/4 (and 2/4) bars, three-beat bars (3/4, 6/8, and 3/8)


class RelativeAttention(nn.Module):
    """Causal multi-head attention plus a learned bias per head for each distance back (relative attention).

    Music Transformer adds q·E[distance] to the scores; a per-head bias for each distance (as in T5) learns
    the same "look one bar / one phrase back" preference at a fraction of the CPU cost, and lets the fused
    attention kernel run.
    """

    def __init__(self, width: int, heads: int, max_distance: int, dropout: float):
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.rel = nn.Parameter(torch.zeros(heads, max_distance))  # distance 0..max-1, farther share the last
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, w = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        pos = torch.arange(n, device=x.device)
        back = pos[:, None] - pos[None, :]
        bias = self.rel[:, back.clamp(0, self.rel.shape[1] - 1)]          # (heads, n, n)
        bias = bias.masked_fill(back < 0, float("-inf"))                   # causal
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.unsqueeze(0),
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(b, n, w))


class Block(nn.Module):
    def __init__(self, width: int, heads: int, max_distance: int, dropout: float):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.att = RelativeAttention(width, heads, max_distance, dropout)
        self.ff = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width), nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.att(self.ln1(x)))
        return x + self.ff(self.ln2(x))


class MelodyTransformer(NextEventModel, StudioModel):
    def __init__(self, config, spec):
        super().__init__(config, spec)
        if config.width % config.heads:
            raise ValueError(f"Width {config.width} is not a multiple of Heads {config.heads}")
        self.vocab = spec.vocab_size
        self.bos = self.vocab  # input-only "start of melody"
        self.sequence_length = spec.phrase_length or None
        w = config.width
        self.embed = nn.Embedding(self.vocab + 1, w)
        # where the predicted step falls in a 4/4 bar and in a three-beat bar: phrases start on a bar line
        self.beat = nn.ModuleList(nn.Embedding(s, w) for s in BAR_STEPS)
        self.blocks = nn.ModuleList(Block(w, config.heads, config.max_distance, config.dropout)
                                    for _ in range(config.layers))
        self.ln = nn.LayerNorm(w)
        self.head = nn.Linear(w, self.vocab)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, history: torch.Tensor) -> torch.Tensor:
        """(B, T) events so far -> (B, T+1, vocab) logits for every step 0..T (step 0 follows BOS)."""
        b, t = history.shape
        inp = torch.cat([torch.full((b, 1), self.bos, dtype=torch.long, device=history.device), history], 1)
        pos = torch.arange(t + 1, device=history.device)
        x = self.embed(inp) + sum(emb(pos % s) for emb, s in zip(self.beat, BAR_STEPS))
        x = self.drop(x)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))

    # -- training (training_step, validation_step, evaluate: NextEventModel) --
    def _nll(self, batch: torch.Tensor):
        logits = self(batch[:, :-1])
        return F.cross_entropy(logits.reshape(-1, self.vocab), batch.reshape(-1), reduction="none"), logits

    @torch.no_grad()
    def token_nll(self, tokens: list[int]) -> float:
        """Summed cross-entropy (nats) of each event after the first given those before it."""
        seq = torch.as_tensor(list(tokens), dtype=torch.long, device=self.device).view(1, -1)
        if seq.shape[1] < 2:
            return 0.0
        was = self.training
        self.eval()
        logits = self(seq[:, :-1])[:, 1:]
        self.train(was)
        return float(F.cross_entropy(logits.reshape(-1, self.vocab), seq[0, 1:], reduction="sum"))

    # -- generation (sample, generate: NextEventModel) --------------------
    def _prime(self, hist: torch.Tensor) -> None:
        return None  # no state: attention re-reads the history at every step

    def _next_logits(self, hist: torch.Tensor, state=None):
        """(logits (n, vocab) on the CPU for the event after ``hist``, no state)."""
        window = self.config.max_distance * 2  # older steps than this add little and cost quadratically
        start = max(0, hist.shape[1] - window)
        start -= start % 48  # keep bar positions: 48 steps is a whole number of 16- and 12-step bars
        return self(hist[:, start:])[:, -1].cpu(), None
