"""`studio interpolate --from-file/--to-file` (morphs between the user's files) and `--soundtrack`.

Tiny models trained for a few seconds in the test (1 thread): an image VAE on 6 shapes and a
melody VAE on 4 phrases, so their encoders really place the files in latent space.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import mido
import numpy as np
import pytest
import torch
from PIL import Image

from studio.cli import main

torch.set_num_threads(1)
pytest.importorskip("studio.core.training.checkpoints", reason="the engine's load_model is not there yet")

IMAGE_SPEC = {"modality": "image", "image_size": 32, "channels": 1}
MELODY_SPEC = {"modality": "melody", "phrase_length": 32, "min_pitch": 48, "max_pitch": 84}
LOW = [60, 62, 64, 65, 67, 65, 64, 62]     # file A: a low line (quarter notes over 2 bars)
HIGH = [84, 81, 79, 77, 76, 77, 79, 81]    # file B: a high line


class _Opt:
    """The engine's optimiser interface (``opt.step(group, loss)``) on a plain Adam."""

    def __init__(self, model, lr):
        self.adam = torch.optim.Adam(model.parameters(), lr=lr)

    def step(self, group, loss):
        self.adam.zero_grad()
        loss.backward()
        self.adam.step()


def _save_run(folder: Path, plugin, config, spec, model) -> Path:
    from studio.core.plugins.api import config_to_dict
    from studio.core.training.checkpoints import save_checkpoint
    from studio.core.training.state import model_tensors

    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"id": folder.name, "plugin": {"id": plugin.id},
                                                 "status": "done", "step": 1}))
    save_checkpoint(folder / "checkpoints", 1, model_tensors(model),
                    {"plugin": {"id": plugin.id, "version": plugin.version}, "config": config_to_dict(config),
                     "data_spec": spec.to_dict()})
    return folder


def _train(folder: Path, plugin_id: str, cfg: dict, spec_values: dict, data: torch.Tensor, steps: int, lr: float):
    from studio.core.plugins.api import DataSpec, config_from_dict
    from studio.core.plugins.registry import get_plugin

    plugin = get_plugin(plugin_id)
    config, spec = config_from_dict(plugin.Config, cfg), DataSpec(**spec_values)
    torch.manual_seed(0)
    model = plugin.build(config, spec)
    if steps:
        opt = _Opt(model, lr)
        for _ in range(steps):
            model.training_step(data, opt)
    return _save_run(folder, plugin, config, spec, model.eval())


def _shapes() -> np.ndarray:
    """Six clearly different 32x32 grey pictures (uint8): bars, blocks, a ring, a cross."""
    yy, xx = np.mgrid[:32, :32]
    ims = [(xx < 12), (yy < 12), (xx > 20) & (yy > 20), np.abs(np.hypot(xx - 16, yy - 16) - 9) < 3,
           (np.abs(xx - 16) < 3) | (np.abs(yy - 16) < 3), (xx + yy) % 16 < 8]
    return np.stack([np.where(m, 235, 20).astype(np.uint8) for m in ims])


def _midi(path: Path, pitches, step_ticks=120, dur_steps=4) -> Path:
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    for p in pitches:
        tr.append(mido.Message("note_on", note=p, velocity=80, time=0))
        tr.append(mido.Message("note_off", note=p, velocity=0, time=step_ticks * dur_steps))
    mid.save(str(path))
    return path


def _phrase(pitches) -> list[int]:
    from studio.core.audio.events import Note, notes_to_events
    return notes_to_events([Note(p, 4 * i, 4) for i, p in enumerate(pitches)], 32, 48, 84)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("interp-files")
    shapes = _shapes()
    Image.fromarray(shapes[0]).save(base / "A.png")
    Image.fromarray(shapes[1]).save(base / "B.png")
    images = torch.from_numpy(shapes[:, None].astype(np.float32) / 255.0)
    vae = _train(base / "vae-run", "vae", {"latent_size": 4, "width": 8, "beta": 0.05, "kl_warmup_steps": 0,
                                          "prior": "normal"}, IMAGE_SPEC, images, 300, 3e-3)
    phrases = torch.tensor([_phrase(LOW), _phrase(HIGH), _phrase([72] * 8), _phrase([50, 55, 60, 55] * 2)])
    mvae = _train(base / "mvae-run", "melody-vae",
                  {"latent_dim": 4, "enc_hidden": 16, "dec_hidden": 32, "dec_layers": 1, "embed": 8, "dropout": 0.0,
                   "beta": 0.0, "beta_warmup": 0, "free_bits": 0.0}, MELODY_SPEC, phrases, 300, 3e-2)
    dcgan = _train(base / "dcgan-run", "dcgan", {"latent_size": 8, "width": 8}, IMAGE_SPEC, images, 0, 0.0)
    return {"base": base, "vae": vae, "mvae": mvae, "dcgan": dcgan, "A": base / "A.png", "B": base / "B.png",
            "shapes": shapes.astype(np.float32) / 255.0,
            "midA": _midi(base / "A.mid", LOW), "midB": _midi(base / "B.mid", HIGH)}


def cli(*argv) -> int:
    return main([str(a) for a in argv])


def _mse(a, b) -> float:
    return float(np.mean((np.asarray(a, np.float32) - np.asarray(b, np.float32)) ** 2))


def test_two_pngs_in_n_frames_out_and_the_ends_look_like_the_files(env, tmp_path, capsys):
    from studio.core.export import read_provenance
    from studio.core.training.checkpoints import load_model

    out = tmp_path / "frames"
    assert cli("interpolate", "--run", env["vae"], "--from-file", env["A"], "--to-file", env["B"],
               "--steps", 5, "--out", out, "--format", "png", "--json") == 0
    res = json.loads(capsys.readouterr().out)
    assert res["from_file"] == "A.png" and res["to_file"] == "B.png"
    files = sorted(out.glob("frame-*.png"))
    assert len(files) == 5
    first, last = (np.asarray(Image.open(f).convert("L"), np.float32) / 255.0 for f in (files[0], files[-1]))
    a, b = env["shapes"][0], env["shapes"][1]
    model, _, _ = load_model(env["vae"])
    random = model.sample(1, seed=7)[0, 0].numpy()   # a random draw from the same model
    assert _mse(first, a) < _mse(random, a) and _mse(first, a) < _mse(first, b)
    assert _mse(last, b) < _mse(random, b) and _mse(last, b) < _mse(last, a)
    text = json.dumps(read_provenance(files[0]))
    assert "A.png" in text and "B.png" in text          # names recorded, content not
    # a file at one end, a seed at the other
    assert cli("interpolate", "--run", env["vae"], "--from-file", env["A"], "--to", 3, "--steps", 3,
               "--out", tmp_path / "mix.gif") == 0
    assert "A.png -> seed 3" in capsys.readouterr().out


def _phrase_pitches(path: Path) -> list[list[int]]:
    phrases: list[list[int]] = []
    for msg in mido.MidiFile(str(path)):
        if msg.type == "marker":
            phrases.append([])
        elif msg.type == "note_on" and msg.velocity > 0 and phrases:
            phrases[-1].append(msg.note)
    return phrases


def test_two_midis_in_a_walk_of_n_phrases_from_a_to_b(env, tmp_path):
    out = tmp_path / "walk.mid"
    assert cli("interpolate", "--run", env["mvae"], "--from-file", env["midA"], "--to-file", env["midB"],
               "--steps", 4, "--out", out) == 0
    phrases = _phrase_pitches(out)
    assert len(phrases) == 4 and all(phrases[0]) and all(phrases[-1])
    first, last = np.mean(phrases[0]), np.mean(phrases[-1])
    assert abs(first - np.mean(LOW)) < abs(first - np.mean(HIGH))
    assert abs(last - np.mean(HIGH)) < abs(last - np.mean(LOW))


def test_a_melody_is_moved_by_octaves_into_range_and_refused_when_too_short_or_too_wide(env, tmp_path, capsys):
    from studio.core.latent.from_files import FileEncodeError, read_melody_for
    from studio.core.training.checkpoints import load_model

    model, _, _ = load_model(env["mvae"])
    events, notes = read_melody_for(model, _midi(tmp_path / "high.mid", [p + 24 for p in HIGH]))
    assert events.tolist() == _phrase(HIGH) and "down 2 octaves" in notes[0]   # the nearest fit: same shape
    with pytest.raises(FileEncodeError, match="wide.mid: the melody is out of range"):
        read_melody_for(model, _midi(tmp_path / "wide.mid", [40, 50, 60, 70, 82]))
    assert cli("interpolate", "--run", env["mvae"], "--from-file", _midi(tmp_path / "two.mid", [60, 62]),
               "--steps", 3, "--out", tmp_path / "x.mid") == 2
    err = capsys.readouterr().err
    assert "two.mid" in err and "too short" in err


def test_clear_errors_for_a_model_that_cannot_encode_and_unreadable_files(env, tmp_path, capsys):
    assert cli("interpolate", "--run", env["dcgan"], "--from-file", env["A"], "--to-file", env["B"],
               "--steps", 3, "--out", tmp_path / "d.gif") == 2
    err = capsys.readouterr().err
    assert "A.png" in err and "dcgan" in err and "encode" in err
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    assert cli("interpolate", "--run", env["vae"], "--from-file", broken, "--steps", 3, "--out", tmp_path / "x.gif") == 2
    err = capsys.readouterr().err
    assert "broken.png" in err and "image" in err
    assert cli("interpolate", "--run", env["vae"], "--to-file", tmp_path / "nope.png", "--steps", 3,
               "--out", tmp_path / "x.gif") == 2
    assert "nope.png: file not found" in capsys.readouterr().err
    assert cli("interpolate", "--run", env["vae"], "--from-file", env["midA"], "--steps", 3,
               "--out", tmp_path / "x.gif") == 2               # a MIDI file is no picture
    assert "A.mid" in capsys.readouterr().err
    assert cli("interpolate", "--run", env["vae"], "--soundtrack", env["mvae"], "--steps", 3,
               "--out", tmp_path / "x.gif") == 2
    assert "needs an MP4" in capsys.readouterr().err
    assert cli("interpolate", "--run", env["vae"], "--soundtrack", env["vae"], "--steps", 3,
               "--out", tmp_path / "x.mp4") == 2
    assert "melody run is needed" in capsys.readouterr().err


def _audio_seconds(path: Path) -> float:
    import imageio_ffmpeg

    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0",
                           "-f", "s16le", "-ac", "1", "-ar", "8000", "-"], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return len(proc.stdout) / 2 / 8000


def test_mp4_with_a_melody_soundtrack_has_audio_as_long_as_the_video(env, tmp_path, capsys):
    import imageio_ffmpeg

    from studio.core.export import read_provenance

    out = tmp_path / "walk.mp4"
    assert cli("interpolate", "--run", env["vae"], "--from-file", env["A"], "--to-file", env["B"], "--steps", 3,
               "--soundtrack", env["mvae"], "--bpm", 240, "--fps", 6, "--out", out, "--json") == 0
    res = json.loads(capsys.readouterr().out)
    assert res["soundtrack"]["frames_per_step"] == 12 and res["fps"] == pytest.approx(6.0)
    frames, video_s = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert frames == 3 * 12 and video_s == pytest.approx(6.0, abs=0.05)   # 3 phrases of 2 s at 240 bpm
    audio_s = _audio_seconds(out)
    assert abs(audio_s - video_s) < 0.2
    recipe = read_provenance(out)
    assert recipe["run"]["id"] == "vae-run" and recipe["disclosure"] == "AI-generated"
    assert recipe["latent"]["soundtrack"]["run_id"] == "mvae-run"          # both runs named
    assert recipe["latent"]["from_file"] == "A.png" and recipe["latent"]["to_file"] == "B.png"


def test_soundtrack_plan_holds_each_picture_for_one_phrase_and_the_audio_fits_exactly():
    from studio.core.latent.soundtrack import SAMPLE_RATE, held_batches, plan, render_soundtrack

    p = plan(4, 32, bpm=120, fps=10)          # 4 s phrases: 40 frames each at exactly 10 fps
    assert (p.frames_per_step, p.fps, p.seconds) == (40, 10.0, 16.0)
    q = plan(3, 32, bpm=100, fps=12)          # 4.8 s phrases: 58 frames, fps nudged to 58 / 4.8
    assert q.frames_per_step == 58 and q.fps == pytest.approx(58 / 4.8)
    frames = np.arange(3)[:, None, None, None] * np.ones((3, 2, 2, 3), np.uint8)
    held = np.concatenate(list(held_batches(frames, q)))
    assert len(held) == 3 * 58 and held[57].max() == 0 and held[58].max() == 1
    events = np.array([_phrase(LOW), _phrase(HIGH), _phrase(LOW)])
    audio = render_soundtrack(events, q, min_pitch=48, sample_rate=8000)
    assert len(audio) == round(3 * 58 / q.fps * 8000) and np.abs(audio).max() > 0.05
    assert abs(audio[-1]) < 1e-3                # the cut last note fades out, no click
    with pytest.raises(ValueError, match="tempo"):
        plan(3, 32, bpm=5)
    assert SAMPLE_RATE == 44100


# -- smooth soundtrack walks: pictures glide between keyframes in time with the phrases -----------
def _video_frames(path: Path) -> np.ndarray:
    """All frames of an MP4 read back with imageio, shrunk to the model's 32x32 grey (float 0..255)."""
    import imageio.v2 as iio2

    with iio2.get_reader(str(path), "ffmpeg") as reader:
        frames = np.stack([np.asarray(f, np.float32) for f in reader])
    n, h, w, _ = frames.shape
    return frames.mean(axis=3).reshape(n, 32, h // 32, 32, w // 32).mean(axis=(2, 4))


def _distinct(frames: np.ndarray, level: float = 0.5) -> int:
    """Runs of visibly different frames: a held picture counts once, whatever codec noise it has."""
    return 1 + int(np.sum(np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2)) > level))


def _keyframes(env, steps: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(latents, 32x32 grey pictures 0..255) of the walk's steps, decoded as the CLI does."""
    from studio.core.latent import seed_vector, walk_between
    from studio.core.latent.from_files import encode_file
    from studio.core.latent_decoder import TorchDecoder
    from studio.core.training.checkpoints import load_model

    model, plugin, _ = load_model(env["vae"])
    a, b = (encode_file(model, env[k], plugin=plugin, run_dir=env["vae"]).vector for k in ("A", "B"))
    z = walk_between(a, b, steps, method)
    pictures = TorchDecoder(model).decode(z)[:, 0]
    return z, (np.clip(pictures, 0, 1) * 255.0 + 0.5).astype(np.uint8).astype(np.float32)


@pytest.mark.parametrize("method", ["slerp", "lerp"])
def test_soundtrack_mp4_glides_and_reaches_each_keyframe_as_its_phrase_starts(env, tmp_path, capsys, method):
    from studio.core.export import read_provenance

    steps, per_phrase = 4, 12                       # 240 bpm: 2 s phrases, 6 fps -> 12 frames each
    args = ["interpolate", "--run", env["vae"], "--from-file", env["A"], "--to-file", env["B"], "--steps", steps,
            "--soundtrack", env["mvae"], "--bpm", 240, "--fps", 6, "--method", method, "--json"]
    out = tmp_path / "glide.mp4"
    assert cli(*args, "--out", out) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["soundtrack"]["frames_per_step"] == per_phrase and res["soundtrack"]["motion"] == "glide"
    video = _video_frames(out)
    assert len(video) == steps * per_phrase
    assert _distinct(video) >= 3 * steps            # moving pictures, not one per phrase
    _, keys = _keyframes(env, steps, method)
    for k in range(steps):                          # keyframe k is on screen exactly when phrase k starts
        frame = video[k * per_phrase]
        assert _mse(frame, keys[k]) < 4.0, f"phrase {k}"   # codec noise is ~0.5
        others = [_mse(video[k * per_phrase + d], keys[k]) for d in (-3, 3) if 0 <= k * per_phrase + d < len(video)]
        if k < steps - 1:                           # (the last phrase rests on the end picture)
            assert all(_mse(frame, keys[k]) < o for o in others), f"phrase {k} peaks off its start"
    assert abs(_audio_seconds(out) - imageio_ffmpeg_secs(out)) < 0.2
    recipe = read_provenance(out)
    assert recipe["run"]["id"] == "vae-run" and recipe["latent"]["soundtrack"]["run_id"] == "mvae-run"
    assert recipe["latent"]["method"] == method
    again = tmp_path / "again.mp4"                  # same inputs, same pictures
    assert cli(*args, "--out", again) == 0
    assert np.array_equal(_video_frames(again), video)


def imageio_ffmpeg_secs(path: Path) -> float:
    import imageio_ffmpeg
    return imageio_ffmpeg.count_frames_and_secs(str(path))[1]


def test_hold_keeps_the_slideshow_and_needs_a_soundtrack(env, tmp_path, capsys):
    out = tmp_path / "held.mp4"
    assert cli("interpolate", "--run", env["vae"], "--from-file", env["A"], "--to-file", env["B"], "--steps", 4,
               "--soundtrack", env["mvae"], "--bpm", 240, "--fps", 6, "--hold", "--out", out, "--json") == 0
    assert json.loads(capsys.readouterr().out)["soundtrack"]["motion"] == "hold"
    video = _video_frames(out)
    assert len(video) == 48 and _distinct(video) <= 4
    _, keys = _keyframes(env, 4, "slerp")
    assert all(_mse(video[k * 12 + 11], keys[k]) < 4.0 for k in range(4))   # still picture k at the phrase end
    assert abs(_audio_seconds(out) - imageio_ffmpeg_secs(out)) < 0.2
    assert cli("interpolate", "--run", env["vae"], "--steps", 3, "--hold", "--out", tmp_path / "h.mp4") == 2
    assert "--hold only applies with --soundtrack" in capsys.readouterr().err


def test_glide_latents_hit_keyframes_follow_the_walk_and_come_in_bounded_batches():
    from studio.core.latent import seed_vector, walk_between
    from studio.core.latent.soundtrack import glide_latents, keyframe_indices, plan

    p = plan(3, 32, bpm=240, fps=5)                  # 2 s phrases, 10 frames each
    a, b = seed_vector(0, 6), seed_vector(1, 6)
    for method in ("slerp", "lerp"):
        keys = walk_between(a, b, 3, method)
        batches = list(glide_latents(keys, p, method, batch=7))
        assert [len(x) for x in batches] == [7, 7, 7, 7, 2]
        z = np.concatenate(batches)
        assert len(z) == p.frames == 30
        assert keyframe_indices(p) == [0, 10, 20]
        assert all(np.array_equal(z[i], keys[k]) for k, i in enumerate(keyframe_indices(p)))
        fine = walk_between(a, b, 21, method)        # the same walk sampled at every video frame
        np.testing.assert_allclose(z[:21], fine, atol=1e-5)
        assert np.array_equal(z[20:], np.repeat(keys[-1:], 10, axis=0))   # the last phrase rests
    with pytest.raises(ValueError, match="expected 3 keyframes"):
        next(glide_latents(keys[:2], p))


def test_write_mp4_stream_sends_batches_as_they_come_without_holding_them(tmp_path):
    import tracemalloc

    import imageio_ffmpeg

    from studio.core.latent.walk_export import write_mp4_stream

    n_batches, size = 40, 64                         # 2,560 frames of 64x64: 31 MB if all were kept

    def batches():
        for i in range(n_batches):
            yield np.full((64, size, size, 3), (i * 5) % 256, np.uint8)

    tracemalloc.start()
    try:
        out = write_mp4_stream(tmp_path / "long.mp4", batches(), fps=30, min_size=size,
                               provenance={"plugin": "vae", "run": "r", "method": "lerp"})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert imageio_ffmpeg.count_frames_and_secs(str(out))[0] == n_batches * 64
    assert peak < 8 * 2 ** 20, f"peak {peak / 2 ** 20:.1f} MiB"
    with pytest.raises(ValueError, match="at least one frame"):
        write_mp4_stream(tmp_path / "empty.mp4", iter(()), fps=30)
    assert not (tmp_path / "empty.mp4").exists()


def test_the_soundtrack_can_morph_between_your_own_melodies(env, tmp_path, capsys, monkeypatch):
    import studio.core.latent.soundtrack as soundtrack
    from studio.core.export import read_provenance
    from studio.core.latent import seed_vector, walk_between
    from studio.core.latent.from_files import encode_file
    from studio.core.latent_decoder import TorchDecoder
    from studio.core.training.checkpoints import load_model

    played = []
    real_render = soundtrack.render_soundtrack
    monkeypatch.setattr(soundtrack, "render_soundtrack",
                        lambda events, *a, **k: played.append(np.asarray(events)) or real_render(events, *a, **k))
    out = tmp_path / "walk.mp4"
    assert cli("interpolate", "--run", env["vae"], "--from-file", env["A"], "--to-file", env["B"], "--steps", 3,
               "--soundtrack", env["mvae"], "--soundtrack-from-file", env["midA"],
               "--soundtrack-to-file", env["midB"], "--bpm", 240, "--fps", 6, "--out", out, "--json") == 0
    capsys.readouterr()
    sound = read_provenance(out)["latent"]["soundtrack"]
    assert sound["from_file"] == "A.mid" and sound["to_file"] == "B.mid" and "from_seed" not in sound
    # the phrases played are the melody model's walk from the first melody to the second
    model, plugin, _ = load_model(env["mvae"])
    a, b = (encode_file(model, env[k], plugin=plugin, run_dir=env["mvae"]).vector for k in ("midA", "midB"))
    expected = np.asarray(TorchDecoder(model).decode(walk_between(a, b, 3, "slerp")))
    assert len(played) == 1 and np.array_equal(played[0], expected)
    dim = int(model.latent_dim)
    from_seeds = np.asarray(TorchDecoder(model).decode(walk_between(seed_vector(0, dim), seed_vector(1, dim), 3, "slerp")))
    assert not np.array_equal(played[0], from_seeds)   # the files, not the default seeds, set the music
    # without a melody run the option has nothing to place the file with
    assert cli("interpolate", "--run", env["vae"], "--steps", 3, "--soundtrack-from-file", env["midA"],
               "--out", tmp_path / "x.mp4") == 2
    assert "need --soundtrack MELODY_RUN" in capsys.readouterr().err
