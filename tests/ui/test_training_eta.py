"""A steady ETA in the Training panel: the trainer's two-second speed swings (previews, checkpoints, other
programs), the time left shown does not; while the speed is still uncertain it is shown as a range."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from studio.core.training.events import RunStatus
from studio.ui.panels.train_eta import EtaSmoother, format_eta
from studio.ui.panels.training import format_duration
from studio.ui.run_watcher import RunState


def _jittery_run(seconds: float = 300.0, max_steps: int = 20_000):
    """(t, step, raw_eta) every second: 10 steps/s on average, 4-16 from one second to the next."""
    rng = random.Random(3)
    t, step, out = 0.0, 0, []
    while t < seconds:
        rate = 10.0 * rng.uniform(0.4, 1.6)
        t += 1.0
        step += int(rate)
        out.append((t, step, (max_steps - step) / rate))
    return out, max_steps


def test_the_estimate_is_steady_where_the_raw_one_swings():
    readings, total = _jittery_run()
    eta = EtaSmoother()
    shown, raw = [], []
    for t, step, raw_eta in readings:
        est = eta.update(t, step, total)
        if t > 60:
            shown.append(est.seconds)
            raw.append(raw_eta)
    assert max(raw) / min(raw) > 2.5  # what the panel used to show: 1:04:55 one second, 2:21:02 the next
    jumps = [abs(b - a) / a for a, b in zip(shown, shown[1:])]
    assert max(jumps) < 0.05, max(jumps)  # now: never more than 5 % from one update to the next
    true_left = (total - readings[-1][1]) / 10.0
    assert shown[-1] == pytest.approx(true_left, rel=0.15)


def test_a_range_while_uncertain_then_one_time():
    eta = EtaSmoother()
    texts = []
    for i in range(40):
        est = eta.update(float(i), i * 10, 10_000)
        texts.append(format_eta(est, format_duration))
    assert texts[0] == ""  # one reading: no speed yet
    assert "–" in texts[1] and "–" in texts[2]  # early: a range
    assert texts[-1].startswith("ETA ") and "–" not in texts[-1]  # steady speed: one time
    low, high = eta.estimate.low, eta.estimate.high
    assert low == pytest.approx(high, rel=0.1)


def test_paused_time_does_not_count_as_slow_training():
    eta = EtaSmoother()
    for i in range(20):
        eta.update(float(i), i * 10, 10_000)
    before = eta.estimate.steps_per_s
    eta.pause()
    eta.update(500.0, 200, 10_000)  # resumed long after: a new interval starts
    eta.update(501.0, 210, 10_000)
    assert eta.estimate.steps_per_s == pytest.approx(before, rel=0.05)


def test_the_training_panel_shows_the_steady_eta(qtbot, monkeypatch, tmp_path):
    from studio.ui.context import StudioContext
    from studio.ui.panels import training
    from studio.ui.panels.training import TrainingPanel

    panel = TrainingPanel(StudioContext())
    qtbot.addWidget(panel)
    clock = [0.0]
    monkeypatch.setattr(training.time, "monotonic", lambda: clock[0])
    readings, total = _jittery_run(120)
    texts = []
    run = {"plugin": {"id": "vae"}, "dataset": {"path": str(tmp_path / "my-drawings-images")}}
    for t, step, raw_eta in readings:
        clock[0] = t
        panel._on_status(RunState(Path(tmp_path / "run"), state=RunStatus.RUNNING, step=step, max_steps=total,
                                  steps_per_s=step / t, eta_s=raw_eta, live=True, run=run))
        texts.append(panel.stats.text())
    assert "–" in texts[2]  # a range at first
    assert "ETA" in texts[-1] and "–" not in texts[-1]
    assert panel.dataset.text() == "Dataset: my-drawings-images"
    panel.watcher.stop()
