"""The char-rnn network: embedding -> stacked LSTM/GRU -> linear read-out."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from studio_plugins.text_common import CharLanguageModel
from studio.core.plugins.api import OnnxExport


class CharRNN(CharLanguageModel):
    def __init__(self, config: Any, spec: Any):
        super().__init__(config, spec)
        c = config
        if c.window < 1 or c.bptt < 1:
            raise ValueError("window and bptt must be at least 1 character")
        self.sequence_length = int(c.window) + 1
        self.embed = nn.Embedding(self.vocab_size, c.embedding)
        rnn = nn.LSTM if c.cell == "lstm" else nn.GRU
        self.rnn = rnn(c.embedding, c.width, num_layers=c.layers, batch_first=True,
                       dropout=c.dropout if c.layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.width, self.vocab_size)

    def advance(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        out, state = self.rnn(self.embed(tokens), state)
        return self.head(self.drop(out)), state

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.advance(tokens, None)[0]

    def loss_on(self, batch: torch.Tensor) -> torch.Tensor:
        """Truncated BPTT while training: chunks of ``bptt`` characters, the state detached between them."""
        batch = batch.to(self.device)
        x, y = batch[:, :-1], batch[:, 1:]
        if not torch.is_grad_enabled() or x.shape[1] <= self.config.bptt:
            logits = self(x)
            return F.cross_entropy(logits.reshape(-1, self.vocab_size), y.reshape(-1))
        state, total = None, 0.0
        for s in range(0, x.shape[1], self.config.bptt):
            if state is not None:
                state = tuple(t.detach() for t in state) if isinstance(state, tuple) else state.detach()
            logits, state = self.advance(x[:, s:s + self.config.bptt], state)
            total = total + F.cross_entropy(logits.reshape(-1, self.vocab_size),
                                            y[:, s:s + self.config.bptt].reshape(-1), reduction="sum")
        return total / y.numel()

    def onnx_exports(self) -> list[OnnxExport]:
        c = self.config
        step = RNNStep(self).eval()
        token = torch.zeros(2, 1, dtype=torch.long)
        h = torch.zeros(c.layers, 2, c.width)
        names = ["h"] + (["c"] if c.cell == "lstm" else [])
        inputs = (token, h, torch.zeros_like(h)) if c.cell == "lstm" else (token, h)
        axes = {"token": {0: "batch"}, "logits": {0: "batch"}}
        for n in names:
            axes[n] = {1: "batch"}
            axes[f"{n}_out"] = {1: "batch"}
        return [OnnxExport(name="step", module=step, example_inputs=inputs, input_names=["token", *names],
                           output_names=["logits", *(f"{n}_out" for n in names)], dynamic_axes=axes)]


class RNNStep(nn.Module):
    """One character in, next-character logits and the new hidden state out (ONNX export)."""

    def __init__(self, model: CharRNN):
        super().__init__()
        self.model = model

    def forward(self, token, h, c=None):
        state = (h, c) if c is not None else h
        logits, state = self.model.advance(token, state)
        if c is not None:
            return logits[:, -1], state[0], state[1]
        return logits[:, -1], state
