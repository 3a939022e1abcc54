"""The diffusion plugin: learns, shapes, determinism, checkpoint round trip, ONNX of the DDIM decoder."""
import pytest
import torch

from studio.core.plugins.api import DataSpec
from tests.plugins.image_helpers import assert_onnx_matches, build, state_round_trip, tiny_images, train

torch.set_num_threads(1)
SMALL = dict(width=8, sample_steps=3, ema_decay=0.9)


@pytest.fixture(scope="module")
def data():
    return tiny_images()


@pytest.fixture(scope="module")
def trained(data):
    model = build("ddpm", data, **SMALL)
    val = next(data.iter_batches("val", 4))
    before = model.validation_step(val)["val_loss"]
    history = train(model, data, 60)
    return model, history, before


def test_plugin_declaration():
    from studio_plugins.ddpm import plugin
    plugin.validate()
    assert plugin.id == "ddpm" and plugin.family == "diffusion"
    assert plugin.capabilities == {"latent", "onnx"}


def test_training_lowers_the_denoising_loss(trained, data):
    model, history, before = trained
    first = sum(h["loss"] for h in history[:5]) / 5
    last = sum(h["loss"] for h in history[-5:]) / 5
    assert last < 0.8 * first, (first, last)
    after = model.validation_step(next(data.iter_batches("val", 4)))["val_loss"]
    assert after < before


@pytest.mark.parametrize("prediction", ["v", "eps"])
def test_both_parameterisations_train(prediction, data):
    model = build("ddpm", data, prediction=prediction, **{k: v for k, v in SMALL.items()})
    history = train(model, data, 6, batch=8)
    assert all(h["loss"] == h["loss"] for h in history)  # finite, not NaN


@pytest.mark.parametrize("size,channels", [(32, 1), (64, 3)])
def test_output_shapes(size, channels):
    data = tiny_images(n=6, size=size, channels=channels)
    model = build("ddpm", data, **SMALL).eval()
    assert model.latent_dim == channels * size * size
    s = model.sample(2, seed=1)
    assert s.shape == (2, channels, size, size) and 0.0 <= float(s.min()) and float(s.max()) <= 1.0
    # decode takes the initial noise flattened (the latent) or shaped like an image
    z = torch.randn(2, model.latent_dim)
    assert torch.equal(model.decode(z), model.decode(z.view(2, channels, size, size)))


def test_sampling_is_deterministic_and_decode_is_the_sampler(trained):
    model = trained[0]
    a = model.sample(4, seed=3)
    assert torch.equal(a, model.sample(4, seed=3))
    assert not torch.allclose(a, model.sample(4, seed=4))
    assert torch.equal(a, model.decode(model.latents(4, seed=3)))
    assert not torch.allclose(a, model.sample(4, seed=3, steps=6))


def test_checkpoint_round_trip_gives_identical_samples(trained, data):
    model = trained[0]
    clone = state_round_trip("ddpm", model, data, **SMALL)
    assert torch.equal(clone.sample(3, seed=9), model.sample(3, seed=9))


def test_evaluate_reports_collapse_and_memorisation_figures(trained, data):
    figures = trained[0].evaluate(data.iter_batches("train", 32))
    assert set(figures) == {"diversity", "data_diversity", "nn_distance", "data_nn_distance"}


def test_onnx_ddim_decoder_matches_torch(trained):
    assert_onnx_matches(trained[0])


def test_bad_settings_are_refused_with_reasons():
    from studio_plugins.ddpm import plugin
    with pytest.raises(ValueError, match="image size 128"):
        plugin.build(plugin.Config(), DataSpec(modality="image", image_size=128, channels=1))
    with pytest.raises(ValueError, match="multiple of 8"):
        plugin.build(plugin.Config(width=12), DataSpec(modality="image", image_size=32, channels=1))
