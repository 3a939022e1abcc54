"""The latent grid's default plane goes where the model's samples live, not through the mean picture."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.core.latent import Plane, learned_codes, learned_plane
from tests.plugins.image_helpers import build, tiny_images, train

torch.set_num_threads(1)
COLS = 8


def _grid(model, plane: Plane) -> np.ndarray:
    """The default 8x8 view of ``plane`` decoded, one flattened picture per cell."""
    ca, cb, step = plane.default_view(COLS)
    idx = (np.arange(COLS) - (COLS - 1) / 2) * step
    a, b = np.meshgrid(ca + idx, cb + idx)
    with torch.inference_mode():
        return model.decode(torch.as_tensor(plane.points(a.ravel(), b.ravel()))).numpy().reshape(COLS * COLS, -1)


def _variety(x: np.ndarray) -> float:
    """Mean pairwise distance between pictures."""
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    return float(d.sum() / (len(x) * (len(x) - 1)))


@pytest.fixture(scope="module")
def trained_vae():
    data = tiny_images(n=96, size=32, channels=3)
    model = build("vae", data, latent_size=8, width=8, kl_warmup_steps=50, prior_every=50)
    train(model, data, steps=300, batch=32)
    return model


def test_default_plane_is_as_varied_as_generated_samples(trained_vae):
    model = trained_vae
    with torch.inference_mode():
        samples = model.sample(COLS * COLS, seed=1).numpy().reshape(COLS * COLS, -1)
    codes, source = learned_codes(model, model.latent_dim)
    assert source == "the model's own sampling prior"
    learned = _variety(_grid(model, learned_plane(codes)))
    random = _variety(_grid(model, Plane.random(model.latent_dim, seed=0)))
    ratio = learned / _variety(samples)
    assert 0.8 <= ratio <= 1.2, f"learned plane variety {learned:.3f} is {ratio:.2f}x the samples'"
    assert random < learned  # the old default: a plane through the centre is the duller one


def test_learned_plane_centre_is_a_typical_latent_not_the_mean():
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((400, 6)).astype(np.float32) * np.array([3, 2, 1, 1, 1, 1], np.float32) + 5.0
    plane = learned_plane(codes)
    assert plane.kind == "learned"
    # one plane unit is one standard deviation along each principal direction
    assert np.linalg.norm(plane.u) == pytest.approx(3.0, rel=0.15)
    assert np.linalg.norm(plane.v) == pytest.approx(2.0, rel=0.15)
    centre = plane.point(0.0, 0.0)
    # off the plane, the centre keeps a real code's spread instead of collapsing onto the mean
    assert np.linalg.norm(centre[2:] - 5.0) > 0.5
    _, _, step = plane.default_view(COLS)
    assert step * COLS == pytest.approx(6.0)  # +-3 standard deviations across the grid


def test_models_without_a_prior_use_their_encoded_data_then_the_normal_prior():
    class NoPrior:
        latent_dim = 4

    enc = np.random.default_rng(1).standard_normal((10, 4)).astype(np.float32)
    codes, source = learned_codes(NoPrior(), 4, encoded=enc)
    assert source == "your encoded training data" and codes is not None and np.array_equal(codes, enc)
    codes, source = learned_codes(NoPrior(), 4)
    assert source == "the standard normal prior" and codes.shape == (512, 4)
