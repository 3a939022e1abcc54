"""DCGAN 1.4: width 0 follows the image size (wider at 128 and 256 px, unchanged up to 64 px) and 256 px builds."""
import pytest
import torch

from tests.plugins.image_helpers import build, tiny_images

torch.set_num_threads(1)


def _finest(model) -> int:
    return next(m for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv2d)).out_channels


@pytest.mark.parametrize("size,width", [(32, 32), (64, 32), (128, 48)])
def test_width_zero_is_chosen_from_the_image_size(size, width):
    from studio_plugins.dcgan import Config
    assert Config().width == 0
    model = build("dcgan", tiny_images(n=2, size=size, channels=3), latent_size=8)
    assert _finest(model) == width
    deepest = [m for m in model.generator.modules() if isinstance(m, torch.nn.BatchNorm2d)][0]
    # doubled at each halving down to 4x4, capped at 8x the finest width (as before)
    assert deepest.num_features == min(width * size // 8, width * 8)


def test_an_explicit_width_wins_and_256_px_builds_and_samples():
    data = tiny_images(n=2, size=256, channels=3)
    model = build("dcgan", data, width=4, latent_size=8).eval()
    assert _finest(model) == 4
    s = model.sample(2, seed=1)
    assert s.shape == (2, 3, 256, 256) and 0.0 <= float(s.min()) and float(s.max()) <= 1.0
    with pytest.raises(ValueError, match="image size 512 px is not supported"):
        build("dcgan", tiny_images(n=1, size=512, channels=3), width=4, latent_size=8)
