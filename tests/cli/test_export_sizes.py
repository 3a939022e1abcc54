"""`--scale` / `--resample` on `studio generate` and `studio interpolate`, on a tiny trained image VAE."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from studio.cli import main

torch.set_num_threads(1)
pytest.importorskip("studio.core.training.checkpoints", reason="the engine's load_model is not there yet")


class _Opt:
    def __init__(self, model):
        self.adam = torch.optim.Adam(model.parameters(), lr=3e-3)

    def step(self, group, loss):
        self.adam.zero_grad()
        loss.backward()
        self.adam.step()


def _run(folder: Path, plugin_id: str, cfg: dict, spec: dict, data=None, steps: int = 0) -> Path:
    """A run folder with one checkpoint of a tiny model, trained ``steps`` steps on ``data``."""
    from studio.core.plugins.api import DataSpec, config_from_dict, config_to_dict
    from studio.core.plugins.registry import get_plugin
    from studio.core.training.checkpoints import save_checkpoint
    from studio.core.training.state import model_tensors

    plugin = get_plugin(plugin_id)
    config, data_spec = config_from_dict(plugin.Config, cfg), DataSpec(**spec)
    torch.manual_seed(0)
    model = plugin.build(config, data_spec)
    if steps:
        opt = _Opt(model)
        for _ in range(steps):
            model.training_step(data, opt)
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"id": folder.name, "plugin": {"id": plugin.id},
                                                 "status": "done", "step": steps}))
    save_checkpoint(folder / "checkpoints", max(steps, 1), model_tensors(model.eval()),
                    {"plugin": {"id": plugin.id, "version": plugin.version}, "config": config_to_dict(config),
                     "data_spec": data_spec.to_dict()})
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("sizes")
    yy, xx = np.mgrid[:32, :32]
    shapes = np.stack([(xx < 12), (yy < 12), np.hypot(xx - 16, yy - 16) < 9, (xx + yy) % 16 < 8]).astype(np.float32)
    vae = _run(base / "vae", "vae", {"latent_size": 4, "width": 8}, {"modality": "image", "image_size": 32,
                                                                      "channels": 1},
               torch.from_numpy(shapes[:, None]), steps=60)
    melody = _run(base / "melody", "melody-rnn", {"layers": 1, "hidden": 16, "embed": 8},
                  {"modality": "melody", "phrase_length": 32, "min_pitch": 48, "max_pitch": 84})
    mvae = _run(base / "mvae", "melody-vae", {"latent_dim": 4, "enc_hidden": 16, "dec_hidden": 32, "dec_layers": 1,
                                              "embed": 8, "dropout": 0.0},
                {"modality": "melody", "phrase_length": 32, "min_pitch": 48, "max_pitch": 84})
    return {"vae": vae, "melody": melody, "mvae": mvae}


def cli(*argv) -> int:
    return main([str(a) for a in argv])


def _read(path) -> tuple[np.ndarray, dict]:
    from studio.core.export import read_provenance
    with Image.open(path) as im:
        return np.asarray(im), read_provenance(path)


def test_generate_png_at_8x_nearest_is_the_1x_picture_in_blocks(runs, tmp_path, capsys):
    assert cli("generate", "--run", runs["vae"], "--seed", 4, "--out", tmp_path / "small.png") == 0
    capsys.readouterr()
    assert cli("generate", "--run", runs["vae"], "--seed", 4, "--scale", 8, "--resample", "nearest",
               "--out", tmp_path / "big.png", "--json") == 0
    assert json.loads(capsys.readouterr().out)["size"] == {"scale": 8, "resample": "nearest"}
    small, _ = _read(tmp_path / "small.png")
    big, recipe = _read(tmp_path / "big.png")
    assert small.shape == (32, 32) and big.shape == (256, 256)
    np.testing.assert_array_equal(big, np.repeat(np.repeat(small, 8, axis=0), 8, axis=1))
    assert recipe["output"] == {"scale": 8, "resample": "nearest", "width": 256, "height": 256}


def test_generate_smooth_is_the_default_resampling_and_blends(runs, tmp_path):
    assert cli("generate", "--run", runs["vae"], "--seed", 4, "--scale", "8", "--out", tmp_path / "s.png") == 0
    assert cli("generate", "--run", runs["vae"], "--seed", 4, "--scale", "8", "--resample", "nearest",
               "--out", tmp_path / "n.png") == 0
    soft, recipe = _read(tmp_path / "s.png")
    crisp, _ = _read(tmp_path / "n.png")
    assert soft.shape == crisp.shape == (256, 256) and recipe["output"]["resample"] == "smooth"
    assert not np.array_equal(soft, crisp)
    # nearest has only the 256 source values in blocks; Lanczos makes in-between values at block edges
    assert len(np.unique(soft)) > len(np.unique(crisp))


def test_generate_grid_gif_jpg_and_folder_all_scale(runs, tmp_path):
    assert cli("generate", "--run", runs["vae"], "--n", 4, "--grid", "--scale", 4, "--out", tmp_path / "g.png") == 0
    sheet, recipe = _read(tmp_path / "g.png")
    assert sheet.shape[:2] == (2 * (128 + 14 + 4) + 4, 2 * (128 + 4) + 4)   # cells 128 px + caption rows
    assert recipe["output"]["scale"] == 4 and recipe["layout"] == "grid"
    assert cli("generate", "--run", runs["vae"], "--n", 3, "--scale", 2, "--out", tmp_path / "w.gif") == 0
    with Image.open(tmp_path / "w.gif") as im:
        assert im.size == (64, 64) and im.n_frames == 3
    assert cli("generate", "--run", runs["vae"], "--n", 2, "--scale", 4, "--format", "jpg",
               "--out", tmp_path / "jpgs") == 0
    for f in sorted((tmp_path / "jpgs").glob("*.jpg")):
        pic, recipe = _read(f)
        assert pic.shape[:2] == (128, 128) and recipe["output"]["scale"] == 4


def test_interpolate_gif_mp4_and_strip_with_scale(runs, tmp_path, capsys):
    import imageio.v3 as iio

    assert cli("interpolate", "--run", runs["vae"], "--steps", 4, "--scale", 2, "--out", tmp_path / "w.gif",
               "--json") == 0
    assert json.loads(capsys.readouterr().out)["size"] == {"scale": 2, "resample": "smooth"}
    frames = iio.imread(tmp_path / "w.gif", index=None)
    assert frames.shape[:3] == (4, 64, 64)                      # without --scale: 128 px, as before
    frames, recipe = _read(tmp_path / "w.gif")
    assert recipe["output"] == {"scale": 2, "resample": "smooth", "width": 64, "height": 64}
    assert cli("interpolate", "--run", runs["vae"], "--steps", 4, "--scale", 4, "--resample", "nearest",
               "--out", tmp_path / "w.mp4") == 0
    assert next(iter(iio.imiter(tmp_path / "w.mp4"))).shape[:2] == (128, 128)
    assert cli("interpolate", "--run", runs["vae"], "--steps", 3, "--scale", 2, "--out", tmp_path / "strip.png") == 0
    strip, _ = _read(tmp_path / "strip.png")
    assert strip.shape[:2] == (64, 3 * 64 + 2 * 2)               # enlarged cells, 2-px gutters


def test_bad_scale_options_and_melody_runs_are_refused_clearly(runs, tmp_path, capsys):
    assert cli("generate", "--run", runs["vae"], "--scale", 3, "--out", tmp_path / "a.png") == 2
    assert "--scale: scale must be one of 1, 2, 4, 8 (got '3')" in capsys.readouterr().err
    assert cli("generate", "--run", runs["vae"], "--resample", "nearest", "--out", tmp_path / "a.png") == 2
    assert "--resample nearest needs --scale 2, 4 or 8" in capsys.readouterr().err
    assert cli("interpolate", "--run", runs["vae"], "--scale", 2, "--resample", "bicubic",
               "--out", tmp_path / "a.gif") == 2
    assert "--resample: resample must be 'nearest' (crisp pixels) or 'smooth'" in capsys.readouterr().err
    assert cli("generate", "--run", runs["melody"], "--scale", 2, "--out", tmp_path / "m.mid") == 2
    err = capsys.readouterr().err
    assert "--scale/--resample enlarge pictures; this run is a melody model (mid files have no pixels)" in err
    assert cli("interpolate", "--run", runs["mvae"], "--steps", 3, "--scale", 4, "--out", tmp_path / "m.mid") == 2
    assert "--scale/--resample enlarge pictures;" in capsys.readouterr().err
    assert not any((tmp_path / n).exists() for n in ("a.png", "a.gif", "m.mid"))
