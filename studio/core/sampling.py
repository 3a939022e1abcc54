"""Sampling controls shared by every sequence model: temperature, top-k, top-p, repetition penalty, seeds."""
from __future__ import annotations

import torch


def adjust_logits(logits: torch.Tensor, *, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                  repetition_penalty: float = 1.0, recent: torch.Tensor | None = None) -> torch.Tensor:
    """Return logits (last dim = vocabulary) after the usual controls.

    * repetition_penalty > 1 divides positive / multiplies negative logits of ``recent`` tokens (CTRL paper).
    * top_k keeps the k largest; top_p keeps the smallest set whose probability reaches p (the nucleus).
    Temperature 0 means greedy and is handled by :func:`pick`.
    """
    logits = logits.float().clone()
    if repetition_penalty != 1.0 and recent is not None and recent.numel():
        idx = recent.long().view(*logits.shape[:-1], -1) if logits.dim() > 1 else recent.long().view(-1)
        vals = logits.gather(-1, idx)
        vals = torch.where(vals > 0, vals / repetition_penalty, vals * repetition_penalty)
        logits.scatter_(-1, idx, vals)
    if temperature > 0:
        logits = logits / temperature
    if top_k and 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if 0.0 < top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        probs = torch.softmax(sorted_logits, dim=-1)
        cum = probs.cumsum(-1)
        # drop a token when the tokens before it already reach top_p (always keep the first)
        drop = (cum - probs) >= top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return logits


def pick(logits: torch.Tensor, *, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
         repetition_penalty: float = 1.0, recent: torch.Tensor | None = None,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """Choose the next token(s) from logits of shape (V,) or (B,V). Temperature 0 (or top_k 1) is greedy."""
    logits = adjust_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p,
                           repetition_penalty=repetition_penalty, recent=recent)
    if temperature <= 0 or top_k == 1:
        return logits.argmax(-1)
    probs = torch.softmax(logits, dim=-1)
    flat = probs.reshape(-1, probs.shape[-1])
    out = torch.multinomial(flat, 1, generator=generator).view(probs.shape[:-1])
    return out
