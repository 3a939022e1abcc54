"""Previews by training time as well as by steps (a slow model shows something in seconds), and a last
sample sheet when training ends or is stopped."""
from __future__ import annotations

import json
import sqlite3

from studio.core.training.control import send_control
from studio.core.training.engine import train

FAST = {"threads": 1, "val_every": 0, "checkpoint_every": 0, "checkpoint_minutes": 0}


def previews(run):
    with sqlite3.connect(run / "metrics.sqlite") as con:
        return [row[0] for row in con.execute("SELECT step FROM previews ORDER BY step")]


def test_timed_previews_come_before_the_step_cadence_and_a_sheet_at_the_end(tmp_path, image_ds, toys):
    run = tmp_path / "run"
    seen = []
    res = train("toy-image", image_ds, run, steps=40,
                settings={**FAST, "sample_every": 100_000, "first_sample_s": 0.2, "sample_seconds": 0.3,
                          "step_sleep": 0.03}, hooks=lambda ev: seen.append(ev) if ev["event"] == "sample" else None)
    assert res.ok
    steps = previews(run)
    # 40 steps of >= 30 ms: at least 1.2 s, so a first preview after 0.2 s and more every 0.3 s
    assert len(steps) >= 3, steps
    assert steps[0] < 20 and steps[-1] == 40  # early, and the sheet of the finished model
    assert [ev["step"] for ev in seen] == steps
    assert all((run / "samples" / f"step-{s:08d}.png").is_file() for s in steps)


def test_no_timed_previews_when_previews_are_off_or_by_steps_only(tmp_path, image_ds, toys):
    slow = {**FAST, "first_sample_s": 0.0, "sample_seconds": 0.05, "step_sleep": 0.02}
    train("toy-image", image_ds, tmp_path / "off", steps=20, settings={**slow, "sample_every": 0})
    assert previews(tmp_path / "off") == []
    train("toy-image", image_ds, tmp_path / "steps", steps=20, settings={**slow, "sample_every": 10,
                                                                          "sample_seconds": 0.0})
    assert previews(tmp_path / "steps") == [10, 20]


def test_a_stopped_run_leaves_a_sample_sheet_of_where_it_stopped(tmp_path, image_ds, toys):
    run = tmp_path / "run"

    def stop_at_7(ev):
        if ev["event"] == "step" and ev["step"] == 7:
            send_control(run, "stop")

    res = train("toy-image", image_ds, run, steps=1000,
                settings={**FAST, "sample_every": 5, "sample_seconds": 0.0}, hooks=stop_at_7)
    assert res.status == "stopped"
    assert previews(run) == [5, res.step]
    assert json.loads((run / "run.json").read_text())["status"] == "stopped"


def metric_rows(run, prefix):
    with sqlite3.connect(run / "metrics.sqlite") as con:
        return con.execute("SELECT step, name, value FROM metrics WHERE name LIKE ? ORDER BY step",
                           (prefix + "%",)).fetchall()


def test_each_preview_is_checked_against_the_training_pictures(tmp_path, image_ds, toys):
    run = tmp_path / "run"
    res = train("toy-image", image_ds, run, steps=10, settings={**FAST, "sample_every": 5, "sample_seconds": 0.0})
    assert res.ok
    rows = metric_rows(run, "originality/")
    names = {name for _s, name, _v in rows}
    assert names == {"originality/similarity", "originality/copy_rate", "originality/copy_limit"}
    assert sorted({s for s, _n, _v in rows}) == previews(run)  # one check per preview
    assert all(0.0 <= v <= 1.0 for _s, n, v in rows if n == "originality/copy_rate")


def test_a_model_that_returns_its_training_pictures_is_warned_about(image_ds):
    """The watch the loop runs, fed the training pictures themselves: every sample is a near copy."""
    import torch

    from studio.core.datasets import load_dataset
    from studio.core.training.originality_watch import COPY_RATE, OriginalityWatch

    data = load_dataset(image_ds)
    copies = torch.cat(list(data.iter_batches("train", 256)))[:8]
    figures, warning = OriginalityWatch(data).check(copies)
    assert figures[COPY_RATE] == 1.0
    assert warning is not None and "starts to copy" in warning
    fresh = torch.rand_like(copies)
    figures, warning = OriginalityWatch(data).check(fresh)
    assert figures[COPY_RATE] < 0.2 and warning is None
