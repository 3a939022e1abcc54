"""The VAE-GAN plugin: learns, shapes and scaling, determinism, checkpoint round trip and resume, ONNX."""
import copy
import subprocess
import sys

import pytest
import torch

from studio.core.plugins.api import ConfigError, DataSpec, config_from_dict
from tests.plugins.image_helpers import assert_onnx_matches, build, state_round_trip, tiny_images, train

torch.set_num_threads(1)
SMALL = dict(width=8, latent_size=8, ema_decay=0.9)


@pytest.fixture(scope="module")
def data():
    return tiny_images(n=24, size=32, channels=3)


@pytest.fixture(scope="module")
def trained(data):
    model = build("vae_gan", data, **SMALL)
    history = train(model, data, 150, batch=8)
    return model, history


def test_plugin_declaration_and_registration(tmp_path):
    from studio_plugins.vae_gan import plugin
    plugin.validate()
    assert plugin.id == "vae-gan" and plugin.modality == "image"
    assert plugin.capabilities == {"latent", "encode", "onnx"}
    assert plugin.engine_defaults["batch_size"] == 32 and plugin.engine_defaults["beta1"] == 0.9
    # registered like the other built-in plugins (pyproject.toml's studio.models entry points), as the
    # installed studio finds it (run elsewhere: a stale *.egg-info in a source checkout would shadow it)
    code = ("from studio.core.plugins.registry import get_plugin; p = get_plugin('vae-gan'); "
            "print(p.id, sorted(p.capabilities))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "vae-gan"


def test_training_lowers_the_reconstruction_error(trained):
    model, history = trained
    assert set(history[0]) >= {"loss", "d_loss", "g_loss", "pixel", "feature", "kl"}
    first = sum(h["pixel"] for h in history[:5]) / 5
    last = sum(h["pixel"] for h in history[-5:]) / 5
    assert last < 0.8 * first, (first, last)
    assert all(torch.isfinite(torch.tensor([h["loss"], h["d_loss"]])).all() for h in history)


def test_two_parameter_groups_and_the_discriminator_is_not_in_the_model_group(data):
    model = build("vae_gan", data, d_lr_scale=0.5, **SMALL)
    groups = model.param_groups()
    assert set(groups) == {"discriminator", "model"}
    assert {id(p) for p in groups["model"]}.isdisjoint(id(p) for p in groups["discriminator"])
    assert {id(p) for p in model.encoder.parameters()} <= {id(p) for p in groups["model"]}
    assert not any(p.requires_grad for p in model.decoder_ema.parameters())
    assert model.lr_scale("discriminator") == 0.5 and model.lr_scale("model") == 1.0


@pytest.mark.parametrize("size,channels", [(32, 1), (64, 3)])
def test_output_shapes(size, channels):
    data = tiny_images(n=6, size=size, channels=channels)
    model = build("vae_gan", data, **SMALL).eval()
    x = next(data.iter_batches("train", 2))
    assert model.encode(x).shape == (2, 8)
    s = model.sample(3, seed=1)
    assert s.shape == (3, channels, size, size) and s.dtype == torch.float32
    assert 0.0 <= float(s.min()) and float(s.max()) <= 1.0
    assert model.decode(torch.zeros(2, 8)).shape == (2, channels, size, size)
    assert model.reconstruct(x).shape == x.shape
    assert model.preview(0).shape[0] == 16


def test_width_and_depth_follow_the_image_size():
    from studio_plugins.vae_gan.model import depth_for, widths_for
    assert widths_for(64, 0) == [32, 64, 128, 256]
    assert widths_for(128, 0) == [48, 96, 192, 384, 512]
    assert widths_for(256, 0)[0] == 64 and len(widths_for(256, 0)) == 6
    assert widths_for(64, 8) == [8, 16, 32, 64]  # an explicit width wins
    assert (depth_for(64, -1), depth_for(128, -1), depth_for(256, -1), depth_for(128, 0)) == (0, 1, 1, 0)
    # a 256-px model builds and decodes at full size (tiny width so it stays quick)
    model = build("vae_gan", tiny_images(n=2, size=256, channels=3), width=4, latent_size=8).eval()
    assert model.sample(1).shape == (1, 3, 256, 256)
    assert sum(isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3) for m in model.encoder.modules()) == 6


def test_sampling_is_deterministic_for_a_seed(trained):
    model, _ = trained
    a, b, c = model.sample(6, seed=3), model.sample(6, seed=3), model.sample(6, seed=4)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    assert torch.equal(model.sample(4, seed=2), model.decode(model.latents(4, seed=2)))
    # one image decodes the same alone as in a batch (no batch statistics in the decoder)
    z = model.latents(5, seed=8)
    assert torch.allclose(model.decode(z)[2:3], model.decode(z[2:3]), atol=1e-5)
    assert not torch.allclose(model.sample(6, seed=3, temperature=0.3), a)


def test_samples_come_from_a_mixture_fitted_where_pictures_encode(trained, data):
    model, _ = trained
    assert int(model.prior_fitted) == 1  # refitted every prior_every (100) steps
    assert {"prior_weights", "prior_means", "prior_chol", "prior_fitted"} <= set(model.state_dict())
    codes = model.encode(next(data.iter_batches("train", 20)))
    near = torch.cdist(model.latents(200, seed=1), codes).min(1).values.mean()
    normal = torch.cdist(torch.randn(200, model.latent_dim, generator=torch.Generator().manual_seed(1)),
                         codes).min(1).values.mean()
    assert near < normal, (near, normal)
    plain = build("vae_gan", data, prior="normal", **{**SMALL, "prior_every": 1})
    train(plain, data, 3, batch=4)
    assert int(plain.prior_fitted) == 0
    assert torch.equal(plain.latents(3, seed=5), torch.randn(3, 8, generator=torch.Generator().manual_seed(5)))


def test_each_picture_decodes_from_its_own_encoding(trained, data):
    model, _ = trained
    x = next(data.iter_batches("train", 8))
    own = (model.reconstruct(x) - x).abs().mean()
    swapped = (model.decode(model.encode(x).roll(1, 0)) - x).abs().mean()  # another picture's latent
    assert own < 0.85 * swapped, (own, swapped)


def test_checkpoint_round_trip_gives_identical_samples(trained, data):
    model, _ = trained
    clone = state_round_trip("vae_gan", model, data, **SMALL)
    assert torch.equal(clone.sample(5, seed=9), model.sample(5, seed=9))
    assert int(clone.steps_done) == 150
    assert torch.equal(clone.fixed_z, model.fixed_z)


def test_resumed_training_continues_like_the_uninterrupted_run(data):
    """Train 10 steps, checkpoint, train 5 more; a model loaded from the checkpoint and trained the
    same 5 steps (same optimiser state, same random numbers) ends with the same weights."""
    from studio.core.training.optim import EngineOptimizers, OptimSettings
    model = build("vae_gan", data, **SMALL)
    opt = EngineOptimizers(model, OptimSettings(lr=1e-3))
    g = torch.Generator().manual_seed(1)
    for step in range(1, 11):
        model.training_step(data.random_batch("train", 8, generator=g), opt)
        model.after_step(step)
    # a copy, as a checkpoint file holds one (state_dict() shares the live moment tensors)
    opt_state = copy.deepcopy({k: o.state_dict() for k, o in opt.optimizers.items()})
    clone = state_round_trip("vae_gan", model, data, **SMALL)
    clone_opt = EngineOptimizers(clone, OptimSettings(lr=1e-3))
    for k, o in clone_opt.optimizers.items():
        o.load_state_dict(opt_state[k])

    def more(m, o):
        gen = torch.Generator().manual_seed(2)
        torch.manual_seed(3)
        for step in range(11, 16):
            m.training_step(data.random_batch("train", 8, generator=gen), o)
            m.after_step(step)
        return m.eval().sample(4, seed=1)

    assert torch.allclose(more(model, opt), more(clone, clone_opt), atol=1e-5)
    assert int(clone.steps_done) == 15


def test_evaluate_reports_reconstruction_and_sample_figures(trained, data):
    model, _ = trained
    figures = model.evaluate(data.iter_batches("val", 4))
    assert figures["images"] == 4
    assert {"recon_l1", "diversity", "nn_distance"} <= set(figures)
    assert 0.0 < figures["recon_l1"] < 1.0
    assert model.evaluate(data.iter_batches("val", 4)) == figures
    val = model.validation_step(next(data.iter_batches("val", 4)))
    assert val and all(k.startswith("val_") for k in val)


def test_onnx_decoder_matches_torch(trained):
    assert_onnx_matches(trained[0])


def test_bad_settings_are_refused_with_reasons():
    from studio_plugins.vae_gan import plugin
    with pytest.raises(ConfigError, match="augment"):
        config_from_dict(plugin.Config, {"augment": "rotate"})
    with pytest.raises(ConfigError, match="prior"):
        config_from_dict(plugin.Config, {"prior": "flow"})
    with pytest.raises(ValueError, match="image size 48"):
        plugin.build(plugin.Config(), DataSpec(modality="image", image_size=48, channels=3))
    with pytest.raises(ValueError, match="channels"):
        plugin.build(plugin.Config(), DataSpec(modality="image", image_size=64, channels=4))


def test_a_trained_run_morphs_the_users_pictures_and_gives_grid_planes(tmp_path, capsys):
    """As a user: `studio train --plugin vae-gan`, then morph two of their own PNGs with
    `studio interpolate --from-file/--to-file`; the latent grid's learned and PCA planes come from it."""
    import numpy as np
    from PIL import Image

    from studio.cli import main
    from studio.core.latent.learned import learned_codes, learned_plane
    from studio.core.latent.planes import pca_directions
    from studio.core.training.checkpoints import load_model
    from tests.fixtures.toy_plugins.data import write_image_dataset
    ds = write_image_dataset(tmp_path / "images", n=24, size=32)
    run = tmp_path / "run"
    assert main(["train", "--plugin", "vae-gan", "--data", str(ds), "--out", str(run), "--steps", "6",
                 "--device", "cpu", "--set", "threads=1", "--set", "width=4", "--set", "latent_size=4",
                 "--set", "batch_size=4"]) == 0, capsys.readouterr().err
    pics = tiny_images(n=2, size=32, channels=1).tensors["images"]  # the toy dataset is greyscale
    for name, img in zip("AB", pics):
        Image.fromarray(img[0].numpy()).save(tmp_path / f"{name}.png")
    capsys.readouterr()
    out = tmp_path / "frames"
    assert main(["interpolate", "--run", str(run), "--from-file", str(tmp_path / "A.png"), "--to-file",
                 str(tmp_path / "B.png"), "--steps", "4", "--out", str(out), "--format", "png"]) == 0, \
        capsys.readouterr().err
    frames = sorted(out.glob("frame-*.png"))
    assert len(frames) == 4 and np.asarray(Image.open(frames[0])).shape[:2] == (32, 32)
    model, plugin, _ = load_model(run)
    assert plugin.id == "vae-gan"
    codes, source = learned_codes(model, model.latent_dim)
    assert source == "the model's own sampling prior" and codes.shape[1] == 4
    assert learned_plane(codes).origin.shape == (4,)
    encoded = model.encode(pics.float() / 255).numpy()
    assert pca_directions(np.concatenate([encoded, codes[:10]]), k=2).directions.shape == (2, 4)
