"""DCGAN-style GAN for images with non-saturating, hinge or WGAN-GP losses."""
from studio.core.plugins.api import ModelPlugin

from .model import DCGAN, Config


def build(config: Config, spec) -> DCGAN:
    return DCGAN(config, spec)


plugin = ModelPlugin(
    id="dcgan", name="Image GAN (DCGAN)", version="1.2.0", modality="image", family="gan",
    Config=Config, build=build, capabilities=frozenset({"latent", "onnx"}),
    # the DCGAN paper's Adam recipe (beta1 0.5, batch 64) with lr 5e-4: on the digits benchmark it
    # beat 2e-4 at 1000 steps (0.68 vs 0.65 judge confidence); the user's settings still win
    engine_defaults={"lr": 5e-4, "beta1": 0.5, "batch_size": 64},
    description="DCGAN-style generator and discriminator (32/64/128 px): sharp samples; non-saturating / "
                "hinge / WGAN-GP losses, optional spectral norm and DiffAugment, EMA generator.",
)

__all__ = ["plugin", "Config", "DCGAN"]
