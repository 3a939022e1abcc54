"""The melody VAE network: BiLSTM encoder, z-conditioned LSTM decoder, KL with free bits."""
from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from studio_plugins.melody_common import transpose_batch
from studio.core.plugins.api import STEPS_PER_BAR, OnnxExport, pick
from studio.core.plugins.model import StudioModel, generator_for


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation (falls back to lerp for nearly parallel vectors)."""
    an, bn = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-8), b / b.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    omega = torch.acos((an * bn).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    if float(so.abs().min()) < 1e-4:
        return (1 - t) * a + t * b
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


class MelodyVAE(StudioModel):
    def __init__(self, config, spec):
        super().__init__(config, spec)
        self.vocab = spec.vocab_size
        self.bos = self.vocab
        window = config.bars * STEPS_PER_BAR
        self.window = min(window, spec.phrase_length) if spec.phrase_length else window
        self.sequence_length = self.window
        self.latent_dim = config.latent_dim
        self.enc_embed = nn.Embedding(self.vocab, config.embed)
        self.encoder = nn.LSTM(config.embed, config.enc_hidden, batch_first=True, bidirectional=True)
        self.to_stats = nn.Linear(2 * config.enc_hidden, 2 * config.latent_dim)
        self.dec_embed = nn.Embedding(self.vocab + 1, config.embed)
        self.z_to_state = nn.Linear(config.latent_dim, 2 * config.dec_layers * config.dec_hidden)
        self.decoder = nn.LSTM(config.embed + config.latent_dim + STEPS_PER_BAR, config.dec_hidden,
                               config.dec_layers, batch_first=True,
                               dropout=config.dropout if config.dec_layers > 1 else 0.0)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.dec_hidden, self.vocab)
        self.register_buffer("pos_table", torch.eye(STEPS_PER_BAR), persistent=False)
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))

    # -- pieces ------------------------------------------------------------
    def fit_window(self, x: torch.Tensor, generator: torch.Generator | None = None, random: bool = False) -> torch.Tensor:
        """Crop (bar-aligned; random offsets when training) or pad with rests to the model's window."""
        x = x.long()
        n, length = x.shape
        if length < self.window:
            pad = torch.full((n, self.window - length), 1, dtype=torch.long, device=x.device)
            pad[:, 0] = 0  # a rest, then hold it: padding never lengthens the last note
            return torch.cat([x, pad], 1)
        bars = (length - self.window) // STEPS_PER_BAR + 1
        if not random or bars == 1:
            return x[:, :self.window]
        start = torch.randint(0, bars, (n,), generator=generator) * STEPS_PER_BAR
        idx = start[:, None].to(x.device) + torch.arange(self.window, device=x.device)
        return x.gather(1, idx)

    def encode_stats(self, x: torch.Tensor):
        _, (h, _) = self.encoder(self.enc_embed(x))
        stats = self.to_stats(torch.cat([h[0], h[1]], -1))
        mu, logvar = stats.chunk(2, -1)
        return mu, logvar.clamp(-10, 10)

    def initial_state(self, z: torch.Tensor):
        layers, hidden = self.config.dec_layers, self.config.dec_hidden
        hc = torch.tanh(self.z_to_state(z)).view(z.shape[0], 2, layers, hidden).permute(1, 2, 0, 3)
        return hc[0].contiguous(), hc[1].contiguous()

    def decoder_step(self, tokens, positions, z, state):
        """tokens/positions (B,T) long, z (B,D) -> logits (B,T,V), new state."""
        t = tokens.shape[1]
        x = torch.cat([self.dec_embed(tokens), z[:, None].expand(-1, t, -1), F.embedding(positions, self.pos_table)], -1)
        out, state = self.decoder(self.drop(x), state)
        return self.head(self.drop(out)), state

    def _teacher_forced(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        n, length = x.shape
        inp = torch.cat([torch.full((n, 1), self.bos, dtype=torch.long, device=x.device), x[:, :-1]], 1)
        pos = (torch.arange(length, device=x.device) % STEPS_PER_BAR).expand(n, length)
        logits, _ = self.decoder_step(inp, pos, z, self.initial_state(z))
        return logits

    def beta_now(self) -> float:
        warm = self.config.beta_warmup
        frac = 1.0 if warm <= 0 else min(1.0, float(self.steps_done) / warm)
        return self.config.beta * frac

    def _losses(self, x: torch.Tensor, sample_z: bool = True):
        mu, logvar = self.encode_stats(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if sample_z else mu
        logits = self._teacher_forced(x, z)
        recon = F.cross_entropy(logits.reshape(-1, self.vocab), x.reshape(-1), reduction="none").view(x.shape)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)
        return recon, kl, logits

    # -- training ----------------------------------------------------------
    def training_step(self, batch, opt):
        x = transpose_batch(self.fit_window(batch, random=True), self.config.transpose, self.vocab).to(self.device)
        recon, kl, logits = self._losses(x)
        kl_cost = (kl.mean() - self.config.free_bits).clamp_min(0.0)
        beta = self.beta_now()
        loss = recon.sum(1).mean() + beta * kl_cost
        opt.step("model", loss)
        self.steps_done += 1
        return {"loss": float(loss.detach()), "recon_per_event": float(recon.mean().detach()),
                "kl": float(kl.mean().detach()), "beta": beta,
                "accuracy": float((logits.argmax(-1) == x).float().mean())}

    @torch.no_grad()
    def validation_step(self, batch):
        x = self.fit_window(batch.to(self.device))
        recon, kl, logits = self._losses(x, sample_z=False)
        return {"val_loss": float(recon.sum(1).mean() + kl.mean()), "val_recon_per_event": float(recon.mean()),
                "val_kl": float(kl.mean()), "val_accuracy": float((logits.argmax(-1) == x).float().mean())}

    @torch.no_grad()
    def evaluate(self, batches: Iterator[torch.Tensor]) -> dict[str, float]:
        """Reconstruction NLL per event (nats, z = encoder mean), KL per phrase and the ELBO per event."""
        was = self.training
        self.eval()
        rec, kls, events, phrases = 0.0, 0.0, 0, 0
        for batch in batches:
            x = self.fit_window(batch.to(self.device))
            recon, kl, _ = self._losses(x, sample_z=False)
            rec += float(recon.sum())
            kls += float(kl.sum())
            events += recon.numel()
            phrases += x.shape[0]
        self.train(was)
        if not events:
            return {}
        return {"recon_nll_per_event": rec / events, "kl_per_phrase": kls / phrases,
                "elbo_nll_per_event": (rec + kls) / events, "events": float(events)}

    # -- latent capability -------------------------------------------------
    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent means (n, latent_dim) of melodies (long (n, L); cropped or padded to the window)."""
        was = self.training
        self.eval()
        mu, _ = self.encode_stats(self.fit_window(torch.as_tensor(x).to(self.device)))
        self.train(was)
        return mu.cpu()

    @torch.no_grad()
    def decode(self, z: torch.Tensor, temperature: float = 0.0, seed: int = 0) -> torch.Tensor:
        """Melodies long (n, window) from z; greedy (deterministic) unless ``temperature`` > 0."""
        was = self.training
        self.eval()
        z = torch.as_tensor(z, dtype=torch.float32).to(self.device).view(-1, self.latent_dim)
        n = z.shape[0]
        g = generator_for(seed)
        state = self.initial_state(z)
        tok = torch.full((n, 1), self.bos, dtype=torch.long, device=self.device)
        out = []
        for t in range(self.window):
            pos = torch.full((n, 1), t % STEPS_PER_BAR, dtype=torch.long, device=self.device)
            logits, state = self.decoder_step(tok, pos, z, state)
            nxt = pick(logits[:, -1].cpu(), temperature=temperature, generator=g)
            tok = nxt.view(n, 1).to(self.device)
            out.append(tok)
        self.train(was)
        return torch.cat(out, 1).cpu()

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, temperature: float | None = None, **_) -> torch.Tensor:
        """``n`` melodies from z ~ N(0, I); deterministic for a seed."""
        g = generator_for(seed)
        z = torch.randn(n, self.latent_dim, generator=g)
        t = self.config.temperature if temperature is None else temperature
        return self.decode(z, temperature=t, seed=seed + 1)

    @torch.no_grad()
    def interpolate(self, a, b, steps: int = 5) -> torch.Tensor:
        """Greedy melodies along the slerp path between the codes of melodies ``a`` and ``b``."""
        za, zb = self.encode(torch.as_tensor(a).view(1, -1)), self.encode(torch.as_tensor(b).view(1, -1))
        ts = [i / max(steps - 1, 1) for i in range(steps)]
        return self.decode(torch.cat([slerp(za, zb, t) for t in ts]))

    # -- export ------------------------------------------------------------
    def onnx_exports(self) -> list[OnnxExport]:
        """The decoder as two modules with explicit LSTM states and a dynamic batch.

        ``melody_vae_decoder_init``: z -> (h0, c0); ``melody_vae_decoder_step``: one step
        (previous event, position in bar, z, h, c) -> (logits, h, c); a runner loops it
        ``window`` times starting from the BOS id (= vocab size). The time axis is fixed at 1
        (torch.export specialises it for LSTMs); export with ``dynamo=True``.
        """
        z = torch.zeros(2, self.latent_dim)
        h, c = self.initial_state(z)
        tok = torch.full((2, 1), self.bos, dtype=torch.long)
        pos = torch.zeros(2, 1, dtype=torch.long)
        b = {0: "batch"}
        return [
            OnnxExport("melody_vae_decoder_init", _Init(self), (z,), ["z"], ["h0", "c0"],
                       {"z": b, "h0": {1: "batch"}, "c0": {1: "batch"}}),
            OnnxExport("melody_vae_decoder_step", _Step(self), (tok, pos, z, h, c),
                       ["token", "position", "z", "h0", "c0"], ["logits", "h", "c"],
                       {"token": b, "position": b, "z": b, "h0": {1: "batch"}, "c0": {1: "batch"},
                        "logits": b, "h": {1: "batch"}, "c": {1: "batch"}}),
        ]


class _Init(nn.Module):
    def __init__(self, model: MelodyVAE):
        super().__init__()
        self.model = model

    def forward(self, z):
        return self.model.initial_state(z)


class _Step(nn.Module):
    def __init__(self, model: MelodyVAE):
        super().__init__()
        self.model = model

    def forward(self, token, position, z, h0, c0):
        logits, (h, c) = self.model.decoder_step(token, position, z, (h0, c0))
        return logits, h, c

