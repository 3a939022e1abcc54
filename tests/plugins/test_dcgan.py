"""The DCGAN plugin: learns, shapes, determinism, checkpoint round trip, ONNX, evaluation."""
import pytest
import torch

from studio.core.plugins.api import ConfigError, DataSpec, config_from_dict
from tests.plugins.image_helpers import assert_onnx_matches, build, state_round_trip, tiny_images, train

torch.set_num_threads(1)
SMALL = dict(width=8, latent_size=8, diversity_every=10, ema_decay=0.9)


@pytest.fixture(scope="module")
def data():
    return tiny_images()


@pytest.fixture(scope="module")
def trained(data):
    model = build("dcgan", data, **SMALL)
    before = model.evaluate(data.iter_batches("train", 32))
    history = train(model, data, 120, lr=1e-2)  # G at 1e-3, D at 2e-3
    return model, history, before


def test_plugin_declaration():
    from plugins.dcgan import plugin
    plugin.validate()
    assert plugin.id == "dcgan" and plugin.family == "gan"
    assert plugin.capabilities == {"latent", "onnx"}


def test_two_parameter_groups_with_two_timescales(data):
    model = build("dcgan", data, g_lr_scale=0.1, d_lr_scale=0.3, **{k: v for k, v in SMALL.items()})
    groups = model.param_groups()
    assert set(groups) == {"discriminator", "generator"}
    assert {id(p) for p in groups["generator"]}.isdisjoint(id(p) for p in groups["discriminator"])
    assert not any(p.requires_grad for p in model.generator_ema.parameters())
    assert model.lr_scale("generator") == 0.1 and model.lr_scale("discriminator") == 0.3


def test_training_brings_samples_towards_the_data(trained, data):
    model, history, before = trained
    after = model.evaluate(data.iter_batches("train", 32))
    # untrained samples are grey noise far from the squares; trained ones are much nearer
    assert after["nn_distance"] < 0.7 * before["nn_distance"], (before, after)
    first = sum(h["d_loss"] for h in history[:5]) / 5
    last = sum(h["d_loss"] for h in history[-5:]) / 5
    assert last < first  # the discriminator learns to tell real from fake
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(history[0])
    # the mode-collapse indicator is logged every `diversity_every` steps, and only then
    assert [i + 1 for i, h in enumerate(history) if "diversity" in h] == list(range(10, 121, 10))
    assert all(h["diversity"] > 0 for h in history if "diversity" in h)


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan-gp"])
def test_other_losses_train(loss, data):
    model = build("dcgan", data, loss=loss, **SMALL)
    history = train(model, data, 8, batch=8)
    assert all(torch.isfinite(torch.tensor(h["d_loss"])) for h in history)
    if loss == "wgan-gp":
        assert "gp" in history[0]


@pytest.mark.parametrize("size,channels,sn", [(32, 1, True), (64, 3, False), (128, 3, True)])
def test_output_shapes(size, channels, sn):
    data = tiny_images(n=10, size=size, channels=channels)
    model = build("dcgan", data, spectral_norm=sn, **SMALL).eval()
    s = model.sample(3, seed=1)
    assert s.shape == (3, channels, size, size) and 0.0 <= float(s.min()) and float(s.max()) <= 1.0
    assert model.decode(torch.zeros(2, model.latent_dim)).shape == (2, channels, size, size)
    assert model.validation_step(next(data.iter_batches("val", 4))).keys() == {"val_d_loss", "val_diversity"}


def test_sampling_is_deterministic_for_a_seed(trained):
    model = trained[0]
    assert torch.equal(model.sample(6, seed=3), model.sample(6, seed=3))
    assert not torch.allclose(model.sample(6, seed=3), model.sample(6, seed=4))


def test_checkpoint_round_trip_gives_identical_samples(trained, data):
    model = trained[0]
    clone = state_round_trip("dcgan", model, data, **SMALL)
    assert torch.equal(clone.sample(5, seed=9), model.sample(5, seed=9))


def test_evaluate_reports_collapse_and_memorisation_figures(trained, data):
    figures = trained[0].evaluate(data.iter_batches("train", 32))
    assert set(figures) == {"diversity", "data_diversity", "nn_distance", "data_nn_distance"}
    assert all(0 <= v <= 1 for v in figures.values())


def test_onnx_generator_matches_torch(trained):
    assert_onnx_matches(trained[0])


def test_bad_settings_are_refused_with_reasons():
    from plugins.dcgan import plugin
    with pytest.raises(ConfigError, match="loss"):
        config_from_dict(plugin.Config, {"loss": "lsgan"})
    with pytest.raises(ValueError, match="image size 16"):
        plugin.build(plugin.Config(), DataSpec(modality="image", image_size=16, channels=1))
