"""DCGAN-style GAN for images with non-saturating, hinge or WGAN-GP losses."""
from studio.core.plugins.api import ModelPlugin

from .model import DCGAN, Config


def build(config: Config, spec) -> DCGAN:
    return DCGAN(config, spec)


plugin = ModelPlugin(
    id="dcgan", name="Image GAN (DCGAN)", version="1.3.0", modality="image", family="gan",
    Config=Config, build=build, capabilities=frozenset({"latent", "onnx"}),
    # Adam with lr 5e-4 (beat 2e-4 at 1000 steps on the digits benchmark: 0.68 vs 0.65 judge confidence),
    # batch 64, and beta1 0 as usual with an R1 penalty (StyleGAN2): 0.842 against 0.794-0.827 with the
    # DCGAN paper's 0.5 at 3,600 steps (single runs, see Config.r1_gamma); the user's settings still win
    engine_defaults={"lr": 5e-4, "beta1": 0.0, "batch_size": 64},
    description="DCGAN-style generator and discriminator (32/64/128 px): sharp samples; non-saturating / "
                "hinge / WGAN-GP losses, R1 penalty, optional spectral norm and DiffAugment, EMA generator.",
)

__all__ = ["plugin", "Config", "DCGAN"]
