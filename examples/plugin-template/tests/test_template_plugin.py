"""Tests a plugin author keeps: the declaration is valid, the model learns, sampling is deterministic.

Run from this folder with the studio installed: ``python -m pytest -q tests``.
"""
from __future__ import annotations

import pytest
import torch

from studio.core.plugins.api import ConfigError, DataSpec, config_from_dict
from studio_plugin_template import Config, plugin

SPEC = DataSpec(modality="image", image_size=16, channels=1)


class AdamSteps:
    """Stands in for the engine's optimizers: one Adam for the one parameter group."""

    def __init__(self, model, lr=3e-3):
        self.opt = torch.optim.Adam(model.param_groups()["model"], lr=lr)
        self.groups = []

    def step(self, group, loss):
        self.groups.append(group)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()


def _squares(n=32, size=16):
    """Bright squares at a few positions on black: easy to learn, not constant."""
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(n, 1, size, size)
    for i, (r, c) in enumerate(torch.randint(0, size - 6, (n, 2), generator=g).tolist()):
        x[i, :, r:r + 6, c:c + 6] = 1.0
    return x


def test_declaration_is_valid():
    plugin.validate()
    assert plugin.id == "template-mlp-vae"
    assert {"latent", "encode"} <= plugin.capabilities


def test_config_validates_user_settings():
    assert config_from_dict(Config, {"hidden": "64"}).hidden == 64
    with pytest.raises(ConfigError, match="below the minimum"):
        config_from_dict(Config, {"latent_size": 1})


def test_training_lowers_the_loss():
    torch.manual_seed(0)
    model = plugin.build(Config(hidden=64, latent_size=4), SPEC)
    opt = AdamSteps(model)
    x = _squares()
    first = model.training_step(x, opt)["loss"]
    for _ in range(60):
        last = model.training_step(x, opt)["loss"]
    assert set(opt.groups) == {"model"}
    assert last < 0.7 * first
    assert model.validation_step(x)["val_loss"] > 0


def test_sampling_and_latents():
    model = plugin.build(Config(latent_size=5), SPEC).eval()
    a, b = model.sample(3, seed=7), model.sample(3, seed=7)
    assert a.shape == (3, 1, 16, 16) and torch.equal(a, b)
    assert not torch.equal(a, model.sample(3, seed=8))
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert model.encode(_squares(4)).shape == (4, model.latent_dim)
    assert model.decode(torch.zeros(2, 5)).shape == (2, 1, 16, 16)


def test_refuses_other_modalities():
    with pytest.raises(ValueError, match="trains on images"):
        plugin.build(Config(), DataSpec(modality="text", vocab=["a", "b"]))
