"""`studio generate` and `studio export-onnx` on tiny real runs: files, recipes, determinism, round trip."""
from __future__ import annotations

import json
from pathlib import Path

import mido
import numpy as np
import pytest
import torch
from PIL import Image

from studio.cli import main
from studio.core.export import read_provenance, restore_spec
from tests.fixtures.session_runs import untrained_run

torch.set_num_threads(1)
pytest.importorskip("studio.core.training.checkpoints", reason="the engine's load_model is not there yet")

@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    return {pid: untrained_run(base / pid, pid) for pid in ("vae", "char-rnn", "melody-rnn")}


def cli(*argv) -> int:
    return main([str(a) for a in argv])


def test_image_folder_round_trip_and_determinism(runs, tmp_path, capsys, monkeypatch):
    out = tmp_path / "imgs"
    assert cli("generate", "--run", runs["vae"], "--out", out, "--n", 3, "--seed", 5, "--temperature", 0.7,
               "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    files = [Path(f) for f in doc["files"]]
    assert [f.name for f in files] == [f"vae-run-vae-5-{i}.png" for i in range(3)]
    recipe = read_provenance(files[2])
    assert recipe["disclosure"] == "AI-generated" and recipe["checkpoint"]["sha256"] == doc["checkpoint_sha256"]
    spec = restore_spec(recipe)
    assert (spec["plugin"], spec["seed"], spec["n"], spec["index"]) == ("vae", 5, 3, 2)
    assert spec["sampling"] == {"temperature": 0.7} and len(spec["vector"]) == 4
    # restoring: the recorded vector decodes to the stored pixels
    from studio.core.training.checkpoints import load_model
    model, _, _ = load_model(runs["vae"])
    z = torch.tensor(spec["vector"])  # the vector the picture was decoded from (temperature included)
    want = (model.decode(z[None])[0, 0].numpy() * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(np.asarray(Image.open(files[2])), want)
    # same seed -> same pictures and recipes; refusing to overwrite; --overwrite replaces
    again = tmp_path / "again"
    assert cli("generate", "--run", runs["vae"], "--out", again, "--n", 3, "--seed", 5, "--temperature", 0.7) == 0
    # (the pixels and recipe: each Content Credentials signature is new, so the signed bytes differ;
    # with STUDIO_CONTENT_CREDENTIALS=off the bytes are identical, see test_content_credentials.py)
    def content(p):
        return np.asarray(Image.open(p)).tobytes(), read_provenance(p)
    assert [content(p) for p in files] == [content(again / p.name) for p in files]
    assert cli("generate", "--run", runs["vae"], "--out", out, "--n", 3, "--seed", 5) == 3
    assert "already exists" in capsys.readouterr().err
    assert cli("generate", "--run", runs["vae"], "--out", out, "--n", 3, "--seed", 6, "--overwrite") == 0


def test_single_file_formats_grid_and_privacy(runs, tmp_path, capsys):
    jpg = tmp_path / "one.jpg"
    assert cli("generate", "--run", runs["vae"], "--out", jpg, "--no-vector") == 0
    recipe = read_provenance(jpg)
    assert recipe["privacy"] and "vector" not in recipe and "path" not in recipe["run"]
    assert recipe["disclosure"] == "AI-generated"
    sheet = tmp_path / "sheet.png"
    assert cli("generate", "--run", runs["vae"], "--out", sheet, "--n", 4, "--grid") == 0
    assert Image.open(sheet).size[0] > 2 * 32 and read_provenance(sheet)["frames"] == 4
    gif = tmp_path / "all.gif"
    assert cli("generate", "--run", runs["vae"], "--out", gif, "--n", 3) == 0
    assert Image.open(gif).n_frames >= 2
    assert cli("generate", "--run", runs["vae"], "--out", tmp_path / "x.png", "--n", 2) == 2
    assert "give a folder" in capsys.readouterr().err
    assert cli("generate", "--run", runs["vae"], "--out", tmp_path / "x.mid") == 2
    assert "image models write" in capsys.readouterr().err


def test_text_starts_with_prime_and_is_deterministic(runs, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    for path in (a, b):
        assert cli("generate", "--run", runs["char-rnn"], "--out", path, "--prime", "to be", "--length", 40,
                   "--seed", 3, "--top-k", 5) == 0
    assert a.read_bytes() == b.read_bytes()
    content = a.read_text()
    assert content.startswith("to be") and "AI-generated" in content
    recipe = read_provenance(a)
    assert recipe["sampling"] == {"top_k": 5, "length": 40, "prime": "to be"} and recipe["seed"] == 3
    from studio.core.export.text import split_text
    assert len(split_text(content)[0]) == len("to be") + 40


def test_melody_midi_and_wav(runs, tmp_path):
    out = tmp_path / "mel"
    assert cli("generate", "--run", runs["melody-rnn"], "--out", out, "--n", 2, "--length", 32, "--seed", 1) == 0
    mids = sorted(out.glob("*.mid"))
    assert len(mids) == 2
    mid = mido.MidiFile(mids[0])
    texts = [m.text for m in mid.tracks[0] if m.is_meta and m.type == "text"]
    assert json.loads(texts[0].split(":", 1)[1])["batch"] == {"n": 2, "index": 0}
    wav = tmp_path / "m.wav"
    assert cli("generate", "--run", runs["melody-rnn"], "--out", wav, "--length", 16, "--seed", 1) == 0
    recipe = read_provenance(wav)
    assert recipe["plugin"]["id"] == "melody-rnn" and recipe["bpm"] == 120.0


def test_export_onnx_cli_with_int8(runs, tmp_path, capsys):
    out = tmp_path / "vae.onnx"
    assert cli("export-onnx", "--run", runs["vae"], "--out", out, "--quantize", "int8", "--exporter", "legacy",
               "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    [exp] = doc["exports"]
    assert exp["max_error"] <= 1e-4 and Path(exp["path"]) == out.with_name("vae.fp32.onnx")
    [q] = doc["quantized"]
    assert Path(q["int8_path"]).is_file() and q["max_abs_error"] < 0.1
    from studio.core.export.onnx_export import read_metadata
    meta = read_metadata(out)
    prov = json.loads(meta["studio.provenance"])
    assert meta["studio.plugin.id"] == "vae" and prov["run"]["id"] == "run-vae" and len(prov["checkpoint"]["sha256"]) == 64
    assert cli("export-onnx", "--run", runs["vae"], "--out", out) == 3  # no silent overwrite


def test_melody_prime_from_midi_file_and_missing_run(runs, tmp_path, capsys):
    from studio.core.audio.midi import midi_to_events, save_midi

    prime = [2 + 12, 1, 2 + 16, 1]  # E4, G#4 with min pitch 48
    save_midi(prime, tmp_path / "prime.mid", min_pitch=48)
    out = tmp_path / "cont.mid"
    assert cli("generate", "--run", runs["melody-rnn"], "--out", out, "--prime", tmp_path / "prime.mid",
               "--length", 8) == 0
    events = midi_to_events(out, 48, 84)
    assert events[:3] == [2 + 12, 1, 2 + 16]  # the file continues the prime
    assert read_provenance(out)["sampling"]["prime_events"][:3] == prime[:3]
    assert cli("generate", "--run", tmp_path / "nope", "--out", tmp_path / "x") == 2
    assert "nope" in capsys.readouterr().err
