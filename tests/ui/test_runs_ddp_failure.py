"""Runs panel: a torchrun run whose rank 0 vanished shows the process that failed and why."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from studio.core.training import rank_failures
from tests.ui.train_helpers import (no_modal_dialogs, project, toys, train_ctx,  # noqa: F401 - fixtures
                                    write_fake_run)

pytestmark = pytest.mark.timeout(120)


def test_runs_panel_names_the_failed_rank_not_trainer_gone(qtbot, train_ctx):
    from studio.ui.panels.runs import RunsPanel

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    proj = train_ctx.project
    run = write_fake_run(proj.runs_dir / "ddp", "running", steps=3, pid=dead.pid)
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, "world_size": 2}))
    rank_failures.record(run, 1, 3, "step 3: ValueError: bad batch on purpose", ValueError("bad batch on purpose"))
    proj.add_run(run)
    proj.save()
    rp = RunsPanel(train_ctx)
    qtbot.addWidget(rp)
    train_ctx.project_changed.emit()
    rp.refresh()
    cell = rp.table.item(0, 2)
    assert cell.text() == "failed: rank 1 failed: step 3: ValueError: bad batch on purpose"
    assert "rank 1 failed" in cell.toolTip()
    rp.shutdown()
