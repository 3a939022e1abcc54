"""DCGAN-style GAN for images with non-saturating, hinge or WGAN-GP losses."""
from studio.core.plugins.api import ModelPlugin

from .model import DCGAN, Config


def build(config: Config, spec) -> DCGAN:
    return DCGAN(config, spec)


plugin = ModelPlugin(
    id="dcgan", name="Image GAN (DCGAN)", version="1.3.0", modality="image", family="gan",
    Config=Config, build=build, capabilities=frozenset({"latent", "onnx"}),
    # Adam, batch 64, beta1 0 as usual with an R1 penalty (StyleGAN2), lr 1e-3: with R1 the higher
    # rate stays stable and learns faster. Digits benchmark, 3,600 steps, single runs (see
    # Config.r1_gamma): lr 1e-3 0.849 / 0.860 (seeds 0 / 1); 5e-4 0.842 / 0.824 (0.776 / 0.769
    # without R1 and beta1 0.5); 2e-3 0.859, but 4e-3 for the generator is a risk on other data.
    # The user's settings still win.
    engine_defaults={"lr": 1e-3, "beta1": 0.0, "batch_size": 64},
    # runs of 1.2 and before were trained without R1 (and with a batch-norm discriminator)
    recorded_defaults={"r1_gamma": 0.0},
    description="DCGAN-style generator and discriminator (32/64/128 px): sharp samples; non-saturating / "
                "hinge / WGAN-GP losses, R1 penalty, optional spectral norm and DiffAugment, EMA generator.",
)

__all__ = ["plugin", "Config", "DCGAN"]
