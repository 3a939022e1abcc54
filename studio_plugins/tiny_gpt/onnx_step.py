"""The single-token generation step of tiny-gpt as an ONNX-exportable module with an explicit KV cache.

Inputs: ``token`` int64 (B, 1), ``position`` int64 (1,) - the absolute position of that token,
``past_keys`` / ``past_values`` float (layers, B, heads, P, head_dim). Outputs: ``logits`` (B, V)
and the caches with the new token appended (P + 1). The caller keeps the last ``context - 1``
entries before the next step, exactly as :meth:`TinyGPT.advance` does.
"""
from __future__ import annotations

import torch
from torch import nn

from studio.core.plugins.api import OnnxExport


class GPTStep(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model
        c = model.config
        self.head_dim = c.width // c.heads
        inv = 1.0 / (10000.0 ** (torch.arange(0, self.head_dim, 2, dtype=torch.float64) / self.head_dim))
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, token, position, past_keys, past_values):
        m = self.model
        angles = position.to(torch.float64)[:, None] * self.inv_freq[None, :]
        cos, sin = angles.cos().float(), angles.sin().float()
        x = m.embed(token)
        keys, values = [], []
        for i, b in enumerate(m.blocks):
            x, (k, v) = b(x, cos, sin, (past_keys[i], past_values[i]))
            keys.append(k)
            values.append(v)
        logits = m.head(m.norm(x))[:, -1]
        return logits, torch.stack(keys), torch.stack(values)


def empty_cache(model, batch: int = 1, length: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    c = model.config
    shape = (c.layers, batch, c.heads, length, c.width // c.heads)
    return torch.zeros(shape), torch.zeros(shape)


def exports(model) -> list[OnnxExport]:
    step = GPTStep(model).eval()
    keys, values = empty_cache(model, batch=2, length=3)
    token = torch.zeros(2, 1, dtype=torch.long)
    position = torch.tensor([3], dtype=torch.long)
    return [OnnxExport(
        name="step", module=step, example_inputs=(token, position, keys, values),
        input_names=["token", "position", "past_keys", "past_values"],
        output_names=["logits", "present_keys", "present_values"],
        dynamic_axes={"token": {0: "batch"}, "past_keys": {1: "batch", 3: "past"},
                      "past_values": {1: "batch", 3: "past"}, "logits": {0: "batch"},
                      "present_keys": {1: "batch", 3: "total"}, "present_values": {1: "batch", 3: "total"}})]
