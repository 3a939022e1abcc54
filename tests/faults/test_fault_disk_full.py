"""Fault 6: ENOSPC while saving the project, writing a checkpoint and exporting, on a real full tmpfs
(where this process may mount one) and injected at the write layer: a clear "no space left on device",
nothing older lost, no temp files left."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.scenario_disk import (can_mount_tmpfs, checkpoint_on_full_disk, disk, export_on_full_disk,
                                        project_on_full_disk)
from tests.fixtures.plugin_dist import install_in_process, write_plugin_distribution

pytestmark = pytest.mark.timeout(180)
_TMPFS_OK: bool | None = None


def _mode(request, tmp_path) -> str:
    global _TMPFS_OK
    if request.param == "tmpfs":
        if _TMPFS_OK is None:
            _TMPFS_OK = can_mount_tmpfs(tmp_path / "probe")
        if not _TMPFS_OK:
            pytest.skip("mounting a tmpfs is not permitted here (needs root); the injected variant covers ENOSPC")
    return request.param


@pytest.fixture(params=["tmpfs", "injected"])
def full_disk(request, tmp_path, monkeypatch):
    import torch

    torch.set_num_threads(1)
    mode = _mode(request, tmp_path)
    with disk(tmp_path / "small", mode, monkeypatch) as d:
        yield d


@pytest.fixture
def toy_run(tmp_path, monkeypatch) -> Path:
    from studio.core.training.engine import train
    from tests.fixtures.toy_plugins import data as toy_data

    install_in_process(monkeypatch, write_plugin_distribution(tmp_path / "site"))
    run = tmp_path / "toy-run"
    train("toy-image", toy_data.image_data(), run, steps=3,
          settings={"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_every": 3})
    return run


def test_project_save_and_autosave_on_a_full_disk(full_disk):
    assert project_on_full_disk(full_disk) == []


def test_checkpoint_on_a_full_disk(full_disk):
    assert checkpoint_on_full_disk(full_disk) == []


def test_export_on_a_full_disk(full_disk, toy_run, capsys):
    assert export_on_full_disk(full_disk, toy_run, capsys) == []
