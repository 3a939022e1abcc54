"""The image VAE plugin: learns, shapes, determinism, checkpoint round trip, ONNX, evaluation."""
import pytest
import torch

from studio.core.plugins.api import ConfigError, DataSpec, config_from_dict
from tests.plugins.image_helpers import assert_onnx_matches, build, state_round_trip, tiny_images, train

torch.set_num_threads(1)
SMALL = dict(width=8, latent_size=8)


@pytest.fixture(scope="module")
def data():
    return tiny_images()


@pytest.fixture(scope="module")
def trained(data):
    model = build("vae", data, kl_warmup_steps=0, **SMALL)
    history = train(model, data, 80)
    return model, history


def test_plugin_declaration():
    from plugins.vae import plugin
    plugin.validate()
    assert plugin.id == "vae" and plugin.modality == "image" and plugin.family == "vae"
    assert plugin.capabilities == {"latent", "encode", "onnx"}


def test_training_lowers_the_loss(trained, data):
    model, history = trained
    first = sum(h["loss"] for h in history[:5]) / 5
    last = sum(h["loss"] for h in history[-5:]) / 5
    assert last < 0.8 * first, (first, last)
    assert set(history[0]) >= {"loss", "recon", "kl", "kl_weight"}
    val = model.validation_step(next(data.iter_batches("val", 8)))
    assert val and all(k.startswith("val_") for k in val)


def test_kl_warmup_ramps_the_weight(data):
    model = build("vae", data, kl_warmup_steps=10, beta=2.0, **SMALL)
    weights = [h["kl_weight"] for h in train(model, data, 12, batch=4)]
    assert weights[0] == pytest.approx(0.2) and weights[-1] == pytest.approx(2.0)
    assert weights == sorted(weights)


@pytest.mark.parametrize("size,channels", [(32, 1), (64, 3), (128, 3)])
def test_output_shapes(size, channels):
    data = tiny_images(n=10, size=size, channels=channels)
    model = build("vae", data, **SMALL).eval()
    x = next(data.iter_batches("train", 5))
    assert model.latent_dim == 8
    assert model.encode(x).shape == (5, 8)
    s = model.sample(3, seed=1)
    assert s.shape == (3, channels, size, size) and s.dtype == torch.float32
    assert 0.0 <= float(s.min()) and float(s.max()) <= 1.0
    assert model.decode(torch.zeros(2, 8)).shape == (2, channels, size, size)
    assert model.preview(0).shape[0] == 16


def test_sampling_is_deterministic_for_a_seed(trained):
    model, _ = trained
    a, b, c = model.sample(6, seed=3), model.sample(6, seed=3), model.sample(6, seed=4)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    cold = model.sample(6, seed=3, temperature=0.3)
    assert not torch.allclose(a, cold)


def test_checkpoint_round_trip_gives_identical_samples(trained, data):
    model, _ = trained
    clone = state_round_trip("vae", model, data, kl_warmup_steps=0, **SMALL)
    assert torch.equal(clone.sample(5, seed=9), model.sample(5, seed=9))
    assert int(clone.steps_done) == 80


def test_encode_then_decode_reconstructs_better_than_a_random_latent(trained, data):
    model, _ = trained
    x = next(data.iter_batches("train", 8))
    own = (model.reconstruct(x) - x).abs().mean()
    other = (model.decode(torch.randn(8, model.latent_dim)) - x).abs().mean()
    assert own < other


@pytest.mark.parametrize("loss", ["bce", "mse", "laplace"])
def test_each_reconstruction_loss_trains_and_evaluates_in_nats(loss, data):
    model = build("vae", data, recon_loss=loss, kl_warmup_steps=0, **SMALL)
    untrained = model.evaluate(data.iter_batches("val", 4))
    train(model, data, 40)
    figures = model.evaluate(data.iter_batches("val", 4))
    assert figures["images"] == 4
    assert figures["nelbo_nats"] == pytest.approx(figures["recon_nats"] + figures["kl_nats"])
    assert figures["nelbo_nats"] < untrained["nelbo_nats"]
    # the same checkpoint always gives the same figure
    assert model.evaluate(data.iter_batches("val", 4)) == figures


def test_onnx_decoder_matches_torch(trained):
    assert_onnx_matches(trained[0])


def test_bad_settings_are_refused_with_reasons():
    from plugins.vae import plugin
    with pytest.raises(ConfigError, match="recon_loss"):
        config_from_dict(plugin.Config, {"recon_loss": "perceptual"})
    with pytest.raises(ValueError, match="image size 48"):
        plugin.build(plugin.Config(), DataSpec(modality="image", image_size=48, channels=1))
    with pytest.raises(ValueError, match="channels"):
        plugin.build(plugin.Config(), DataSpec(modality="image", image_size=32, channels=4))
