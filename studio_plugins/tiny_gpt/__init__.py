"""tiny-gpt: a small character-level decoder-only Transformer (nanoGPT's shape, modern defaults).

The defaults are the ones ``benchmarks/text_quality.py`` trains for 90 s on tiny-shakespeare.
They come with the engine settings they were tuned with (:data:`RECOMMENDED_ENGINE`, declared as the
plugin's ``engine_defaults``: AdamW, warm-up then cosine decay); a user's ``--set`` still wins.
"""
from __future__ import annotations

from dataclasses import dataclass

from studio.core.plugins.api import ModelPlugin, param

#: The engine settings the defaults were tuned with (the benchmark loop mirrors them).
RECOMMENDED_ENGINE = {"optimizer": "adamw", "lr": 2e-3, "batch_size": 16, "warmup_steps": 100,
                      "schedule": "cosine", "final_lr_factor": 0.1, "weight_decay": 0.0, "grad_clip": 1.0,
                      "beta2": 0.99}


@dataclass
class Config:
    layers: int = param(4, label="Layers", min=1, max=24, help="Transformer blocks stacked on each other")
    heads: int = param(4, label="Attention heads", min=1, max=16,
                       help="Parallel attention heads per block; width must divide into them")
    width: int = param(128, label="Width", min=16, max=1024, help="Size of each character's vector inside the model")
    context: int = param(64, label="Context (characters)", min=8, max=2048,
                         help="How many previous characters the model can look at")
    dropout: float = param(0.0, label="Dropout", min=0.0, max=0.9,
                           help="Randomly silence units while training; helps large models on small texts")
    tie_weights: bool = param(True, label="Tie input/output embeddings",
                              help="Share the character table between input and output (fewer parameters)")


def build(config: Config, spec):
    from studio_plugins.tiny_gpt.model import TinyGPT
    return TinyGPT(config, spec)


plugin = ModelPlugin(
    id="tiny-gpt", name="Tiny GPT (characters)", version="1.0", modality="text", family="transformer",
    Config=Config, build=build, capabilities=frozenset({"continue", "score", "onnx"}),
    description="A small Transformer that writes text one character at a time; fast on a CPU.",
    engine_defaults=RECOMMENDED_ENGINE)
