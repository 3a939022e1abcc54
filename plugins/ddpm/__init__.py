"""Small U-Net diffusion model for images with a few-step DDIM sampler."""
from studio.core.plugins.api import ModelPlugin

from .model import DDPM, Config


def build(config: Config, spec) -> DDPM:
    return DDPM(config, spec)


plugin = ModelPlugin(
    id="ddpm", name="Image diffusion (DDPM)", version="1.0.0", modality="image", family="diffusion",
    Config=Config, build=build, capabilities=frozenset({"latent", "onnx"}),
    description="Small U-Net diffusion model (32/64 px), cosine schedule, v-prediction, EMA weights and a "
                "20-step DDIM sampler: slowest to train, most faithful samples.",
)

__all__ = ["plugin", "Config", "DDPM"]
