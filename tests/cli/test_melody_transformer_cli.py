"""A user imports a folder of jigs, trains melody-transformer from the command line (early stopping on by default)
and writes a generated melody to MIDI."""
from __future__ import annotations

import json

import mido

from studio.cli import main
from tests.plugins.melody_fixtures import JIGS


def cli(*argv) -> int:
    return main([str(a) for a in argv])


def test_import_train_generate_with_the_transformer(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "tunes").mkdir()
    (tmp_path / "tunes" / "jigs.abc").write_text(JIGS)
    assert cli("import", "music", tmp_path / "tunes", "--out", tmp_path / "ds", "--quiet") == 0
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["time_signature"] == "6/8"
    capsys.readouterr()
    assert cli("train", "--plugin", "melody-transformer", "--data", tmp_path / "ds", "--out", tmp_path / "run",
               "--steps", 12, "--set", "width=32", "--set", "layers=1", "--set", "batch_size=4",
               "--set", "val_every=4", "--json") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(e.get("event") == "validation" for e in events)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["engine"]["early_stopping"] == 10  # the plugin's default: stop when held-out loss stalls
    out = tmp_path / "tune.mid"
    assert cli("generate", "--run", tmp_path / "run", "--length", 48, "--seed", 1, "--format", "mid",
               "--out", out) == 0
    notes = [m for m in mido.MidiFile(out).tracks[0] if m.type == "note_on" and m.velocity > 0]
    assert len(notes) >= 4
