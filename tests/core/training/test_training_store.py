"""Metrics store, control channel, schedules and run-folder helpers (no training loop)."""
from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from studio.core.training.control import ControlPoller, read_control, send_control
from studio.core.training.metrics import MetricsReader, MetricsWriter, latest_preview, read_metrics
from studio.core.training.run_folder import effective_status, mark_failed_if_active, RunFolder
from studio.core.training.schedules import lr_factor
from studio.core.training.settings import parse_set_args


def test_reader_follows_the_writer_incrementally_and_resets_on_rewind(tmp_path):
    reader = MetricsReader(tmp_path)
    assert reader.poll().rows == []  # no store yet: empty, not an error, and nothing created
    assert not (tmp_path / "metrics.sqlite").exists()
    w = MetricsWriter(tmp_path, commit_interval=0.0)
    for step in range(1, 6):
        w.log(step, {"loss": 1.0 / step, "lr": 0.1})
    up = reader.poll()
    assert [r[0] for r in up.rows if r[2] == "loss"] == [1, 2, 3, 4, 5] and not up.reset
    w.log(6, {"loss": float("nan"), "kl": 2})
    up = reader.poll()
    assert [(r[0], r[2]) for r in up.rows] == [(6, "loss"), (6, "kl")] and up.rows[0][3] is None
    assert reader.poll().rows == []
    w.truncate_after(3)
    w.log(4, {"loss": 9.0})
    up = reader.poll()
    assert up.reset and sorted({r[0] for r in up.rows}) == [1, 2, 3, 4]
    w.add_preview(4, "image", "samples/step-00000004.png")
    assert reader.poll().previews[0][2:] == ("image", "samples/step-00000004.png")
    assert latest_preview(tmp_path)[:2] == (4, "image")
    series = read_metrics(tmp_path)
    assert series["loss"] == ([1, 2, 3, 4], [1.0, 0.5, pytest.approx(1 / 3), 9.0])
    w.close()
    reader.close()
    con = sqlite3.connect(tmp_path / "metrics.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_writer_batches_commits(tmp_path):
    w = MetricsWriter(tmp_path, commit_interval=3600)
    reader = MetricsReader(tmp_path)
    w.log(1, {"loss": 1.0})
    assert reader.poll().rows == []  # buffered, cheap
    w.flush()
    assert len(reader.poll().rows) == 1
    w.close()


def test_a_reader_in_another_process_sees_rows_while_they_are_written(tmp_path):
    w = MetricsWriter(tmp_path, commit_interval=0.0)
    w.log(1, {"loss": 1.0})
    code = textwrap.dedent(f"""
        import time
        from studio.core.training.metrics import MetricsReader
        r = MetricsReader({str(tmp_path)!r}); seen = set(); t = time.time()
        while len(seen) < 3 and time.time() - t < 30:
            seen |= {{row[0] for row in r.poll().rows}}; time.sleep(0.02)
        print(sorted(seen))
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    for step in (2, 3):
        w.log(step, {"loss": 1.0 / step})
    out, _ = proc.communicate(timeout=60)
    assert out.strip() == "[1, 2, 3]"
    w.close()


def test_control_channel_sequence_and_stale_commands(tmp_path):
    path = tmp_path / "control.json"
    send_control(path, "pause")  # before the trainer starts: an earlier session's
    poller = ControlPoller(path)
    assert poller.poll() is None
    send_control(tmp_path, lr=0.5)
    msg = poller.poll()
    assert (msg.command, msg.lr, msg.seq) == (None, 0.5, 2)
    assert poller.poll() is None  # nothing new
    send_control(path, "stop")
    assert poller.poll().command == "stop"
    late = ControlPoller(path, after_seq=0)  # a launcher says: everything after seq 0 is for you
    assert late.poll().seq == 3
    assert read_control(path).command == "stop"
    with pytest.raises(ValueError):
        send_control(path, "explode")
    with pytest.raises(ValueError):
        send_control(path, lr=-1)


def test_control_keeps_a_rate_and_a_command_written_between_two_polls(tmp_path):
    path = tmp_path / "control.json"
    poller = ControlPoller(path)
    send_control(path, lr=0.25)
    send_control(path, "pause")            # before the trainer looked: the rate must survive
    msg = poller.poll()
    assert (msg.command, msg.lr) == ("pause", 0.25)
    send_control(path, "resume")
    msg = poller.poll()
    assert (msg.command, msg.lr) == ("resume", None)  # the old rate is not applied again
    send_control(path, lr=0.125)
    msg = poller.poll()
    assert (msg.command, msg.lr) == (None, 0.125)      # nor the old command
    assert ControlPoller(path).poll() is None          # a new trainer ignores both
    # a file from an older writer (no lr_seq): the rate belongs to its seq
    path.write_text('{"seq": 9, "command": null, "lr": 0.5}')
    assert read_control(path).lr_seq == 9
    assert ControlPoller(path, after_seq=8).poll().lr == 0.5


def test_metrics_reader_can_start_from_the_newest_rows(tmp_path):
    w = MetricsWriter(tmp_path)
    for step in range(1, 101):
        w.log(step, {"loss": float(step)})
    w.add_preview(50, "image", "samples/a.png")
    w.add_preview(100, "image", "samples/b.png")
    w.flush()
    tail = MetricsReader(tmp_path, tail_rows=10)
    update = tail.poll()
    assert [r[0] for r in update.rows] == list(range(91, 101))
    assert [p[0] for p in update.previews] == [100]
    w.log(101, {"loss": 1.0})
    w.flush()
    assert [r[0] for r in tail.poll().rows] == [101]   # then it follows like any reader
    assert len(MetricsReader(tmp_path).poll().rows) == 101
    empty = tmp_path / "later"
    late = MetricsReader(empty, tail_rows=5)            # no store yet: the tail is taken once it exists
    assert late.poll().rows == []
    w2 = MetricsWriter(empty)
    for step in range(1, 21):
        w2.log(step, {"loss": 1.0})
    w2.flush()
    assert [r[0] for r in late.poll().rows] == list(range(16, 21))
    for closing in (w, w2, tail, late):
        closing.close()


def test_schedules():
    assert lr_factor(1, warmup_steps=4) == 0.25 and lr_factor(4, warmup_steps=4) == 1.0
    assert lr_factor(50, schedule="cosine", max_steps=100) == pytest.approx(0.5)
    assert lr_factor(100, schedule="cosine", max_steps=100, final_lr_factor=0.1) == pytest.approx(0.1)
    assert lr_factor(10, schedule="cosine", max_steps=None) == 1.0  # time-bounded: nothing to decay towards
    assert lr_factor(2500, schedule="step", lr_step_every=1000, lr_gamma=0.5) == 0.25
    assert math.isclose(lr_factor(6, schedule="cosine", warmup_steps=5, max_steps=105), 1.0, rel_tol=1e-3)


def test_set_args_and_stale_runs(tmp_path):
    assert parse_set_args(["lr=1e-3", "batch-size = 8"]) == {"lr": "1e-3", "batch_size": "8"}
    with pytest.raises(ValueError, match="key=value"):
        parse_set_args(["lr"])
    run = RunFolder(tmp_path / "r")
    run.create({"status": "running", "pid": 999_999_999, "step": 7})
    assert effective_status(run.data)[0] == "failed"
    assert mark_failed_if_active(run.path, "the trainer was killed", run.data["id"])
    assert not mark_failed_if_active(run.path, "again")


def test_precision_choice():
    from studio.core.training.precision import PrecisionError, choose_precision

    assert choose_precision("auto", "cpu").name == "fp32"
    assert choose_precision("bf16", "cpu").name == "bf16"
    with pytest.raises(PrecisionError, match="CUDA"):
        choose_precision("fp16", "cpu")
    assert choose_precision("auto", "cuda:0", bf16_supported=True, num_params=50_000_000).name == "bf16"
    assert choose_precision("auto", "cuda:0", bf16_supported=True, num_params=1_000).name == "fp32"
    with pytest.raises(PrecisionError, match="bf16"):
        choose_precision("bf16", "cuda:0", bf16_supported=False)
