"""Sharing: `studio interpolate --share` (and a project's "share_exports" setting) leave local paths out
of the recipes of the exported files, keeping run id, checkpoint digest, seed and settings; without it,
the recipe still says where the run is."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from studio.cli import main
from studio.core.export.provenance import sharing
from studio.core.export.read import read_provenance

torch.set_num_threads(1)
IMAGE_SPEC = {"modality": "image", "image_size": 32, "channels": 1}


def _untrained_vae(folder: Path) -> Path:
    from studio.core.plugins.api import DataSpec, config_from_dict, config_to_dict
    from studio.core.plugins.registry import get_plugin
    from studio.core.training.checkpoints import save_checkpoint
    from studio.core.training.state import model_tensors

    plugin = get_plugin("vae")
    config = config_from_dict(plugin.Config, {"latent_size": 4, "width": 8})
    spec = DataSpec(**IMAGE_SPEC)
    torch.manual_seed(0)
    model = plugin.build(config, spec)
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"id": "walk-run", "plugin": {"id": plugin.id}, "status": "done",
                                                 "step": 1}))
    save_checkpoint(folder / "checkpoints", 1, model_tensors(model.eval()),
                    {"plugin": {"id": plugin.id, "version": plugin.version}, "config": config_to_dict(config),
                     "data_spec": spec.to_dict()})
    return folder


def _walk(run: Path, out: Path, *extra) -> dict:
    assert main(["interpolate", "--run", str(run), "--out", str(out), "--steps", "3", "--from", "4", "--to", "5",
                 *extra]) == 0
    assert not sharing()  # the setting does not outlive the command
    recipe = read_provenance(out)
    assert recipe is not None and recipe["disclosure"] == "AI-generated"
    return recipe


@pytest.fixture
def project_run(tmp_path):
    proj = tmp_path / "My project"
    proj.mkdir()
    (proj / "project.json").write_text(json.dumps({"name": "p", "datasets": [], "runs": ["runs/walk-run"]}))
    return proj, _untrained_vae(proj / "runs" / "walk-run")


def test_share_leaves_local_paths_out_but_keeps_what_restores_the_walk(project_run, tmp_path):
    _proj, run = project_run
    plain = _walk(run, tmp_path / "plain.png")
    assert str(run) in json.dumps(plain)  # by default the recipe says where the run is

    shared = _walk(run, tmp_path / "shared.png", "--share")
    text = json.dumps(shared)
    assert str(tmp_path) not in text and "/" not in json.dumps(shared.get("run", {}))
    assert shared["shared"] is True
    assert shared["run"]["id"] == plain["run"]["id"] == "walk-run"
    assert shared["checkpoint"]["sha256"] == plain["checkpoint"]["sha256"] and len(shared["checkpoint"]["sha256"]) == 64
    # everything but the paths is the same: seeds, steps, method, vectors
    def without_paths(recipe):
        out = json.loads(json.dumps(recipe))
        out["run"].pop("path", None)
        out["checkpoint"].pop("path", None)
        out.pop("shared", None)
        return out
    assert without_paths(shared) == without_paths(plain)


def test_the_project_setting_shares_without_the_flag(project_run, tmp_path):
    proj, run = project_run
    data = json.loads((proj / "project.json").read_text())
    (proj / "project.json").write_text(json.dumps({**data, "share_exports": True}))
    shared = _walk(run, tmp_path / "walk.png")
    assert shared["shared"] is True and str(tmp_path) not in json.dumps(shared)


def test_generate_share_leaves_local_paths_out_of_each_file(project_run, tmp_path):
    _, run = project_run
    out = tmp_path / "shared"
    assert main(["generate", "--run", str(run), "--out", str(out), "--n", "2", "--share"]) == 0
    assert not sharing()
    files = sorted(out.glob("*.png"))
    assert len(files) == 2
    for f in files:
        recipe = read_provenance(f)
        assert recipe["shared"] is True and str(tmp_path) not in json.dumps(recipe)
        assert recipe["run"]["id"] == "walk-run" and len(recipe["checkpoint"]["sha256"]) == 64
    plain = tmp_path / "plain.png"
    assert main(["generate", "--run", str(run), "--out", str(plain)]) == 0
    assert str(run) in json.dumps(read_provenance(plain))  # without --share the recipe says where the run is


@pytest.mark.parametrize("flag, value, words", [("--n", "0", "between 1 and"), ("--n", "99999999", "between 1 and"),
                                                ("--seed", str(2**64), "2**63-1"), ("--bpm", "1e-9", "20 and 400"),
                                                ("--bpm", "nan", "finite")])
def test_generate_refuses_absurd_numbers_in_words(project_run, tmp_path, capsys, flag, value, words):
    _, run = project_run
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--run", str(run), "--out", str(tmp_path / "x.png"), flag, value])
    assert exc.value.code == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
