"""The melody RNN network, its training step, sampling, beam search and ONNX step module."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from studio_plugins.melody_common import NextEventModel
from studio.core.plugins.api import STEPS_PER_BAR, OnnxExport
from studio.core.plugins.model import StudioModel

N_FEATURES = 5  # input event, event 1 bar back, 2 bars back, position in bar, repeat flags


class MelodyRNN(NextEventModel, StudioModel):
    def __init__(self, config, spec):
        super().__init__(config, spec)
        self.vocab = spec.vocab_size
        self.bos = self.vocab       # input-only "start of melody"
        self.pad = self.vocab + 1   # "no event that far back"
        self.sequence_length = spec.phrase_length or None
        e = config.embed
        self.embed = nn.Embedding(self.vocab + 2, e)
        in_dim = e
        if config.lookback:
            self.lb_embed = nn.Embedding(self.vocab + 2, e // 2)
            in_dim += 2 * (e // 2) + STEPS_PER_BAR + 2
            self.register_buffer("pos_table", torch.eye(STEPS_PER_BAR), persistent=False)
            self.register_buffer("rep_table", torch.tensor([[0., 0.], [1., 0.], [0., 1.], [1., 1.]]), persistent=False)
        cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[config.cell]
        self.rnn = cls(in_dim, config.hidden, config.layers, batch_first=True,
                       dropout=config.dropout if config.layers > 1 else 0.0)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, self.vocab)

    # -- inputs ------------------------------------------------------------
    def seq_features(self, events: torch.Tensor) -> torch.Tensor:
        """(B,L) target events -> (B,L,5) long inputs that predict them (teacher forcing)."""
        b, length = events.shape
        pad = lambda n: torch.full((b, n), self.pad, dtype=torch.long, device=events.device)  # noqa: E731
        inp = torch.cat([torch.full((b, 1), self.bos, dtype=torch.long, device=events.device), events[:, :-1]], 1)
        lb1 = torch.cat([pad(16), events], 1)[:, :length]
        lb2 = torch.cat([pad(32), events], 1)[:, :length]
        prev1 = torch.cat([pad(17), events], 1)[:, :length]
        prev2 = torch.cat([pad(33), events], 1)[:, :length]
        rep = (inp == prev1).long() + 2 * (inp == prev2).long()
        pos = (torch.arange(length, device=events.device) % STEPS_PER_BAR).expand(b, length)
        return torch.stack([inp, lb1, lb2, pos, rep], -1)

    def next_features(self, history: torch.Tensor) -> torch.Tensor:
        """(B,T) events so far -> (B,1,5) inputs for predicting event T."""
        dummy = torch.zeros(history.shape[0], 1, dtype=torch.long, device=history.device)
        return self.seq_features(torch.cat([history, dummy], 1))[:, -1:]

    def forward(self, feats: torch.Tensor, state=None):
        x = self.embed(feats[..., 0])
        if self.config.lookback:
            # fixed lookup tables rather than one_hot/arithmetics: exports cleanly to ONNX
            pos = F.embedding(feats[..., 3], self.pos_table)
            rep = F.embedding(feats[..., 4], self.rep_table)
            x = torch.cat([x, self.lb_embed(feats[..., 1]), self.lb_embed(feats[..., 2]), pos, rep], -1)
        out, state = self.rnn(self.drop(x), state)
        return self.head(self.drop(out)), state

    # -- training (training_step, validation_step, evaluate: NextEventModel) --
    def _nll(self, batch: torch.Tensor):
        logits, _ = self(self.seq_features(batch))
        return F.cross_entropy(logits.reshape(-1, self.vocab), batch.reshape(-1), reduction="none"), logits

    # -- generation (sample, generate: NextEventModel) --------------------
    def _prime(self, history: torch.Tensor):
        """State after reading all but the last primer event (which is the next step's input)."""
        if history.shape[1] == 0:
            return None
        _, state = self(self.seq_features(history))
        return state

    def _next_logits(self, hist: torch.Tensor, state):
        """(logits (n, vocab) on the CPU for the event after ``hist``, the state after reading it)."""
        logits, state = self(self.next_features(hist), state)
        return logits[:, -1].cpu(), state

    @torch.no_grad()
    def beam_search(self, prime_tokens, length: int, beam_width: int = 4, temperature: float = 1.0) -> list[int]:
        """The most likely continuation found by beam search (deterministic)."""
        was = self.training
        self.eval()
        hist = torch.as_tensor(list(prime_tokens or []), dtype=torch.long, device=self.device).view(1, -1)
        p = hist.shape[1]
        state = self._prime(hist)
        scores = torch.zeros(1, device=self.device)
        for _ in range(int(length)):
            logits, state = self(self.next_features(hist), state)
            logp = torch.log_softmax(logits[:, -1] / max(temperature, 1e-6), -1)
            cand = (scores[:, None] + logp).view(-1)
            top = torch.topk(cand, min(beam_width, cand.numel()))
            beam, tok = top.indices // self.vocab, top.indices % self.vocab
            scores = top.values
            hist = torch.cat([hist[beam], tok[:, None]], 1)
            state = tuple(s[:, beam] for s in state) if isinstance(state, tuple) else state[:, beam]
        self.train(was)
        return [int(t) for t in hist[0, p:].tolist()]

    # -- export ------------------------------------------------------------
    def onnx_exports(self) -> list[OnnxExport]:
        """One recurrent step with explicit states; the batch is dynamic, time is fixed at 1.

        Limits: export with ``torch.onnx.export(..., dynamo=True)`` (torch.export specialises the
        time axis of RNN layers, so a sequence would be a fixed length; the legacy TorchScript
        exporter produced wrong GRU/LSTM outputs in our tests). A runner loops the step, feeding
        ``features`` built by :meth:`next_features` and the returned states back in.
        """
        layers, hidden = self.config.layers, self.config.hidden
        feats = self.next_features(torch.full((2, 20), 2, dtype=torch.long))
        h0 = torch.zeros(layers, 2, hidden)
        if self.config.cell == "lstm":
            module, inputs = _LstmStep(self), (feats, h0, h0.clone())
            names, outs = ["features", "h0", "c0"], ["logits", "h", "c"]
        else:
            module, inputs = _Step(self), (feats, h0)
            names, outs = ["features", "h0"], ["logits", "h"]
        axes = {"features": {0: "batch"}, "logits": {0: "batch"}}
        for n in names[1:] + outs[1:]:
            axes[n] = {1: "batch"}
        return [OnnxExport("melody_rnn_step", module, inputs, names, outs, axes)]


class _LstmStep(nn.Module):
    def __init__(self, model: MelodyRNN):
        super().__init__()
        self.model = model

    def forward(self, features, h0, c0):
        logits, (h, c) = self.model(features, (h0, c0))
        return logits, h, c


class _Step(nn.Module):
    def __init__(self, model: MelodyRNN):
        super().__init__()
        self.model = model

    def forward(self, features, h0):
        logits, h = self.model(features, h0)
        return logits, h
