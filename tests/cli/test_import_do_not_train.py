"""Importing files whose Content Credentials (C2PA) say no to AI training: skipped with that reason,
or included when the user says so, a choice the dataset remembers; other stated preferences are noted."""
from __future__ import annotations

import json

import pytest

from studio.cli import main
from tests.fixtures.training_opt_out import picture as _picture, with_training_use as _with_training_use

c2pa = pytest.importorskip("c2pa", reason="c2pa-python is a dependency (pyproject.toml)")


def _import(src, out, capsys, *extra) -> dict:
    capsys.readouterr()
    assert main(["import", "images", str(src), "--out", str(out), "--size", "16", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_do_not_train_files_are_skipped_or_included_by_choice(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    src = tmp_path / "pictures"
    src.mkdir()
    for i in range(4):
        (src / f"plain{i}.png").write_bytes(_picture(i))
    (src / "no-training.png").write_bytes(_with_training_use(_picture(10), "notAllowed"))
    (src / "ok-training.png").write_bytes(_with_training_use(_picture(11), "allowed"))
    ds = tmp_path / "ds"

    doc = _import(src, ds, capsys)
    assert doc["accepted"] == 5
    [skip] = doc["skipped"]
    assert skip["path"].endswith("no-training.png") and "AI training is not allowed" in skip["reason"]
    assert "--do-not-train include" in skip["reason"]
    notes = {w["path"].rsplit("/", 1)[-1]: w["message"] for w in doc["warnings"]}
    assert "allow AI training" in notes["ok-training.png"]

    doc = _import(src, ds, capsys, "--do-not-train", "include")
    assert doc["accepted"] == 6 and not doc["skipped"]
    notes = {w["path"].rsplit("/", 1)[-1]: w["message"] for w in doc["warnings"]}
    assert "because you chose to include" in notes["no-training.png"]
    manifest = json.loads((ds / "manifest.json").read_text())
    assert manifest["settings"]["training_opt_outs"] == "include"

    # the dataset remembers the choice: a plain re-import keeps the file
    (src / "plain9.png").write_bytes(_picture(9))
    assert _import(src, ds, capsys)["accepted"] == 7
    # and the user can take it back
    doc = _import(src, ds, capsys, "--do-not-train", "skip")
    assert doc["accepted"] == 6 and len(doc["skipped"]) == 1
    assert "training_opt_outs" not in json.loads((ds / "manifest.json").read_text())["settings"]
