"""Content Credentials through the real CLI: what `studio generate` / `studio interpolate` write is
verified by c2pa's own Reader (an independent C2PA implementation), and `studio verify` tells an
intact file from a tampered one, and both from a file without credentials.

Untrained tiny models (no training steps): the pictures are noise, but every export path is real.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
import torch
from PIL import Image

from studio.cli import main
from studio.core.export.provenance import IPTC_DIGITAL_SOURCE_TYPE
from studio.core.export.read import read_provenance

c2pa = pytest.importorskip("c2pa", reason="c2pa-python is a dependency (pyproject.toml)")
torch.set_num_threads(1)

IMAGE_SPEC = {"modality": "image", "image_size": 32, "channels": 1}
MELODY_SPEC = {"modality": "melody", "phrase_length": 32, "min_pitch": 48, "max_pitch": 84}


def _untrained(folder: Path, plugin_id: str, cfg: dict, spec_values: dict) -> Path:
    from studio.core.plugins.api import DataSpec, config_from_dict, config_to_dict
    from studio.core.plugins.registry import get_plugin
    from studio.core.training.checkpoints import save_checkpoint
    from studio.core.training.state import model_tensors

    plugin = get_plugin(plugin_id)
    config, spec = config_from_dict(plugin.Config, cfg), DataSpec(**spec_values)
    torch.manual_seed(0)
    model = plugin.build(config, spec)
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"id": folder.name, "plugin": {"id": plugin.id},
                                                 "status": "done", "step": 1}))
    save_checkpoint(folder / "checkpoints", 1, model_tensors(model.eval()),
                    {"plugin": {"id": plugin.id, "version": plugin.version}, "config": config_to_dict(config),
                     "data_spec": spec.to_dict()})
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("c2pa-runs")
    vae = _untrained(base / "vae-run", "vae", {"latent_size": 4, "width": 8}, IMAGE_SPEC)
    mvae = _untrained(base / "mvae-run", "melody-vae",
                      {"latent_dim": 4, "enc_hidden": 16, "dec_hidden": 32, "dec_layers": 1, "embed": 8,
                       "dropout": 0.0}, MELODY_SPEC)
    picture = base / "my drawing.png"
    Image.fromarray((np.indices((32, 32)).sum(0) % 7 * 36).astype(np.uint8)).save(picture)
    tune = base / "my tune.mid"
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    for pitch in [60, 62, 64, 65, 67, 65, 64, 62]:
        track.append(mido.Message("note_on", note=pitch, velocity=80, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=480))
    mid.save(str(tune))
    return {"vae": vae, "mvae": mvae, "picture": picture, "tune": tune}


def _reader(path: Path):
    """c2pa's Reader on the file (MIDI/TXT: on the file with its sidecar manifest)."""
    sidecar = path.with_name(path.name + ".c2pa")
    if sidecar.exists():
        return c2pa.Reader("application/octet-stream", io.BytesIO(path.read_bytes()), sidecar.read_bytes())
    return c2pa.Reader(str(path))


def _check_manifest(path: Path) -> dict:
    reader = _reader(path)
    assert reader.get_validation_state() in ("Valid", "Trusted"), reader.get_validation_results()
    manifest = reader.get_active_manifest()
    actions = [a for x in manifest["assertions"] if x["label"].startswith("c2pa.actions")
               for a in x["data"]["actions"]]
    created = [a for a in actions if a["action"] == "c2pa.created"]
    assert created and created[0]["digitalSourceType"] == IPTC_DIGITAL_SOURCE_TYPE
    assert created[0]["softwareAgent"]["name"] == "Generative Studio"
    recipe = next(x["data"] for x in manifest["assertions"] if x["label"] == "org.generative-studio.recipe")
    # the recipe in the credentials is the one embedded the studio's own way (which still reads)
    assert json.loads(recipe["recipe"]) == read_provenance(path)
    assert recipe["run"] == read_provenance(path)["run"]["id"]
    return manifest


@pytest.mark.parametrize("name", ["one.png", "one.jpg", "one.webp", "all.gif"])
def test_generated_pictures_carry_valid_credentials(runs, tmp_path, name):
    out = tmp_path / name
    n = "2" if name.endswith(".gif") else "1"
    assert main(["generate", "--run", str(runs["vae"]), "--out", str(out), "--n", n, "--seed", "3"]) == 0
    manifest = _check_manifest(out)
    assert manifest["title"] == name and read_provenance(out)["seed"] == 3


def test_interpolation_from_the_users_picture_names_it_as_ingredient_in_the_mp4(runs, tmp_path):
    out = tmp_path / "walk.mp4"
    assert main(["interpolate", "--run", str(runs["vae"]), "--out", str(out), "--steps", "3",
                 "--from-file", str(runs["picture"]), "--to", "5"]) == 0
    manifest = _check_manifest(out)
    assert [i["title"] for i in manifest["ingredients"]] == ["my drawing.png"]
    assert manifest["ingredients"][0]["relationship"] == "inputTo"
    assert runs["picture"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the user's file is only read


@pytest.mark.parametrize("ext", ["wav", "flac"])
def test_generated_sound_carries_valid_credentials(runs, tmp_path, ext):
    out = tmp_path / f"tune.{ext}"
    assert main(["generate", "--run", str(runs["mvae"]), "--out", str(out), "--seed", "2"]) == 0
    _check_manifest(out)
    assert not out.with_name(out.name + ".c2pa").exists()  # embedded, no sidecar


def test_midi_gets_a_sidecar_covering_its_bytes(runs, tmp_path, capsys):
    out = tmp_path / "walk.mid"
    assert main(["interpolate", "--run", str(runs["mvae"]), "--out", str(out), "--steps", "3",
                 "--from-file", str(runs["tune"])]) == 0
    sidecar = out.with_name("walk.mid.c2pa")
    assert sidecar.is_file()
    manifest = _check_manifest(out)
    assert [i["title"] for i in manifest["ingredients"]] == ["my tune.mid"]
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    assert "walk.mid.c2pa" in capsys.readouterr().out
    # one more note at the end: the sidecar's data hash no longer matches
    out.write_bytes(out.read_bytes() + b"\x00")
    assert main(["verify", str(out), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["state"] == "tampered" and "dataHash" in doc["reason"]
    sidecar.unlink()
    assert main(["verify", str(out)]) == 3
    assert "no walk.mid.c2pa sidecar" in capsys.readouterr().out


def test_verify_tells_intact_from_tampered_and_from_none(runs, tmp_path, capsys):
    out = tmp_path / "pic.png"
    assert main(["generate", "--run", str(runs["vae"]), "--out", str(out), "--seed", "4"]) == 0
    capsys.readouterr()
    assert main(["verify", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["state"] == "valid" and doc["self_signed"] and doc["your_key"]
    assert doc["disclosure"]["digital_source_type"] == IPTC_DIGITAL_SOURCE_TYPE
    assert doc["recipe"]["seed"] == 4 and doc["recipe_source"] == "credentials"
    assert "not who the person is" in doc["description"]
    # one byte of the compressed pixel data changed (the picture still opens)
    data = bytearray(out.read_bytes())
    at = data.index(b"IDAT") + 12
    data[at] ^= 0x01
    bad = tmp_path / "bad.png"
    bad.write_bytes(bytes(data))
    proc = subprocess.run([sys.executable, "-c", "import sys; from studio.cli import main; sys.exit(main())",
                           "verify", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "TAMPERED" in proc.stdout and "dataHash.mismatch" in proc.stdout
    # a file made without credentials (as before this feature): none, and its recipe still shows
    plain = tmp_path / "old.png"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STUDIO_CONTENT_CREDENTIALS", "off")
        assert main(["generate", "--run", str(runs["vae"]), "--out", str(plain), "--seed", "4"]) == 0
    capsys.readouterr()
    assert main(["verify", str(plain), "--json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    assert doc["state"] == "none" and doc["recipe"]["seed"] == 4 and doc["recipe_source"] == "embedded"
    assert main(["verify", str(tmp_path / "missing.png")]) == 2
