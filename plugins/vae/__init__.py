"""Convolutional beta-VAE for images (the studio's reference image plugin)."""
from studio.core.plugins.api import ModelPlugin

from .model import VAE, Config


def build(config: Config, spec) -> VAE:
    return VAE(config, spec)


plugin = ModelPlugin(
    id="vae", name="Image VAE", version="1.1.0", modality="image", family="vae",
    Config=Config, build=build, capabilities=frozenset({"latent", "encode", "onnx"}),
    engine_defaults={"batch_size": 64},
    description="Convolutional beta-VAE (32/64/128 px, colour or greyscale): smooth latent space, "
                "encodes your own images, fast on a CPU.",
)

__all__ = ["plugin", "Config", "VAE"]
