"""Runs panel: a run handed to Slurm (`studio train --submit`) shows where its job stands."""
from __future__ import annotations

import json
import os
import time

import pytest

from tests.ui.screens import save_widget
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


def test_cancel_job_from_the_runs_panel(qtbot, train_ctx, monkeypatch):
    """A queued job (here a local job: a real process standing in for it) is cancelled from the window:
    the process gets SIGTERM, the run becomes "stopped" with the reason, and the button goes away."""
    import subprocess
    import sys

    from PySide6.QtWidgets import QMessageBox

    from studio.ui.panels.runs import RunsPanel

    proj = train_ctx.project
    job = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run = write_fake_run(proj.runs_dir / "queued", "created")
        _set(run, "created", state="queued")
        info = json.loads((run / "run.json").read_text())
        info["submission"].update(backend="local", job_id=str(job.pid))
        (run / "run.json").write_text(json.dumps(info))
        plain = write_fake_run(proj.runs_dir / "plain", "running")
        for r in (run, plain):
            proj.add_run(r)
        proj.save()
        rp = RunsPanel(train_ctx)
        qtbot.addWidget(rp)
        rp.show()
        train_ctx.project_changed.emit()
        rp.select([plain])
        assert rp.cancel_btn.isHidden()            # a local run has no job to cancel
        rp.select([run])
        assert not rp.cancel_btn.isHidden() and rp.cancel_btn.isEnabled()
        rp.resize(1000, 260)
        save_widget(rp, "runs_panel_cancel_job")
        asked: list[str] = []
        monkeypatch.setattr(QMessageBox, "question",
                            lambda _p, _t, text, *a, **k: asked.append(text) or QMessageBox.StandardButton.Yes)
        rp.cancel_btn.click()
        assert asked and "queued" in asked[0]
        qtbot.waitUntil(lambda: json.loads((run / "run.json").read_text())["status"] == "stopped", timeout=20_000)
        assert job.wait(10) is not None                # the job's process got SIGTERM
        qtbot.waitUntil(lambda: rp.table.item(rp.rows.index(run), 2).text().startswith("stopped"), timeout=10_000)
        assert "cancelled (local job" in json.loads((run / "run.json").read_text())["reason"]
        assert not rp.cancel_btn.isEnabled()
        rp.shutdown()
    finally:
        job.kill()
