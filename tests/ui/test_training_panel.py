"""Training panel driven like a user: pause, resume, live LR, stop, continue and kill a real child trainer;
the curves grow in the Loss plot; a plugin that segfaults fails the run, not the window."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from studio.core.training.checkpoints import list_checkpoints
from studio.core.training.run_folder import read_run
from tests.ui.screens import save_widget
from tests.ui.train_helpers import FAST, no_modal_dialogs, project, toys, train_ctx, wait_for  # noqa: F401 - fixtures

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def panels(qtbot, train_ctx):
    from studio.ui.panels.loss_plot import LossPlotPanel
    from studio.ui.panels.training import TrainingPanel

    tp, lp = TrainingPanel(train_ctx), LossPlotPanel(train_ctx)
    for w in (tp, lp):
        qtbot.addWidget(w)
        w.resize(640, 560)
        w.show()
    yield tp, lp
    lp.shutdown()
    tp.watcher.stop()


def state(tp):
    return tp.state.state if tp.state else ""


def click(qtbot, button):
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_pause_resume_lr_stop_continue_kill(qtbot, train_ctx, panels, monkeypatch):
    tp, lp = panels
    procs = tp.procs
    run_dir = train_ctx.project.runs_dir / "slow"
    procs.start("toy-image", train_ctx.project.datasets_dir / "blobs", run_dir, steps=100_000,
                settings={**FAST, "step_sleep": 0.01, "sample_every": 10, "checkpoint_every": 0})
    train_ctx.run_started.emit(str(run_dir))
    assert not tp.pause_btn.isEnabled()  # still starting: nothing to pause yet
    wait_for(qtbot, lambda: state(tp) == "running" and tp.state.step > 5, 90, "the trainer to run")
    assert "toy-image" in tp.title.text() and tp.progress.maximum() == 100_000
    wait_for(qtbot, lambda: tp.preview.step is not None, 30, "a sample preview")
    assert tp.preview.stack.currentWidget() is tp.preview.image

    # the loss plot follows the same run: its curve grows
    key = next(iter(lp.runs))
    wait_for(qtbot, lambda: "loss" in lp.runs[key].items and len(lp.runs[key].series["loss"]) > 0, 10, "a curve")
    n0 = len(lp.runs[key].series["loss"])
    wait_for(qtbot, lambda: len(lp.runs[key].series["loss"]) > n0 + 5, 20, "the curve to grow")

    click(qtbot, tp.pause_btn)
    wait_for(qtbot, lambda: state(tp) == "paused", 20, "paused")
    assert "Paused" in tp.status.text() and tp.resume_btn.isEnabled() and not tp.pause_btn.isEnabled()
    paused_at = read_run(run_dir)["step"]
    qtbot.wait(600)
    tp.watcher.poll()
    assert tp.state.step == paused_at  # nothing trains while paused
    save_widget(tp, "training_panel")

    tp.lr_box.setValue(0.0025)
    click(qtbot, tp.lr_btn)
    click(qtbot, tp.resume_btn)
    wait_for(qtbot, lambda: state(tp) == "running" and tp.state.step > paused_at + 3, 20, "resumed")
    wait_for(qtbot, lambda: tp.state.lr is not None and abs(tp.state.lr - 0.0025) < 1e-9, 20, "the new lr")

    click(qtbot, tp.stop_btn)
    wait_for(qtbot, lambda: state(tp) == "stopped", 30, "stopped")
    stopped_at = read_run(run_dir)["step"]
    assert read_run(run_dir)["status"] == "stopped"
    assert [c.step for c in list_checkpoints(run_dir) if c.valid][-1] == stopped_at  # graceful: checkpointed
    assert tp.start_btn.isEnabled() and not tp.kill_btn.isEnabled()

    # Start continues the run from its checkpoint, in a new child
    click(qtbot, tp.start_btn)
    wait_for(qtbot, lambda: state(tp) == "running" and tp.state.step > stopped_at, 90, "continued")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    click(qtbot, tp.kill_btn)
    wait_for(qtbot, lambda: state(tp) == "failed", 20, "killed")
    assert "killed from the studio" in tp.status.text()
    assert read_run(run_dir)["status"] == "failed"
    assert tp.start_btn.isEnabled()


def test_window_survives_a_plugin_that_segfaults(qtbot, make_studio_window, toys, project):  # noqa: F811
    from studio.ui.panels.train_processes import training_processes

    win = make_studio_window(project=project)
    training_processes(win.ctx).env = toys
    models, tp = win.panels["models"], win.panels["training"]
    assert models.plugins.select("toy-image")
    models.forms.plugin_form.set_values({"crash_at_step": 4})
    models.forms.engine_form.set_values({"sample_every": 0, "checkpoint_every": 2})
    models.length.setValue(50)
    click(qtbot, models.start_btn)
    wait_for(qtbot, lambda: state(tp) == "failed", 90, "the crashed run to show failed")
    assert "segmentation fault" in tp.status.text(), tp.status.text()
    assert "Extension modules" not in tp.status.text() and "(misbehave.py:" in tp.status.text(), tp.status.text()
    assert "toy_plugins/misbehave.py" in tp.status.toolTip()  # the whole path for whoever needs it
    run = read_run(models.last_run)
    assert run["status"] == "failed" and "segmentation fault" in run["reason"]
    assert [c.step for c in list_checkpoints(models.last_run) if c.valid] == [2]  # the last good one stays
    assert win.isVisible()
    # the window still works: the Runs panel lists the failed run with its reason
    runs = win.panels["runs"]
    runs.refresh()
    assert "segmentation fault" in runs.table.item(0, 2).text()
    save_widget(tp, "training_panel_failed")


def test_previews_of_text_and_melodies(qtbot, tmp_path):
    import json

    from studio.ui.panels.train_preview import SamplePreview

    w = SamplePreview()
    qtbot.addWidget(w)
    txt = tmp_path / "step-00000010.txt"
    txt.write_text("to be or not to be\n\n----\n\nthat is")
    w.show_file(10, "text", txt)
    assert w.stack.currentWidget() is w.text and "not to be" in w.text.toPlainText()
    assert w.caption.text() == "Samples at step 10"
    mel = tmp_path / "step-00000020.json"
    # C4 for a quarter, hold, rest, then E4 G4: events 2 + pitch - min_pitch
    mel.write_text(json.dumps({"format": "studio-melody-events/1", "min_pitch": 60, "max_pitch": 72,
                               "steps_per_quarter": 4, "events": [[2, 1, 1, 1, 0, 1, 6, 1, 9, 1, 1, 1, 0, 1, 1, 1]]}))
    w.show_file(20, "melody", mel)
    assert w.stack.currentWidget() is w.melody
    assert "1 melodies" in w.melody.text() and "3 notes over 1 bars, C4–G4: C4 E4 G4" in w.melody.text()
    bad = tmp_path / "step-00000030.png"
    bad.write_bytes(b"not a png")
    w.show_file(30, "image", bad)
    assert w.stack.currentWidget() is w.empty and "not a readable image" in w.empty.text()
