"""Runs panel: a run handed to Slurm (`studio train --submit`) shows where its job stands."""
from __future__ import annotations

import json
import os
import time

import pytest

from tests.ui.train_helpers import (no_modal_dialogs, project, toys, train_ctx,  # noqa: F401 - fixtures
                                    write_fake_run)

pytestmark = pytest.mark.timeout(120)


def _set(run, status, **submission):
    info = json.loads((run / "run.json").read_text())
    info.update(status=status, updated=time.time() + len(submission), pid=os.getpid(),
                submission={"backend": "slurm", "job_id": "4242", "token": "t", **submission})
    (run / "run.json").write_text(json.dumps(info))


def test_runs_panel_follows_a_submitted_job(qtbot, train_ctx):
    from studio.ui.panels.runs import RunsPanel

    proj = train_ctx.project
    run = write_fake_run(proj.runs_dir / "cluster", "created")
    _set(run, "created", state="queued")
    proj.add_run(run)
    proj.save()
    rp = RunsPanel(train_ctx)
    qtbot.addWidget(rp)
    train_ctx.project_changed.emit()
    rp.refresh()
    assert rp.table.item(0, 2).text() == "queued (slurm job 4242)"
    _set(run, "running", state="running", host="node-7")
    rp.refresh()
    assert rp.table.item(0, 2).text() == "running on host node-7 (slurm job 4242)"
    _set(run, "done", state="ended", host="node-7")
    rp.refresh()
    assert rp.table.item(0, 2).text() == "done"
    assert "ran on host node-7 (slurm job 4242)" in rp.table.item(0, 2).toolTip()
    rp.shutdown()
