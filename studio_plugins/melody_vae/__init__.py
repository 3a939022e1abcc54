"""melody-vae: a MusicVAE-style sequence VAE over 2- or 4-bar melody phrases.

A bidirectional LSTM encodes a phrase to a Gaussian latent; an LSTM decoder,
started from z and seeing z at every step, writes the phrase back. Free bits
and a β warm-up keep the latent in use. ``latent`` + ``encode`` let the latent
grid and interpolation work for melodies.
"""
from __future__ import annotations

from dataclasses import dataclass

from studio.core.plugins.api import DataSpec, ModelPlugin, param


@dataclass
class Config:
    bars: int = param(2, label="Bars", choices=(2, 4), help="Phrase length the VAE encodes and writes (4/4 bars)")
    latent_dim: int = param(32, label="Latent size", min=2, max=512, help="Dimensions of z")
    enc_hidden: int = param(128, label="Encoder width", min=16, max=1024, help="Units per direction of the encoder LSTM")
    dec_hidden: int = param(192, label="Decoder width", min=16, max=1024, help="Units per decoder LSTM layer")
    dec_layers: int = param(2, label="Decoder layers", min=1, max=3, help="Stacked decoder LSTM layers")
    embed: int = param(32, label="Embedding", min=8, max=256, help="Size of the learned vector per event")
    dropout: float = param(0.1, label="Dropout", min=0.0, max=0.8, help="Dropout on decoder inputs and outputs")
    beta: float = param(0.5, label="β (KL weight)", min=0.0, max=4.0, help="Final weight of the KL term")
    beta_warmup: int = param(1500, label="β warm-up steps", min=0, max=100000,
                             help="Steps over which β rises linearly from 0 (avoids an unused latent early on)")
    free_bits: float = param(8.0, label="Free bits (nats)", min=0.0, max=256.0,
                             help="KL below this many nats per phrase is not penalised (MusicVAE's free bits)")
    transpose: int = param(0, label="Transpose augment", min=0, max=6,
                           help="Randomly transpose training phrases by up to this many semitones")
    temperature: float = param(1.0, label="Sample temperature", min=0.0, max=3.0,
                               help="Decoder temperature for random samples (0: greedy)")


def build(config: Config, spec: DataSpec):
    from studio_plugins.melody_vae.model import MelodyVAE
    return MelodyVAE(config, spec)


plugin = ModelPlugin(
    id="melody-vae", name="Melody VAE", version="1.0.0", modality="melody", family="vae",
    Config=Config, build=build, capabilities=frozenset({"latent", "encode", "onnx"}),
    description="MusicVAE-style melody VAE over 2- or 4-bar phrases: sample, interpolate, explore the latent grid.",
)
