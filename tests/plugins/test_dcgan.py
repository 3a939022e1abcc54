"""The DCGAN plugin: learns, shapes, determinism, checkpoint round trip, ONNX, evaluation."""
import copy

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
    history = train(model, data, 120, lr=2e-3)  # both groups at 2e-3 (lr scales 1.0)
    return model, history, before


def test_plugin_declaration():
    from studio_plugins.dcgan import plugin
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


def test_engine_defaults_are_the_dcgan_recipe():
    from studio_plugins.dcgan import plugin
    from studio.core.training.settings import split_settings
    engine, config = split_settings(plugin, {})
    assert (engine.lr, engine.beta1, engine.batch_size) == (1e-3, 0.0, 64)
    assert engine.optim_settings().betas == (0.0, 0.999)
    engine, _ = split_settings(plugin, {"beta1": "0.9"})  # the user's setting wins
    assert engine.beta1 == 0.9


@pytest.mark.parametrize("loss,sn,r1,has_bn", [("nonsaturating", False, 0.0, True), ("nonsaturating", False, 0.5, False),
                                                ("hinge", True, 0.0, False), ("wgan-gp", False, 0.0, False)])
def test_discriminator_normalisation_fits_the_loss(data, loss, sn, r1, has_bn):
    model = build("dcgan", data, loss=loss, spectral_norm=sn, r1_gamma=r1, **SMALL)
    bns = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bool(bns) == has_bn


def test_ema_batch_norm_statistics_are_re_estimated(trained):
    model = trained[0]
    ema = model.generator_ema
    z = torch.randn(512, model.latent_dim, generator=torch.Generator().manual_seed(5))

    def mismatch() -> float:  # eval-mode output vs batch-statistics output on a large batch
        with torch.no_grad():
            a = ema.eval()(z)
            b = copy.deepcopy(ema).train()(z)  # a copy: train mode would update the statistics
        return float((a - b).abs().mean())

    # stale statistics (as copied from the live generator) for weights they do not describe
    for m in ema.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.add_(0.5)
            m.running_var.mul_(3.0)
    stale = mismatch()
    model.recalibrate_ema()
    fresh = mismatch()
    assert fresh < 0.2 * stale and fresh < 0.02, (stale, fresh)
    assert all(m.momentum == 0.1 for m in ema.modules() if isinstance(m, torch.nn.BatchNorm2d))


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


@pytest.mark.parametrize("size,channels,sn,upsample", [(32, 1, True, "resize"), (64, 3, False, "transposed"),
                                                      (128, 3, True, "resize")])
def test_output_shapes(size, channels, sn, upsample):
    data = tiny_images(n=10, size=size, channels=channels)
    model = build("dcgan", data, spectral_norm=sn, upsample=upsample, **SMALL).eval()
    convt = any(isinstance(m, torch.nn.ConvTranspose2d) for m in model.generator.modules())
    assert convt == (upsample == "transposed")
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
    from studio_plugins.dcgan import plugin
    with pytest.raises(ConfigError, match="loss"):
        config_from_dict(plugin.Config, {"loss": "lsgan"})
    with pytest.raises(ValueError, match="image size 16"):
        plugin.build(plugin.Config(), DataSpec(modality="image", image_size=16, channels=1))


def test_discriminator_augmentation_shifts_and_cuts_out_but_keeps_gradients():
    from studio_plugins.dcgan.augment import augment, parse_policy
    torch.manual_seed(0)
    x = torch.ones(64, 3, 32, 32, requires_grad=True)
    out = augment(x, parse_policy("translation,cutout"))
    assert out.shape == x.shape
    blank = (out == 0).float().mean(dim=(1, 2, 3))
    # every picture loses part of itself (a cut-out square of up to a quarter, clipped at the edges,
    # plus a border shifted in), and pictures differ from one another
    assert bool((blank > 0.05).all()) and bool((blank < 0.5).all()) and 0.2 < float(blank.mean()) < 0.4
    assert len(set(blank.tolist())) > 10
    out.sum().backward()
    assert float(x.grad.abs().sum()) > 0  # differentiable: the generator still learns through it
    assert parse_policy("off") == () and parse_policy(" translation , cutout ") == ("translation", "cutout")
    with pytest.raises(ValueError, match="unknown augmentation zoom"):
        parse_policy("translation,zoom")


def test_augmented_discriminator_trains_and_samples_stay_clean(data):
    model = build("dcgan", data, augment="translation,cutout,colour", **SMALL)
    seen = []
    real_forward = model.discriminator.forward
    model.discriminator.forward = lambda x: seen.append(x.detach().clone()) or real_forward(x)
    history = train(model, data, 6, batch=8)
    assert all(torch.isfinite(torch.tensor(h["d_loss"])) for h in history)
    real = next(data.iter_batches("train", 8))
    # what the discriminator saw differs from every real picture (shifted/cut/recoloured)...
    assert not any(torch.equal(s[:len(real)], real) for s in seen)
    # ...while validation and samples use plain images
    seen.clear()
    model.validation_step(real)
    assert torch.equal(seen[0], real)
    with pytest.raises(ConfigError, match="augment"):
        from studio_plugins.dcgan import plugin
        config_from_dict(plugin.Config, {"augment": "zoom"})


def _real_gradient_norm(model, real) -> float:
    x = real.clone().requires_grad_(True)
    grad, = torch.autograd.grad(model.discriminator(x).sum(), x)
    return float(grad.flatten(1).norm(dim=1).mean())


def test_r1_penalty_keeps_the_discriminator_smooth_on_real_images(data):
    from studio_plugins.dcgan.model import R1_EVERY
    real = next(data.iter_batches("train", 16))
    norms, histories = {}, {}
    for gamma in (0.0, 10.0):
        torch.manual_seed(0)
        model = build("dcgan", data, **{**SMALL, "r1_gamma": gamma})
        histories[gamma] = train(model, data, 40, batch=16)
        norms[gamma] = _real_gradient_norm(model, real)
    # lazily, every R1_EVERY steps, and reported when it is applied
    assert [i for i, h in enumerate(histories[10.0]) if "r1" in h] == list(range(0, 40, R1_EVERY))
    assert not any("r1" in h for h in histories[0.0])
    # the penalised discriminator's slope at the real images is much flatter
    assert norms[10.0] < 0.5 * norms[0.0], norms


def test_runs_of_older_versions_load_and_resume_as_trained(data, tmp_path):
    """A 1.2 run (no r1_gamma recorded, batch-norm discriminator) keeps working after R1 became the default."""
    import json

    from studio.core.training.checkpoints import load_model
    from studio.core.training.engine import train as engine_train

    run = tmp_path / "old-run"
    small = {k: str(v) for k, v in SMALL.items()}
    first = engine_train("dcgan", data, run, steps=2, device="cpu",
                         settings={**small, "r1_gamma": "0", "batch_size": "8", "threads": "1"})
    assert first.status == "done"
    for f in [run / "run.json", *sorted((run / "checkpoints").glob("*.json"))]:  # as 1.2 wrote them
        record = json.loads(f.read_text())
        record["config"].pop("r1_gamma")
        f.write_text(json.dumps(record))
    model, _, info = load_model(run)
    assert model.config.r1_gamma == 0.0 and info.step == 2
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.discriminator.modules())
    resumed = engine_train("dcgan", data, run, steps=4, device="cpu", resume=True)
    assert resumed.status == "done" and resumed.step == 4, resumed.reason
    # a new run takes the new default
    fresh = engine_train("dcgan", data, tmp_path / "new-run", steps=1, device="cpu",
                         settings={**small, "batch_size": "8", "threads": "1"})
    assert load_model(fresh.run_dir)[0].config.r1_gamma == 0.5
