"""The trainer as the window runs it: a child process controlled through control.json and signals."""
from __future__ import annotations

import time

import pytest

from studio.core.training.checkpoints import latest_checkpoint
from studio.core.training.metrics import MetricsReader, read_metrics
from studio.core.training.process import TrainingProcess
from studio.core.training.run_folder import read_run

FAST = {"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_every": 0, "checkpoint_minutes": 0}


def wait_for(pred, proc, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = proc.poll()
        if pred(st):
            return st
        if st.finished:
            raise AssertionError(f"trainer finished early: {st} {proc.stderr_tail[-5:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out; last status {proc.poll()} {proc.stderr_tail[-5:]}")


def start(toys, image_ds, run, steps=100_000, resume=False, **settings):
    proc = TrainingProcess("toy-image", image_ds, run, steps=steps, device="cpu", resume=resume,
                           settings={**FAST, **settings}, env=toys)
    proc.start()
    return proc


def test_pause_resume_lr_and_graceful_stop(tmp_path, image_ds, toys):
    run = tmp_path / "run"
    proc = start(toys, image_ds, run, step_sleep=0.02)
    reader = MetricsReader(run)
    try:
        wait_for(lambda s: s.state == "running" and s.step >= 5, proc)
        seen = []
        deadline = time.monotonic() + 10
        while len({r[0] for r in seen}) < 3 and time.monotonic() < deadline:
            seen += reader.poll().rows  # a follower sees rows while the trainer writes (commits ~2/s)
            time.sleep(0.1)
        assert len({r[0] for r in seen}) >= 3 and proc.poll().state == "running"
        proc.pause()
        wait_for(lambda s: s.state == "paused", proc)
        assert read_run(run)["status"] == "paused"
        frozen = read_run(run)["step"]
        proc.set_lr(0.5)
        time.sleep(0.6)
        assert read_run(run)["step"] == frozen and proc.poll().state == "paused"
        proc.resume()
        wait_for(lambda s: s.state == "running" and s.step >= frozen + 3, proc)
        proc.stop()
        final = proc.wait(timeout=60)
    finally:
        proc.kill()
        reader.close()
    assert final.state == "stopped" and final.returncode == 0, final
    info = read_run(run)
    assert info["status"] == "stopped" and info["step"] == final.step
    assert latest_checkpoint(run).step == final.step
    steps, lrs = read_metrics(run)["lr"]
    assert lrs[steps.index(frozen)] == pytest.approx(0.01) and lrs[-1] == pytest.approx(0.5)


def test_kill_9_then_resume_continues_from_the_last_checkpoint(tmp_path, image_ds, toys):
    run = tmp_path / "run"
    proc = start(toys, image_ds, run, checkpoint_every=10, step_sleep=0.01)
    try:
        wait_for(lambda s: s.step >= 25, proc)
    finally:
        proc.kill()
    st = proc.wait(timeout=30)
    assert st.state == "failed" and "killed" in st.reason and st.returncode == -9
    info = read_run(run)
    assert info["status"] == "failed" and "killed" in info["reason"]
    saved = latest_checkpoint(run).step
    assert saved >= 20 and saved % 10 == 0

    proc2 = start(toys, image_ds, run, steps=saved + 15, resume=True, checkpoint_every=10)
    events = []
    st2 = proc2.wait(timeout=120)
    events = proc2.events()
    assert st2.state == "done" and st2.step == saved + 15, (st2, proc2.stderr_tail[-5:])
    start_ev = next(e for e in events if e["event"] == "start")
    assert start_ev["step"] == saved and start_ev["resumed_from"].endswith(f"step-{saved:08d}.safetensors")
    steps, _ = read_metrics(run)["loss"]
    assert steps == list(range(1, saved + 16))  # the killed run's rows past the checkpoint were redone once
    assert read_run(run)["status"] == "done"


def test_a_hang_is_ended_by_kill(tmp_path, image_ds, toys):
    run = tmp_path / "run"
    proc = start(toys, image_ds, run, steps=50, hang_at_step=3)
    wait_for(lambda s: s.step >= 2, proc)
    time.sleep(0.5)
    assert proc.poll().state == "running" and proc.running  # stuck, not finished
    proc.kill()
    st = proc.wait(timeout=30)
    assert st.state == "failed" and "killed from the studio" in st.reason
    assert read_run(run)["status"] == "failed"


def _fake_trainer(folder, name: str, script: str):
    """An executable standing in for ``python`` (``python -m studio train ...`` ignores its arguments)."""
    import os
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    os.chmod(path, 0o755)
    return str(path)


@pytest.mark.skipif(__import__("os").name != "posix", reason="shell stand-ins for the trainer")
def test_start_waits_for_a_previous_trainer_that_is_still_exiting(tmp_path):
    from studio.core.training.run_folder import RunFolderError

    run = tmp_path / "run"
    run.mkdir()
    # says how it ended at once, then takes a second to exit (closing files, flushing)
    slow_exit = _fake_trainer(tmp_path, "slow-exit", "echo '{\"event\": \"end\", \"status\": \"stopped\"}'\nsleep 1\n")
    quick = _fake_trainer(tmp_path, "quick", "exit 0\n")
    first = TrainingProcess("toy-image", None, run, python=slow_exit, reserve_core=False)
    first.start()
    deadline = time.monotonic() + 20
    while not first.poll().finished and time.monotonic() < deadline:
        time.sleep(0.02)
    assert first.poll().finished and first.running  # ended, not yet exited
    second = TrainingProcess("toy-image", None, run, python=quick, resume=True, reserve_core=False)
    second.start()                                    # waits instead of refusing
    assert not first.running and first.poll().returncode == 0
    second.wait(timeout=20)

    # one that never ends is refused at once; one that ends but hangs on exit, after the bounded wait
    busy = TrainingProcess("toy-image", None, run, python=_fake_trainer(tmp_path, "busy", "sleep 30\n"),
                           reserve_core=False)
    busy.start()
    with pytest.raises(RunFolderError, match="already training"):
        TrainingProcess("toy-image", None, run, python=quick, reserve_core=False).start()
    busy.kill()
    busy.wait(timeout=20)
    hung = TrainingProcess("toy-image", None, run, python=_fake_trainer(
        tmp_path, "hung", "echo '{\"event\": \"end\", \"status\": \"done\"}'\nsleep 30\n"), reserve_core=False)
    hung.start()
    while not hung.poll().finished and time.monotonic() < deadline + 20:
        time.sleep(0.02)
    with pytest.raises(RunFolderError, match="still exiting after 0.3 s"):
        TrainingProcess("toy-image", None, run, python=quick, reserve_core=False).start(exit_wait_s=0.3)
    hung.kill()
    hung.wait(timeout=20)
