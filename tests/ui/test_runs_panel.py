"""Runs panel driven like a user: statuses with reasons, attach a folder a headless `studio train`
is writing and follow it live, compare runs (curves + samples side by side), resume, delete to trash."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from studio.core.training.run_folder import read_run
from tests.ui.screens import save_widget
from tests.ui.train_helpers import (no_modal_dialogs, project, toys, train_ctx, wait_for,  # noqa: F401 - fixtures
                                    write_fake_run)

pytestmark = pytest.mark.timeout(200)


@pytest.fixture
def panels(qtbot, train_ctx):
    from studio.ui.panels.loss_plot import LossPlotPanel
    from studio.ui.panels.runs import RunsPanel
    from studio.ui.panels.training import TrainingPanel

    rp, tp, lp = RunsPanel(train_ctx), TrainingPanel(train_ctx), LossPlotPanel(train_ctx)
    for w in (rp, tp, lp):
        qtbot.addWidget(w)
        w.resize(1000, 380)
        w.show()
    yield rp, tp, lp
    rp.shutdown()
    lp.shutdown()
    tp.watcher.stop()


def row_of(rp, name):
    for r in range(rp.table.rowCount()):
        if rp.table.item(r, 0).text() == name:
            return r
    raise AssertionError(f"no row {name}: {[rp.table.item(r, 0).text() for r in range(rp.table.rowCount())]}")


def test_statuses_compare_and_delete(qtbot, train_ctx, panels, monkeypatch):
    rp, _tp, lp = panels
    proj = train_ctx.project
    loss = {"loss": lambda s: 1.0 / s}
    a = write_fake_run(proj.runs_dir / "a-done", "done", steps=30, metrics=loss)
    b = write_fake_run(proj.runs_dir / "b-failed", "failed", "step 7: loss became nan; training stopped", steps=7,
                       metrics=loss)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    c = write_fake_run(proj.runs_dir / "c-vanished", "running", steps=3, pid=dead.pid, metrics=loss)
    (a / "samples").mkdir()
    from PIL import Image
    Image.new("RGB", (16, 16), (200, 30, 30)).save(a / "samples" / "step-00000030.png")
    from studio.core.training.metrics import MetricsWriter
    w = MetricsWriter(a)
    w.add_preview(30, "image", "samples/step-00000030.png")
    w.close()
    for f in (a, b, c):
        proj.add_run(f)
    proj.save()
    train_ctx.project_changed.emit()
    assert rp.table.rowCount() == 3
    assert rp.table.item(row_of(rp, "a-done"), 2).text() == "done"
    assert "loss became nan" in rp.table.item(row_of(rp, "b-failed"), 2).text()
    assert "ended unexpectedly" in rp.table.item(row_of(rp, "c-vanished"), 2).text()  # running, trainer gone
    from studio.ui.panels.runs import COLUMNS
    assert rp.table.item(row_of(rp, "a-done"), COLUMNS.index("Step")).text() == "30 / 30"

    compared = []
    train_ctx.runs_compared.connect(compared.append)
    rp.select([a, b])
    assert compared and {os.path.basename(p) for p in compared[-1]} == {"a-done", "b-failed"}
    assert len(lp.runs) == 2
    assert len(rp._previews) == 2
    prev_a = rp._previews[str(a.resolve())]
    assert prev_a.step == 30 and prev_a.stack.currentWidget() is prev_a.image
    save_widget(rp, "runs_panel")

    # delete b (after confirming): moved to the project's trash, gone from the list
    rp.select([b])
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda _p, _t, text, *a, **k: asked.append(text)
                        or QMessageBox.StandardButton.Yes)
    assert rp.delete_btn.isEnabled()
    qtbot.mouseClick(rp.delete_btn, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and "b-failed" in asked[0]  # the button asks first (it once passed confirm=False)
    assert not b.exists() and any("b-failed" in p.name for p in proj.trash_dir.iterdir())
    assert "runs/b-failed" not in proj.runs and rp.table.rowCount() == 2


def test_attach_a_headless_run_follow_it_and_resume(qtbot, train_ctx, panels, toys, monkeypatch):
    rp, tp, lp = panels
    run_dir = train_ctx.project.folder.parent / "elsewhere" / "headless"
    cmd = [sys.executable, "-m", "studio", "train", "--plugin", "toy-image",
           "--data", str(train_ctx.project.datasets_dir / "blobs"), "--out", str(run_dir), "--steps", "150",
           "--set", "step_sleep=0.02", "--set", "threads=1", "--set", "val_every=0", "--set", "sample_every=25",
           "--set", "checkpoint_every=50"]
    headless = subprocess.Popen(cmd, env=toys, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(qtbot, lambda: (run_dir / "run.json").exists(), 90, "the headless run to create its folder")
        assert rp.attach(run_dir)
        assert str(run_dir.resolve()) in {str(train_ctx.project.resolve(r).resolve()) for r in train_ctx.project.runs}
        # attaching selects it: the Training panel and the Loss plot follow it live
        wait_for(qtbot, lambda: tp.state is not None and tp.state.state == "running", 30, "the run shown running")
        assert not tp.state.own and tp.state.live and tp.pause_btn.isEnabled()
        assert "Training" in rp.table.item(row_of(rp, "headless"), 2).text() or \
            rp.table.item(row_of(rp, "headless"), 2).text().startswith("running")
        key = next(iter(lp.runs))
        wait_for(qtbot, lambda: len(lp.runs[key].series.get("loss", [])) > 10, 30, "curves from the headless run")
        n = len(lp.runs[key].series["loss"])
        wait_for(qtbot, lambda: len(lp.runs[key].series["loss"]) > n + 10, 30, "the curves to grow")
        wait_for(qtbot, lambda: tp.preview.step is not None, 30, "a sample preview")
        # control reaches a trainer the studio did not start, through its run folder
        qtbot.mouseClick(tp.pause_btn, Qt.MouseButton.LeftButton)
        wait_for(qtbot, lambda: tp.state.state == "paused", 20, "the headless run paused")
        qtbot.mouseClick(tp.resume_btn, Qt.MouseButton.LeftButton)
        wait_for(qtbot, lambda: tp.state.state == "done", 90, "the headless run to finish")
        assert headless.wait(timeout=30) == 0, headless.stderr.read()[-2000:]
    finally:
        if headless.poll() is None:
            headless.kill()
    rp.refresh()
    assert rp.table.item(row_of(rp, "headless"), 2).text() == "done"

    # resume a done run for more steps, from the panel
    rp.select([run_dir])
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (180, True))
    assert rp.resume_btn.isEnabled()
    qtbot.mouseClick(rp.resume_btn, Qt.MouseButton.LeftButton)
    proc = rp.procs.get(run_dir)
    assert proc is not None
    assert proc.wait(timeout=120).state == "done"
    run = read_run(run_dir)
    assert run["step"] == 180 and run["status"] == "done"
    wait_for(qtbot, lambda: tp.state.state == "done" and tp.state.step == 180, 20, "the panel to show step 180")


def test_resuming_a_run_a_terminal_trainer_holds_says_who_holds_it(qtbot, train_ctx, panels, monkeypatch):
    """A `studio train` in a terminal holds the run: Resume names that process instead of starting a second one."""
    from tests.faults.scenario_folders import _hold_run_lock

    rp, _tp, _lp = panels
    proj = train_ctx.project
    run = write_fake_run(proj.runs_dir / "held", "stopped", steps=5)
    proj.add_run(run)
    train_ctx.project_changed.emit()
    holder = _hold_run_lock(run)
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a, **k: told.append(text))
    try:
        wait_for(qtbot, lambda: row_of(rp, "held") is not None, what="the run row")
        rp.table.selectRow(row_of(rp, "held"))
        rp.resume()
    finally:
        holder.kill()
        holder.wait()
    assert told and "is being trained by" in told[0] and str(holder.pid) in told[0]
    assert rp.procs.get(run) is None  # no second trainer was started
