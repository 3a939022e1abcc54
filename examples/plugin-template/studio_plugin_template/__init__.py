"""template-mlp-vae: the smallest useful model plugin, to copy when writing your own.

The studio finds this module through the ``studio.models`` entry point in
``pyproject.toml`` and reads the module-level ``plugin``. Keep this module light:
torch is imported in ``model.py``, which ``build`` loads only when a model is made,
so ``studio plugins`` lists the plugin without importing torch.
"""
from __future__ import annotations

from dataclasses import dataclass

from studio.core.plugins.api import DataSpec, ModelPlugin, param

__version__ = "0.1.0"


@dataclass
class Config:
    # Every field needs a default; param() metadata builds the form in the Models panel
    # and validates `studio train --set hidden=256`.
    hidden: int = param(128, label="Hidden units", min=8, max=4096,
                        help="Width of the one hidden layer of the encoder and of the decoder")
    latent_size: int = param(8, label="Latent size", min=2, max=256,
                             help="Numbers that describe one image; the latent grid explores them")
    beta: float = param(1.0, label="Beta (KL weight)", min=0.0, max=10.0,
                        help="Weight of the KL term: higher gives a smoother latent space, blurrier images")


def build(config: Config, spec: DataSpec):
    from studio_plugin_template.model import MLPVAE  # torch is imported here, not at discovery
    return MLPVAE(config, spec)


plugin = ModelPlugin(
    id="template-mlp-vae", name="Template MLP VAE", version=__version__, modality="image", family="vae",
    Config=Config, build=build, capabilities=frozenset({"latent", "encode"}),
    description="A one-hidden-layer VAE over flattened pixels: the plugin template, small and fast.",
    engine_defaults={"lr": 1e-3, "batch_size": 32},
)

__all__ = ["plugin", "Config", "build"]
