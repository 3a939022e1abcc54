"""Small U-Net diffusion model for images with a few-step DDIM sampler."""
from __future__ import annotations

from dataclasses import dataclass

from studio.core.plugins.api import DataSpec, ModelPlugin, param

# torch is imported in model.py, which build() loads only when a model is made:
# discovering the plugin stays cheap (see docs/plugin-guide.md).


@dataclass
class Config:
    width: int = param(32, label="Width", min=8, max=256,
                       help="Channels of the U-Net at full resolution (doubled once at lower resolutions).")
    prediction: str = param("v", label="Prediction target", choices=("v", "eps"),
                            help="v: predict a mix of noise and image (steadier, the default); "
                                 "eps: predict the noise (the original DDPM).")
    sample_steps: int = param(20, label="Sampling steps", min=2, max=1000,
                              help="DDIM steps per image: more is slower and a little cleaner.")
    ema_decay: float = param(0.995, label="EMA decay", min=0.0, max=0.99999,
                             help="Samples come from a moving average of the weights; 0 turns it off.")


def build(config: Config, spec: DataSpec):
    from studio_plugins.ddpm.model import DDPM
    return DDPM(config, spec)


plugin = ModelPlugin(
    id="ddpm", name="Image diffusion (DDPM)", version="1.0.0", modality="image", family="diffusion",
    Config=Config, build=build, capabilities=frozenset({"latent", "onnx"}),
    description="Small U-Net diffusion model (32/64 px), cosine schedule, v-prediction, EMA weights and a "
                "20-step DDIM sampler: slowest to train, most faithful samples.",
)

__all__ = ["plugin", "Config"]
