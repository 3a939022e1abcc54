"""DCGAN-style GAN for images with non-saturating, hinge or WGAN-GP losses."""
from studio.core.plugins.api import ModelPlugin

from .model import DCGAN, Config


def build(config: Config, spec) -> DCGAN:
    return DCGAN(config, spec)


plugin = ModelPlugin(
    id="dcgan", name="Image GAN (DCGAN)", version="1.0.0", modality="image", family="gan",
    Config=Config, build=build, capabilities=frozenset({"latent", "onnx"}),
    description="DCGAN-style generator and discriminator (32/64/128 px): sharp samples, spectral norm, "
                "hinge / non-saturating / WGAN-GP losses, EMA generator.",
)

__all__ = ["plugin", "Config", "DCGAN"]
