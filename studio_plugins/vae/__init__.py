"""Convolutional beta-VAE for images (the studio's reference image plugin)."""
from __future__ import annotations

from dataclasses import dataclass

from studio.core.plugins.api import DataSpec, ModelPlugin, param

# torch is imported in model.py, which build() loads only when a model is made:
# discovering the plugin stays cheap (see docs/plugin-guide.md).

LOSSES = ("bce", "mse", "laplace")
PRIORS = ("mixture", "normal")


@dataclass
class Config:
    latent_size: int = param(16, label="Latent size", min=2, max=512,
                             help="Numbers that describe one image. Small: smoother, blurrier; large: more detail.")
    width: int = param(32, label="Width", min=8, max=256,
                       help="Channels of the first convolution, doubled at each halving of the image (capped at 8x).")
    beta: float = param(1.0, label="Beta (KL weight)", min=0.0, max=20.0,
                        help="Weight of the KL term. Above 1: smoother, more disentangled latents; "
                             "below 1: sharper reconstructions, less faithful samples.")
    kl_warmup_steps: int = param(500, label="KL warm-up steps", min=0, max=100_000,
                                 help="Steps over which the KL weight ramps from 0 to beta (avoids posterior collapse).")
    recon_loss: str = param("bce", label="Reconstruction loss", choices=LOSSES,
                            help="bce: Bernoulli likelihood, crisp on line art and digits; mse: Gaussian with a "
                                 "learned noise level (calibrated, good for photos); laplace: L1 with a learned scale, "
                                 "sharper edges than mse.")
    sample_temperature: float = param(1.0, label="Sampling temperature", min=0.1, max=2.0,
                                      help="Scale of the random latents when sampling: below 1 gives cleaner, "
                                           "more typical images, above 1 more varied ones.")
    prior: str = param("mixture", label="Sampling prior", choices=PRIORS,
                       help="mixture: draw latents from a Gaussian mixture fitted to where your training images "
                            "encode (clean samples); normal: the textbook N(0, I), often blurry blends.")
    prior_components: int = param(10, label="Mixture components", min=1, max=64,
                                  help="Gaussians in the sampling mixture: about the number of distinct kinds "
                                       "of image in your data.")
    prior_every: int = param(100, label="Refit prior every (steps)", min=1, max=100_000,
                             help="Steps between refits of the sampling mixture (a few milliseconds each).")


def build(config: Config, spec: DataSpec):
    from studio_plugins.vae.model import VAE
    return VAE(config, spec)


plugin = ModelPlugin(
    id="vae", name="Image VAE", version="1.1.0", modality="image", family="vae",
    Config=Config, build=build, capabilities=frozenset({"latent", "encode", "onnx"}),
    engine_defaults={"batch_size": 64},
    description="Convolutional beta-VAE (32/64/128 px, colour or greyscale): smooth latent space, "
                "encodes your own images, fast on a CPU.",
)

__all__ = ["plugin", "Config"]
