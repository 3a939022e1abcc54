"""The demo project: shipped runs are installed, load with load_model and generate; edits stick; locks are respected."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.core.demo import (DATASET_NAMES, DemoRun, add_demo_datasets, demo_run_for, ensure_demo_project,
                              import_demo_datasets, shipped_runs, shipped_runs_dir)
from studio.core.project import Project
from tests.fixtures.threads import one_torch_thread  # noqa: F401 - autouse: torch at one thread

MODALITIES = {"image", "melody", "text"}


@pytest.fixture(scope="module")
def runs():
    found = shipped_runs()
    assert found, f"no demo runs in {shipped_runs_dir()}: run `make demo-models` and commit studio/resources/demo/runs"
    return found


def test_shipped_runs_cover_every_modality_and_stay_small(runs):
    assert {r.modality for r in runs} == MODALITIES
    total = sum(p.stat().st_size for r in runs for p in r.folder.rglob("*") if p.is_file())
    assert total < 30 * 2**20, f"demo runs weigh {total / 2**20:.1f} MiB; the limit is 30 MB together"
    for r in runs:
        ckpts = list((r.folder / "checkpoints").glob("step-*.safetensors"))
        assert len(ckpts) == 1, f"{r.folder}: ship exactly one checkpoint, found {len(ckpts)}"
        run_json = json.loads((r.folder / "run.json").read_text())
        assert run_json["status"] == "done" and run_json["plugin"]["id"] == r.plugin


def test_demo_project_runs_load_and_generate(tmp_path, runs):
    import torch

    from studio.core.training.checkpoints import load_model

    project = ensure_demo_project(tmp_path / "demo")
    assert project.name == "Demo project"
    assert (tmp_path / "demo" / "project.json").exists()
    assert not (tmp_path / "demo" / "project.lock").exists(), "the lock must be released"
    assert sorted(Path(ref).name for ref in project.runs) == sorted(r.name for r in runs)
    for r in runs:
        ref = f"runs/{r.name}"
        assert project.label(ref) == r.label
    image_run, melody_run, text_run = (demo_run_for(project, m) for m in ("image", "melody", "text"))

    model, plugin, info = load_model(image_run)
    assert plugin.modality == "image" and info.step > 0
    imgs = model.sample(4, seed=1)
    assert imgs.shape[0] == 4 and imgs.dim() == 4 and 0.0 <= float(imgs.min()) <= float(imgs.max()) <= 1.0
    assert float(imgs.std()) > 0.01, "the demo image model draws flat pictures"
    grid = model.decode(torch.zeros(2, model.latent_dim))
    assert grid.shape[1:] == imgs.shape[1:]

    model, plugin, _ = load_model(melody_run)
    assert plugin.modality == "melody" and "latent" in plugin.capabilities
    tunes = model.sample(3, seed=2)
    assert tunes.dtype == torch.long and tunes.shape[0] == 3
    notes = (tunes >= 2).sum().item()  # note-on events (REST=0, HOLD=1)
    assert notes >= 3, f"the demo melody model writes silence ({tunes.tolist()})"

    model, plugin, _ = load_model(text_run)
    assert plugin.modality == "text" and "continue" in plugin.capabilities
    text = model.sample(1, seed=3, length=120)[0]
    assert len(text) >= 100
    letters = sum(c.isalpha() for c in text) / len(text)
    assert letters > 0.5, f"the demo text model writes noise: {text!r}"


def test_second_call_writes_nothing_and_deletes_stick(tmp_path, runs):
    folder = tmp_path / "demo"
    ensure_demo_project(folder)
    pj = folder / "project.json"
    before = pj.read_text()
    mtime = pj.stat().st_mtime_ns
    ensure_demo_project(folder)
    assert pj.stat().st_mtime_ns == mtime and pj.read_text() == before

    # The user removes one demo run: it must not come back on the next start.
    gone = runs[0].name
    proj = Project.open(folder)
    proj.runs = [r for r in proj.runs if Path(r).name != gone]
    proj.save()
    again = ensure_demo_project(folder)
    assert gone not in {Path(r).name for r in again.runs}


def test_locked_demo_is_left_alone(tmp_path, runs):
    from studio.core.project_store import ProjectSession

    folder = tmp_path / "demo"
    Project.create(folder, "Demo project")  # an older demo without runs...
    session = ProjectSession.open(folder)  # ...open in another studio window
    try:
        project = ensure_demo_project(folder)
        assert project.runs == []  # nothing written behind the other window's back
        assert not list((folder / "runs").iterdir())
    finally:
        session.close()
    assert len(ensure_demo_project(folder).runs) == len(runs)  # topped up once it is free


def test_demo_datasets_import_and_link_runs(tmp_path, runs):
    folder = tmp_path / "demo"
    ensure_demo_project(folder)
    image = next(r for r in runs if r.modality == "image")
    text = next(r for r in runs if r.modality == "text")
    small = [DemoRun(image.name, image.label, image.plugin, "image", image.folder,
                     {**image.import_options, "n": 24, "workers": 1, "executor": "inline"}),
             DemoRun(text.name, text.label, text.plugin, "text", text.folder, {})]
    made = import_demo_datasets(folder, small)
    assert set(made) == {"image", "text"}
    for modality, path in made.items():
        assert path == folder / "datasets" / DATASET_NAMES[modality]
        assert (path / "manifest.json").exists()
    linked = json.loads((folder / "runs" / image.name / "run.json").read_text())["dataset"]
    assert Path(linked["path"]) == made["image"].resolve() and linked["fingerprint"]

    proj = Project.open(folder)
    assert sorted(add_demo_datasets(proj, made)) == ["datasets/demo-shakespeare", "datasets/demo-shapes"]
    assert add_demo_datasets(proj, made) == []  # once only
    proj.save()
    assert len(Project.open(folder).datasets) == 2


def test_import_commands_are_valid_cli_calls(tmp_path, runs):
    """The window imports demo datasets with `studio import demo-…`; every shipped option must be a real flag."""
    from studio.cli import build_parser
    from studio.core.demo import import_command, pending_dataset_imports

    pending = pending_dataset_imports(tmp_path, runs)
    assert sorted(r.modality for r, _ in pending) == sorted(MODALITIES)
    parser = build_parser()
    for run, out in pending:
        cmd = import_command(run, out, "python")
        assert cmd[:3] == ["python", "-m", "studio"]
        args = parser.parse_args(cmd[3:])
        assert args.command == "import" and args.out == str(out)
        for key, value in run.import_options.items():
            assert str(getattr(args, key)) == str(value)


def test_each_explorer_panel_opens_its_own_demo_run(tmp_path, runs):
    """Two melody demos ship: the RNN (continues a primer) opens in Melody, whatever the index order."""
    from studio.core.demo import demo_run_for

    project = ensure_demo_project(tmp_path / "demo")
    assert demo_run_for(project, "melody", "melody").name == "folk-melody-rnn"
    assert demo_run_for(project, "image", "latent").name == "shapes-vae"
    assert demo_run_for(project, "text", "text").name == "shakespeare-gpt"
    assert demo_run_for(project, "melody").name in {"folk-melody-vae", "folk-melody-rnn"}
    by_name = {r.name: r for r in runs}
    # the demo project imports a quick subset of Essen for the user; the model saw all of it
    assert by_name["folk-melody-rnn"].import_options == {"n": 240, "phrase_bars": 4}
