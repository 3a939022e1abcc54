"""Latent maths, bookmarks with a project, decoder backends and walk export."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.core.latent import (Plane, add_bookmark, add_path, bookmark_vector, breed, lerp, make_bookmark, make_path,
                                orthonormal_directions, pca_directions, path_points, seed_vector, slerp, thumbnail_png,
                                walk, walk_between)
from studio.core.latent.walk_export import (contact_sheet, write_gif, write_melody_walk_midi, write_melody_walk_wav,
                                            write_mp4)
from studio.core.project import Project
from tests.ui.latent_doubles import TinyImageModel, TinyMelodyModel

torch.set_num_threads(1)


def test_lerp_and_slerp_hit_the_ends_and_slerp_keeps_the_norm():
    a, b = np.array([3.0, 0, 0], np.float32), np.array([0, 3.0, 0], np.float32)
    for f in (lerp, slerp):
        np.testing.assert_allclose(f(a, b, 0.0), a, atol=1e-6)
        np.testing.assert_allclose(f(a, b, 1.0), b, atol=1e-6)
    mid_s, mid_l = slerp(a, b, 0.5), lerp(a, b, 0.5)
    assert np.linalg.norm(mid_s) == pytest.approx(3.0, rel=1e-5)      # on the sphere
    assert np.linalg.norm(mid_l) < 2.2                                  # the straight line cuts inside
    np.testing.assert_allclose(slerp(a, 2 * a, 0.5), 1.5 * a, atol=1e-5)  # parallel: falls back to lerp


def test_walk_has_one_frame_per_step_and_passes_every_waypoint():
    pts = np.eye(4, dtype=np.float32)[:3] * 2
    frames = walk(pts, 5, "slerp")
    assert frames.shape == ((3 - 1) * 5 + 1, 4)
    for k in range(3):
        np.testing.assert_allclose(frames[k * 5], pts[k], atol=1e-6)
    assert walk_between(pts[0], pts[1], 7, "lerp").shape == (7, 4)
    with pytest.raises(ValueError, match="method"):
        walk(pts, 2, "cubic")
    with pytest.raises(ValueError, match="two points"):
        walk(pts[:1], 2)


def test_random_directions_are_orthonormal_and_seeded():
    d = orthonormal_directions(16, 5, seed=3)
    np.testing.assert_allclose(d @ d.T, np.eye(5), atol=1e-5)
    np.testing.assert_array_equal(d, orthonormal_directions(16, 5, seed=3))
    assert not np.allclose(d, orthonormal_directions(16, 5, seed=4))


def test_pca_finds_the_direction_of_largest_spread():
    rng = np.random.default_rng(0)
    axis = np.zeros(6, np.float32)
    axis[2] = 1.0
    codes = rng.standard_normal((400, 6)) * 0.1 + rng.standard_normal((400, 1)) * 3.0 * axis + 5.0
    pca = pca_directions(codes, k=3)
    assert abs(float(pca.directions[0] @ axis)) > 0.99
    assert pca.std[0] == pytest.approx(3.0, rel=0.15)
    np.testing.assert_allclose(pca.mean, codes.mean(axis=0), atol=1e-4)
    assert pca.explained[0] > 0.9


def test_planes_map_coordinates_to_vectors():
    p = Plane.random(8, seed=1, origin=np.ones(8))
    np.testing.assert_allclose(p.point(0, 0), np.ones(8), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(p.point(2.0, 0) - p.point(0, 0)), 2.0, rtol=1e-5)
    corners = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    for method in ("lerp", "slerp"):
        c = Plane.from_corners(corners, method)
        got = c.points([0, 1, 0, 1], [0, 0, 1, 1])
        np.testing.assert_allclose(got, corners, atol=1e-5)
    with pytest.raises(ValueError, match="four"):
        Plane.from_corners(corners[:3])


def test_breed_makes_a_ring_at_the_spread():
    parent = np.arange(8, dtype=np.float32)
    kids = breed(parent, n=6, spread=0.7, seed=2)
    assert kids.shape == (6, 8)
    np.testing.assert_allclose(np.linalg.norm(kids - parent, axis=1), 0.7, rtol=1e-5)
    assert len({tuple(np.round(k, 4)) for k in kids}) == 6


def test_seed_vector_matches_the_plugin_generator():
    from studio.core.plugins.model import generator_for

    np.testing.assert_allclose(seed_vector(5, 12), torch.randn(1, 12, generator=generator_for(5)).numpy()[0])


def test_bookmarks_and_paths_survive_a_project_save_and_load(tmp_path):
    proj = Project.create(tmp_path / "proj")
    vec = np.linspace(-1, 1, 8).astype(np.float32)
    thumb = thumbnail_png((np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8))
    bm = add_bookmark(proj, make_bookmark("sunset", plugin="vae", run="runs/r1", checkpoint="step-1.safetensors",
                                          vector=vec, seed=7, thumbnail=thumb))
    add_bookmark(proj, make_bookmark("sunset", plugin="vae", run="runs/r1", checkpoint="c", vector=vec))
    add_path(proj, make_path("walk", [vec, -vec], plugin="vae", run="runs/r1", checkpoint="c", method="lerp", steps=4))
    again = Project.open(tmp_path / "proj")
    assert [b["name"] for b in again.bookmarks] == ["sunset", "sunset 2"]   # clash renamed
    np.testing.assert_allclose(bookmark_vector(again.bookmarks[0], 8), vec, atol=1e-6)
    assert again.bookmarks[0]["seed"] == 7 and again.bookmarks[0]["thumbnail"] == thumb
    assert {"plugin", "run", "checkpoint", "vector", "seed"} <= set(bm)
    assert path_points(again.paths[0], 8).shape == (2, 8) and again.paths[0]["method"] == "lerp"
    with pytest.raises(ValueError, match="dimensions"):
        bookmark_vector(again.bookmarks[0], 16)
    with pytest.raises(ValueError, match="NaN"):
        make_bookmark("bad", plugin="", run="", checkpoint="", vector=[np.nan])


def test_decoder_backends_agree_and_onnx_does_not_spin():
    from studio.core.latent_decoder import OnnxDecoder, TorchDecoder, pick_decoder, session_options

    model = TinyImageModel()
    z = np.random.default_rng(0).standard_normal((10, 8)).astype(np.float32)
    t, o = TorchDecoder(model), OnnxDecoder(model)
    assert t.modality == "image" and t.decode(z).shape == (10, 3, 16, 16)
    np.testing.assert_allclose(o.decode(z), t.decode(z), atol=2e-3)
    opts = session_options(2)
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.intra_op_num_threads == 2
    report: dict = {}
    chosen = pick_decoder(model, report=report, batch=16, repeats=1)
    assert chosen.backend in ("torch", "onnxruntime") and {"torch", "onnxruntime"} <= set(report)
    mel = TorchDecoder(TinyMelodyModel())
    assert mel.modality == "melody" and mel.decode(z).dtype == np.int64
    with pytest.raises(ValueError, match="no latent space"):
        TorchDecoder(torch.nn.Linear(2, 2))


def test_walk_exports(tmp_path):
    import imageio.v3 as iio
    import mido
    import soundfile as sf

    model = TinyImageModel()
    z = walk_between(seed_vector(1, 8), seed_vector(2, 8), 9)
    from studio.core.latent_decoder import TorchDecoder
    from studio.core.latent.walk_export import to_uint8_hwc
    frames = to_uint8_hwc(TorchDecoder(model).decode(z))
    gif = write_gif(tmp_path / "w.gif", frames, fps=10, provenance={"plugin": "tiny"})
    assert iio.imread(gif, index=None).shape[0] == 9
    same = write_gif(tmp_path / "same.gif", np.repeat(frames[:1], 4, axis=0))   # identical frames kept
    assert iio.imread(same, index=None).shape[0] == 4
    mp4 = write_mp4(tmp_path / "w.mp4", frames, fps=10)
    assert len(list(iio.imiter(mp4))) == 9
    assert contact_sheet(frames, 3, 3).shape == (3 * 18 - 2, 3 * 18 - 2, 3)
    events = TorchDecoder(TinyMelodyModel()).decode(z[:5])
    mid = write_melody_walk_midi(tmp_path / "w.mid", events)
    msgs = list(mido.MidiFile(mid))
    assert [m.text for m in msgs if m.type == "marker"] == [f"step {k}" for k in range(5)]
    assert sum(m.type == "note_on" and m.velocity > 0 for m in msgs) == 5 * 16
    wav = write_melody_walk_wav(tmp_path / "w.wav", events)
    data, sr = sf.read(wav)
    assert len(data) / sr >= 5 * 32 * 0.125 * 0.99 and np.abs(data).max() > 0.01


@pytest.fixture
def fake_run(monkeypatch, tmp_path):
    """A run folder whose load_model returns a tiny latent model (the engine is tested elsewhere)."""
    from types import SimpleNamespace

    from studio.core.training import checkpoints

    made = {}

    def fake_load(run_dir, checkpoint=None, device="cpu", plugin=None):
        model = made["model"]
        plugin = SimpleNamespace(id="tiny", name="Tiny", version="0", capabilities={"latent"},
                                 modality="melody" if isinstance(model, TinyMelodyModel) else "image")
        return model, plugin, SimpleNamespace(path=tmp_path / "step-1.safetensors")

    monkeypatch.setattr(checkpoints, "load_model", fake_load)
    return made


@pytest.mark.parametrize("fmt", ["gif", "mp4", "png"])
def test_interpolate_cli_writes_image_walks(fake_run, tmp_path, fmt, capsys):
    import json

    import imageio.v3 as iio

    from studio.cli import main

    fake_run["model"] = TinyImageModel()
    out = tmp_path / f"walk.{fmt}"
    rc = main(["interpolate", "--run", str(tmp_path), "--out", str(out), "--steps", "6", "--from", "3", "--to", "4",
               "--method", "lerp", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["steps"] == 6 and res["format"] == fmt and res["plugin"] == "tiny"
    if fmt == "gif":
        assert iio.imread(out, index=None).shape[0] == 6
    elif fmt == "mp4":
        assert len(list(iio.imiter(out))) == 6
    else:
        assert iio.imread(out).shape[1] > iio.imread(out).shape[0] * 5   # a strip of 6 frames


def test_interpolate_cli_melodies_and_errors(fake_run, tmp_path, capsys):
    import mido

    from studio.cli import main

    fake_run["model"] = TinyMelodyModel()
    assert main(["interpolate", "--run", str(tmp_path), "--out", str(tmp_path / "m.mid"), "--steps", "4"]) == 0
    metas = list(mido.MidiFile(tmp_path / "m.mid"))
    assert sum(m.type == "marker" for m in metas) == 4
    assert not [m for m in metas if m.type == "copyright"]  # the artist's field; the disclosure is a text event
    assert any(m.type == "text" and "AI-generated" in m.text for m in metas)
    assert main(["interpolate", "--run", str(tmp_path), "--out", str(tmp_path / "m.gif"), "--steps", "4"]) == 2
    assert "does not suit a melody model" in capsys.readouterr().err
    assert main(["interpolate", "--run", str(tmp_path), "--out", str(tmp_path / "m.mid"), "--steps", "1"]) == 2
    fake_run["model"] = torch.nn.Linear(2, 2)
    assert main(["interpolate", "--run", str(tmp_path), "--out", str(tmp_path / "x.gif"), "--steps", "3"]) == 1
    assert "no latent space" in capsys.readouterr().err
