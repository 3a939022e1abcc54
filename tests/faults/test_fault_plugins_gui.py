"""Fault 7: misbehaving plugins in the studio window. One raises on import, one's training step raises,
one segfaults (``ctypes.string_at(0)``), one hangs (Stop's grace period runs out, it is killed), one returns
NaN. The window reports each with the plugin's name and reason, never freezes, and trains fine afterwards."""
from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QElapsedTimer, Qt, QTimer

from studio.core.training.checkpoints import list_checkpoints
from studio.core.training.run_folder import read_run
from tests.faults.fault_helpers import fault_distribution
from tests.fixtures.plugin_dist import install_in_process
from tests.fixtures.toy_plugins import data as toy_data

pytestmark = pytest.mark.timeout(300)
FAST = {"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_minutes": 0, "checkpoint_every": 2}
# run name -> (toy-image setting, words the Training panel must show)
CASES = {
    "raises": ({"raise_at_step": 4}, "failed on purpose"),
    "segfault": ({"crash_at_step": 4}, "segmentation fault"),
    "nan": ({"nan_at_step": 4}, "loss became nan"),
}


class Heartbeat:
    """A 20 ms timer on the UI thread; the longest gap between ticks is how long the window froze."""

    def __init__(self, parent):
        self.clock = QElapsedTimer()
        self.clock.start()
        self.last, self.worst = 0, 0
        self.timer = QTimer(parent)  # parented: a stray top-level QTimer crashes Python at exit
        self.timer.timeout.connect(self._tick)
        self.timer.start(20)

    def _tick(self):
        now = self.clock.elapsed()
        self.worst = max(self.worst, now - self.last)
        self.last = now


def _wait(qtbot, cond, timeout_s, what):
    try:
        qtbot.waitUntil(cond, timeout=int(timeout_s * 1000))
    except AssertionError as exc:
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}") from exc


def test_misbehaving_plugins_are_reported_by_name_and_the_studio_stays_usable(
        qtbot, make_studio_window, tmp_path, monkeypatch):
    import torch

    from studio.core.project import Project
    from studio.ui.panels import training as training_mod
    from studio.ui.panels.train_processes import training_processes

    torch.set_num_threads(1)
    dist, env = fault_distribution(tmp_path / "site")
    install_in_process(monkeypatch, dist)
    proj = Project.create(tmp_path / "proj", "Faults")
    ds = toy_data.write_image_dataset(proj.datasets_dir / "blobs")
    proj.add_dataset(ds)
    proj.save()
    win = make_studio_window(project=proj)
    procs = training_processes(win.ctx)
    procs.env = env
    tp = win.panels["training"]
    beat = Heartbeat(win)

    # 1. raises on import: listed as broken (greyed out) with its name and the reason, nothing else affected
    combo = win.panels["models"].plugins
    items = {combo.model().item(i).data(): combo.model().item(i) for i in range(combo.model().rowCount())}
    assert not items["fault-broken"].isEnabled() and "fault-broken" in items["fault-broken"].text()
    assert "raises while it is imported" in items["fault-broken"].toolTip()
    assert items["toy-image"].isEnabled()
    assert any("fault-broken" in msg and "broken" in msg for _lvl, msg in win.ctx.log.history)

    # 2-5. all misbehaving trainers at once (plus the broken plugin asked to train anyway)
    runs = {name: proj.runs_dir / name for name in (*CASES, "hang", "broken")}
    for name, (setting, _words) in CASES.items():
        procs.start("toy-image", ds, runs[name], steps=60, device="cpu", settings={**FAST, **setting})
    procs.start("toy-image", ds, runs["hang"], steps=60, device="cpu", settings={**FAST, "hang_at_step": 3})
    procs.start("fault-broken", ds, runs["broken"], steps=5, device="cpu")
    for name in (*CASES, "broken"):
        _wait(qtbot, lambda n=name: procs.get(runs[n]).poll().finished, 150, f"the {name} trainer to end")

    for name, (_setting, words) in CASES.items():
        win.ctx.run_selected.emit(str(runs[name]))
        _wait(qtbot, lambda w=words: tp.state is not None and tp.state.state == "failed"
              and w in tp.status.text().lower(), 20, f"the {name} failure in the Training panel")
        assert "toy-image" in tp.title.text()  # the plugin's name, beside the reason
        info = read_run(runs[name])
        assert info["status"] == "failed" and words in info["reason"].lower()
        assert [c.step for c in list_checkpoints(runs[name])] == [2]  # the last good checkpoint stays
    broken = procs.get(runs["broken"]).poll()
    assert broken.state == "failed" and "plugin 'fault-broken' is broken" in broken.reason
    assert "raises while it is imported" in broken.reason

    # the hung one: Stop asks nicely; after the grace period the studio kills it and says so
    monkeypatch.setattr(training_mod, "STOP_GRACE_S", 1.0)
    win.ctx.run_selected.emit(str(runs["hang"]))
    _wait(qtbot, lambda: tp.state is not None and tp.state.state == "running" and tp.state.step >= 2, 60,
          "the hang run to be followed")
    qtbot.wait(300)
    assert procs.get(runs["hang"]).running
    qtbot.mouseClick(tp.stop_btn, Qt.MouseButton.LeftButton)
    _wait(qtbot, lambda: tp.state.state == "failed", 30, "the hung trainer to be killed after the grace period")
    assert "killed" in tp.status.text() and "toy-image" in tp.title.text()
    said = win.statusBar().currentMessage()  # the studio says what it did, naming the run
    assert "did not stop within 1 s" in said and "hang" in said, said
    assert read_run(runs["hang"])["status"] == "failed"

    # still usable: a good run trains to the end in the same window
    good = proj.runs_dir / "good"
    procs.start("toy-image", ds, good, steps=6, device="cpu", settings=FAST)
    win.ctx.run_started.emit(str(good))
    _wait(qtbot, lambda: tp.state is not None and tp.state.state == "done", 120, "the good run to finish")
    assert win.isVisible() and read_run(good)["status"] == "done"
    beat.timer.stop()
    assert beat.worst < 1500, f"the window froze for {beat.worst} ms"
    # Tear the window down here, while the event loop runs: its watchers and children are
    # released in order instead of by interpreter exit (which crashed PySide6 now and then).
    win.close()
    qtbot.wait(300)
