"""Fixtures for the training panels' tests: toy plugins visible here and in child trainers, a project
with tiny datasets, a context whose child trainers are reaped after each test."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.fixtures.plugin_dist import child_env, install_in_process, write_plugin_distribution
from tests.fixtures.toy_plugins import data as toy_data

#: engine settings that keep a GUI test run fast and quiet
FAST = {"threads": 1, "val_every": 0, "checkpoint_minutes": 0}


@pytest.fixture
def toys(tmp_path, monkeypatch):
    import torch

    torch.set_num_threads(1)
    folder = write_plugin_distribution(tmp_path / "site")
    install_in_process(monkeypatch, folder)
    yield child_env(folder)
    from studio.core.plugins import registry
    registry.discover(refresh=True)


@pytest.fixture
def project(tmp_path):
    from studio.core.project import Project

    proj = Project.create(tmp_path / "proj", "Test project")
    # ``accepted`` as the importer writes it (a list of files): the Datasets panel reads it
    extra = {"accepted": []}
    proj.add_dataset(toy_data.write_dataset(proj.datasets_dir / "blobs", toy_data.image_spec(),
                                            toy_data.image_tensors(), "toy-image", extra))
    proj.add_dataset(toy_data.write_dataset(proj.datasets_dir / "fox", toy_data.text_spec(),
                                            toy_data.text_tensors(), "toy-text", extra))
    proj.save()
    return proj


@pytest.fixture(autouse=True)
def no_modal_dialogs(monkeypatch):
    """A warning box would block a test forever: record it instead, and fail the test at the end."""
    from PySide6.QtWidgets import QMessageBox

    seen: list[str] = []

    def record(_parent, title, text, *a, **k):
        seen.append(f"{title}: {text}")
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", record)
    monkeypatch.setattr(QMessageBox, "information", record)
    yield seen
    assert not seen, f"unexpected message boxes: {seen}"


@pytest.fixture
def train_ctx(qtbot, toys, project):
    """A studio context with the toy plugins discovered and the project open; children killed at the end."""
    from studio.core.plugins.registry import discover
    from studio.ui.context import StudioContext
    from studio.ui.panels.train_processes import training_processes

    ctx = StudioContext(project=project)
    ctx.set_plugins(discover())
    procs = training_processes(ctx)
    procs.env = toys
    yield ctx
    for proc in list(procs.procs.values()):
        if proc.running:
            proc.kill()
            proc.wait(timeout=20)


def write_fake_run(folder: Path, status: str = "done", reason: str = "", steps: int = 0, pid: int | None = None,
                   metrics: dict | None = None, plugin: str = "toy-image") -> Path:
    """A run folder as the engine writes it (run.json + metrics.sqlite), without training."""
    from studio.core.training.metrics import MetricsWriter

    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    run = {"id": folder.name, "plugin": {"id": plugin, "version": "0.1"}, "config": {}, "engine": {},
           "status": status, "reason": reason, "step": steps, "max_steps": steps or 100, "created": now,
           "updated": now, "pid": pid, "device": "cpu"}
    (folder / "run.json").write_text(json.dumps(run))
    w = MetricsWriter(folder)
    for step in range(1, steps + 1):
        w.log(step, {k: f(step) for k, f in (metrics or {}).items()}, when=now + step)
    w.close()
    return folder


def wait_for(qtbot, condition, timeout: float = 60.0, what: str = "") -> None:
    """``qtbot.waitUntil`` with a readable failure naming what was awaited."""
    try:
        qtbot.waitUntil(condition, timeout=int(timeout * 1000))
    except AssertionError as exc:
        raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}") from exc
