"""The image VAE plugin: learns, shapes, determinism, checkpoint round trip, ONNX, evaluation."""
import pytest
import torch

from studio.core.plugins.api import ConfigError, DataSpec, config_from_dict
from tests.plugins.image_helpers import assert_onnx_matches, build, state_round_trip, tiny_images, train

torch.set_num_threads(1)
SMALL = dict(width=8, latent_size=8, prior_every=20, prior_components=3)


@pytest.fixture(scope="module")
def data():
    return tiny_images()


@pytest.fixture(scope="module")
def trained(data):
    model = build("vae", data, kl_warmup_steps=0, **SMALL)
    history = train(model, data, 80)
    return model, history


def test_plugin_declaration():
    from studio_plugins.vae import plugin
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


def test_mixture_prior_is_fitted_during_training_and_checkpointed(trained, data):
    model, _ = trained
    assert int(model.prior_fitted) == 1
    state = model.state_dict()
    assert {"prior_weights", "prior_means", "prior_chol", "prior_fitted"} <= set(state)
    assert float(model.prior_weights.sum()) == pytest.approx(1.0, abs=1e-5)
    # sample() decodes exactly the vectors latents() reports (they go into sample recipes)
    assert torch.equal(model.sample(4, seed=2), model.decode(model.latents(4, seed=2)))
    # mixture draws land where the training images encode; N(0, I) draws need not
    codes = model.encode(next(data.iter_batches("train", 20)))
    near = torch.cdist(model.latents(200, seed=1), codes).min(1).values.mean()
    normal = torch.cdist(torch.randn(200, model.latent_dim, generator=torch.Generator().manual_seed(1)),
                         codes).min(1).values.mean()
    assert near < normal, (near, normal)


def test_normal_prior_draws_standard_normal_latents(data):
    model = build("vae", data, prior="normal", **{**SMALL, "prior_every": 1})
    train(model, data, 3, batch=4)
    assert int(model.prior_fitted) == 0
    expected = torch.randn(5, 8, generator=torch.Generator().manual_seed(7)) * 0.5
    assert torch.allclose(model.latents(5, seed=7, temperature=0.5), expected)


def test_gaussian_mixture_fit_recovers_clusters():
    from studio_plugins.vae.prior import LatentBank, fit_gmm, sample_gmm
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[5.0, 0.0], [-5.0, 0.0]])
    x = torch.cat([centres[0] + 0.5 * torch.randn(300, 2, generator=g),
                   centres[1] + torch.randn(100, 2, generator=g)])
    bank = LatentBank(256, 2)  # a ring buffer: keeps the most recent 256 points
    for chunk in x.split(70):
        bank.add(chunk)
    assert bank.count == 400 and torch.equal(bank.values()[:144], x[256:])
    w, m, chol = fit_gmm(x, 2)
    assert w.shape == (2,) and m.shape == (2, 2) and chol.shape == (2, 2, 2)
    big = int(w.argmax())
    assert float(w[big]) == pytest.approx(0.75, abs=0.02)
    assert torch.allclose(m[big], centres[0], atol=0.2) and torch.allclose(m[1 - big], centres[1], atol=0.3)
    # the covariance of the wide cluster is about 4x that of the narrow one
    cov = chol @ chol.transpose(1, 2)
    assert float(cov[1 - big].diagonal().mean() / cov[big].diagonal().mean()) == pytest.approx(4.0, rel=0.35)
    draws = sample_gmm(w, m, chol, 2000, torch.Generator().manual_seed(1))
    assert float((draws[:, 0] > 0).float().mean()) == pytest.approx(0.75, abs=0.05)
    assert torch.equal(draws, sample_gmm(w, m, chol, 2000, torch.Generator().manual_seed(1)))
    # too few points for the requested components: the spare ones get no weight
    w2, _, _ = fit_gmm(x[:10], 8)
    assert int((w2 > 0).sum()) == 2 and float(w2.sum()) == pytest.approx(1.0, abs=1e-5)


def test_onnx_decoder_matches_torch(trained):
    assert_onnx_matches(trained[0])


def test_bad_settings_are_refused_with_reasons():
    from studio_plugins.vae import plugin
    with pytest.raises(ConfigError, match="recon_loss"):
        config_from_dict(plugin.Config, {"recon_loss": "perceptual"})
    with pytest.raises(ConfigError, match="prior"):
        config_from_dict(plugin.Config, {"prior": "flow"})
    with pytest.raises(ValueError, match="image size 48"):
        plugin.build(plugin.Config(), DataSpec(modality="image", image_size=48, channels=1))
    with pytest.raises(ValueError, match="channels"):
        plugin.build(plugin.Config(), DataSpec(modality="image", image_size=32, channels=4))
