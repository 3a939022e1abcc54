"""torchrun: when one process fails, the run says which one and why, not "trainer gone".

Real 2-process gloo runs on CPU with ``toy-image-rankfail`` (a test plugin that fails in one
process only), plus the bookkeeping (stale files, a rank 0 that died) without torchrun.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from studio.core.training import rank_failures
from studio.core.training.run_folder import effective_status, mark_failed_if_active, read_run
from tests.fixtures.plugin_dist import TOY_ENTRY_POINTS, child_env, write_plugin_distribution

pytestmark = pytest.mark.timeout(180)
RANKFAIL = {**TOY_ENTRY_POINTS, "toy-image-rankfail": "tests.fixtures.toy_plugins.rank_fail:plugin"}


@pytest.fixture
def rankfail_env(tmp_path):
    return dict(child_env(write_plugin_distribution(tmp_path / "site", entry_points=RANKFAIL)), OMP_NUM_THREADS="1")


def torchrun(env, data, run, *settings):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "studio",
           "train", "--plugin", "toy-image-rankfail", "--data", str(data), "--out", str(run), "--steps", "30",
           "--device", "cpu", "--json", "--set", "threads=1", "--set", "val_every=0", "--set", "sample_every=0",
           "--set", "checkpoint_every=2", "--set", "fail_at_step=3"]
    for s in settings:
        cmd += ["--set", s]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=150)


@pytest.mark.parametrize("rank", [1, 0])
def test_the_failing_process_and_its_exception_reach_run_json(tmp_path, image_ds, rankfail_env, rank):
    run = tmp_path / "run"
    res = torchrun(rankfail_env, image_ds, run, f"fail_rank={rank}", "fail_kind=raise")
    assert res.returncode != 0, res.stdout[-2000:]
    info = read_run(run)
    expected = f"rank {rank} failed: step 3: ValueError: rank {rank} broke on purpose at step 3"
    assert (info["status"], info["reason"]) == ("failed", expected), res.stderr[-3000:]
    assert effective_status(info, run) == ("failed", expected)
    ends = [json.loads(ln) for ln in res.stdout.splitlines() if ln.startswith('{"event": "end"')]
    assert [e["reason"] for e in ends] == [expected]  # what the window's child trainer reports
    own = json.loads((run / f"failed-rank-{rank}.json").read_text())
    assert own["type"] == "ValueError" and own["step"] == 3 and not own["lost_contact"]
    assert "rank_fail.py" in own["traceback"] and own["traceback"].endswith(own["message"])
    other = json.loads((run / f"failed-rank-{1 - rank}.json").read_text())
    assert other["lost_contact"] and other["time"] >= own["time"]  # the peer only lost contact, later


def test_a_nan_in_one_process_only_is_named(tmp_path, image_ds, rankfail_env):
    run = tmp_path / "run"
    res = torchrun(rankfail_env, image_ds, run, "fail_rank=1", "fail_kind=nan")
    info = read_run(run)
    assert info["status"] == "failed", res.stderr[-3000:]
    assert info["reason"].startswith("rank 1 failed: step 3: the model loss became nan"), info["reason"]


def test_rank_0_dying_too_still_reports_the_cause(tmp_path, image_ds, rankfail_env):
    """Rank 1 raises while rank 0 vanishes (as when torchrun kills it): nobody finalises run.json,
    so the stale-run check must find the recorded cause."""
    run = tmp_path / "run"
    res = torchrun(rankfail_env, image_ds, run, "fail_rank=1", "fail_kind=raise", "exit_rank=0")
    assert res.returncode != 0
    info = read_run(run)
    assert info["status"] == "running" and info["world_size"] == 2, res.stderr[-3000:]
    expected = "rank 1 failed: step 3: ValueError: rank 1 broke on purpose at step 3"
    assert effective_status(info, run) == ("failed", expected)
    assert "ended unexpectedly" in effective_status(info)[1]  # without the folder: the old words
    assert mark_failed_if_active(run, "the trainer process was gone", info["id"])
    assert (read_run(run)["status"], read_run(run)["reason"]) == ("failed", expected)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _stale_run(folder, world_size=2):
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"id": "r1", "status": "running", "step": 7, "pid": _dead_pid(),
                                                 "world_size": world_size}))
    return read_run(folder)


def test_only_peers_that_lost_contact_means_rank_0_went_first(tmp_path):
    info = _stale_run(tmp_path / "run")
    try:
        import torch.distributed as dist
        raise dist.DistNetworkError("Connection closed by peer")
    except Exception as exc:
        assert rank_failures.lost_contact(exc)
        rank_failures.record(tmp_path / "run", 1, 8, "step 8: DistNetworkError: ...", exc)
    status, reason = effective_status(info, tmp_path / "run")
    assert status == "failed" and reason.startswith("the trainer process (rank 0) ended unexpectedly at step 7")
    assert not rank_failures.lost_contact(ValueError("plugin bug"))


def test_single_process_runs_and_old_sessions_files_are_not_misread(tmp_path):
    one = _stale_run(tmp_path / "one", world_size=1)  # a stray file does not matter to a 1-process run
    rank_failures.record(tmp_path / "one", 1, 3, "step 3: ValueError: x", ValueError("x"))
    assert effective_status(one, tmp_path / "one") == ("failed", "the trainer process ended unexpectedly at step 7")
    two = tmp_path / "two"
    _stale_run(two)
    for name in ("failed-rank-0.json", "failed-rank-1.json", "failed-rank-x.json", "notes.json"):
        (two / name).write_text("{not json" if name.endswith("0.json") else "{}")
    assert rank_failures.read_all(two) == []  # unreadable or foreign files are ignored
    rank_failures.clear(two)
    assert sorted(os.listdir(two)) == ["failed-rank-x.json", "notes.json", "run.json"]


def test_resuming_forgets_the_failures_of_the_earlier_session(tmp_path, image_ds, toys):
    from studio.core.training.engine import train

    run = tmp_path / "run"
    fast = {"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_every": 2}
    assert train("toy-image", image_ds, run, steps=2, device="cpu", settings=fast).status == "done"
    rank_failures.record(run, 1, 2, "step 2: ValueError: old", ValueError("old"))
    assert train("toy-image", image_ds, run, steps=4, device="cpu", settings=fast, resume=True).status == "done"
    assert not list(run.glob("failed-rank-*.json"))
