"""`studio train --submit local|slurm` (submitit) and `studio runs cancel`, driven as a user would:
the CLI in a subprocess, the job really run by submitit's local executor; Slurm through a stand-in
`sbatch`/`scancel` on PATH (what the cluster would be asked)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from studio.core.training.checkpoints import list_checkpoints
from studio.core.training.run_folder import read_run
from studio.core.training.submit import describe
from tests.fixtures.plugin_dist import TOY_ENTRY_POINTS, child_env, write_plugin_distribution
from tests.fixtures.toy_plugins import data as toy_data

pytestmark = pytest.mark.timeout(120)
FAST = ["--device", "cpu", "--set", "threads=1", "--set", "val_every=0", "--set", "sample_every=0"]
RANKFAIL = {**TOY_ENTRY_POINTS, "toy-image-rankfail": "tests.fixtures.toy_plugins.rank_fail:plugin"}


@pytest.fixture
def images(tmp_path):
    return toy_data.write_image_dataset(tmp_path / "images", n=32, size=32)


def studio(*args, env=None, timeout=60):
    env = dict(env or os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "studio", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def wait_for(run, pred, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info = read_run(run)
            if pred(info):
                return info
        except ValueError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out; run.json: {read_run(run) if (run / 'run.json').exists() else None}")


def test_a_local_submission_fills_the_same_run_folder_as_a_local_run(tmp_path, images):
    run = tmp_path / "run"
    t0 = time.monotonic()
    res = studio("train", "--plugin", "vae", "--data", images, "--out", run, "--steps", "4", *FAST,
                 "--set", "checkpoint_every=2", "--submit", "local", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    assert time.monotonic() - t0 < 30  # returns once submitted, not when trained
    event = json.loads(res.stdout.strip().splitlines()[-1])
    assert event["event"] == "submitted" and event["backend"] == "local" and event["job_id"]
    assert "token" not in event
    first = read_run(run)
    assert first["submission"]["job_id"] == event["job_id"]
    info = wait_for(run, lambda r: r["submission"]["state"] == "ended")
    assert (info["status"], info["step"], info["id"]) == ("done", 4, first["id"])  # the submitted run's id kept
    sub = info["submission"]
    assert sub["state"] == "ended" and sub["exit_code"] == 0 and sub["host"]
    assert describe(info).startswith("ran on host ") and f"local job {event['job_id']}" in describe(info)
    assert [c.step for c in list_checkpoints(run)] == [2, 4]
    local = tmp_path / "local"
    assert studio("train", "--plugin", "vae", "--data", images, "--out", local, "--steps", "4", *FAST,
                  "--set", "checkpoint_every=2").returncode == 0
    assert sorted(os.listdir(run)) == sorted(os.listdir(local) + ["job-logs"])
    logs = "".join(p.read_text() for p in (run / "job-logs").glob("*_log.*"))
    assert "done at step 4" in logs  # the trainer's progress lines are the job's log
    res = studio("train", "--out", run, "--steps", "6", *FAST, "--set", "checkpoint_every=2", "--resume",
                 "--submit", "local")  # plugin and data from the run, as for a local --resume
    assert res.returncode == 0, res.stderr[-2000:]
    info = wait_for(run, lambda r: r["submission"]["state"] == "ended" and r["submission"]["job_id"] != event["job_id"])
    assert (info["status"], info["step"], info["id"]) == ("done", 6, first["id"])
    assert [c.step for c in list_checkpoints(run)] == [2, 4, 6]


def test_a_failure_inside_a_submitted_job_reaches_run_json(tmp_path, images):
    env = child_env(write_plugin_distribution(tmp_path / "site", entry_points=RANKFAIL))
    run = tmp_path / "run"
    res = studio("train", "--plugin", "toy-image-rankfail", "--data", images, "--out", run, "--steps", "20", *FAST,
                 "--set", "fail_rank=0", "--set", "fail_at_step=2", "--submit", "local", env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    info = wait_for(run, lambda r: r["submission"]["state"] == "ended")
    assert (info["status"], info["reason"]) == ("failed", "step 2: ValueError: rank 0 broke on purpose at step 2")
    assert info["submission"]["exit_code"] == 1
    # a setup failure on the node, before the trainer could write run.json, is recorded there too
    bad = tmp_path / "bad"
    assert studio("train", "--plugin", "vae", "--data", images, "--out", bad, "--steps", "2", *FAST,
                  "--set", "no_such_setting=3", "--submit", "local").returncode == 0
    info = wait_for(bad, lambda r: r["submission"]["state"] == "ended")
    assert info["status"] == "failed" and "no_such_setting" in info["reason"], info["reason"]


def test_cancel_stops_a_running_submitted_job_cleanly(tmp_path, images):
    run = tmp_path / "run"
    assert studio("train", "--plugin", "vae", "--data", images, "--out", run, "--steps", "100000", *FAST,
                  "--set", "checkpoint_every=100000", "--submit", "local").returncode == 0
    info = wait_for(run, lambda r: r["status"] == "running" and r["step"] >= 2)
    assert describe(info) == f"running on host {info['submission']['host']} (local job {info['submission']['job_id']})"
    res = studio("runs", "cancel", run)
    assert res.returncode == 0, res.stderr
    assert f"cancelled local job {info['submission']['job_id']}; the run is stopped" in res.stdout
    info = read_run(run)
    assert info["status"] == "stopped" and "SIGTERM" in info["reason"]
    assert info["submission"]["state"] == "cancelled"
    assert list_checkpoints(run)  # stopped cleanly: the last step is kept
    again = studio("runs", "cancel", run)
    assert again.returncode == 0 and "nothing to cancel: the run is stopped" in again.stdout
    local = tmp_path / "local"
    assert studio("train", "--plugin", "vae", "--data", images, "--out", local, "--steps", "1", *FAST).returncode == 0
    res = studio("runs", "cancel", local)
    assert res.returncode != 0 and "was not submitted as a job" in res.stderr


def _fake_slurm(tmp_path):
    """sbatch/scancel stand-ins: record what they were asked, answer like Slurm."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {"sbatch": f'cp "$1" {tmp_path}/sbatch-script.sh\necho "Submitted batch job 4242"\n',
               "scancel": f'echo "$@" >> {tmp_path}/scancel-args\n', "srun": "exit 1\n"}
    for name, body in scripts.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(stat.S_IRWXU)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_slurm_submission_asks_sbatch_for_the_resources_and_cancel_calls_scancel(tmp_path, images):
    env = _fake_slurm(tmp_path)
    run = tmp_path / "run"
    res = studio("train", "--plugin", "vae", "--data", images, "--out", run, "--steps", "50", *FAST,
                 "--submit", "slurm", "--partition", "gpu", "--gpus", "2", "--time", "1-02:30:00", env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "submitted to slurm as job 4242" in res.stdout
    script = (tmp_path / "sbatch-script.sh").read_text()
    for line in ("#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=2", "#SBATCH --ntasks-per-node=2",
                 "#SBATCH --time=1590", "#SBATCH --nodes=1", f"#SBATCH --output={run}/job-logs/"):
        assert line in script, script
    info = read_run(run)
    assert info["status"] == "created" and describe(info) == "queued (slurm job 4242)"
    assert info["world_size"] == 2
    res = studio("runs", "cancel", run, env=env, timeout=90)
    assert res.returncode == 0, res.stderr
    assert "4242" in (tmp_path / "scancel-args").read_text()
    info = read_run(run)
    assert (info["status"], info["reason"]) == ("stopped", "cancelled (slurm job 4242)")
    assert describe(info) == "cancelled (slurm job 4242)"


def test_submit_refuses_what_a_local_run_refuses_and_names_bad_options(tmp_path, images, monkeypatch):
    run = tmp_path / "run"
    assert studio("train", "--plugin", "vae", "--data", images, "--out", run, "--steps", "1", *FAST).returncode == 0
    res = studio("train", "--plugin", "vae", "--data", images, "--out", run, "--steps", "2", *FAST, "--submit", "local")
    assert res.returncode == 2 and "already holds run" in res.stderr and "job-logs" not in os.listdir(run)
    res = studio("train", "--plugin", "vae", "--data", images, "--out", tmp_path / "x", "--submit", "slurm",
                 "--time", "soon")
    assert res.returncode == 2 and "--time 'soon' is not a Slurm time" in res.stderr
    assert not (tmp_path / "x").exists()
    res = studio("train", "--plugin", "vae", "--data", images, "--out", tmp_path / "x", "--submit", "slurm",
                 env=dict(os.environ, PATH=str(tmp_path / "nowhere")))  # no Slurm on this computer
    assert res.returncode == 2 and "cannot submit to slurm from this computer" in res.stderr, res.stderr
    assert not (tmp_path / "x").exists()
    res = studio("train", "--plugin", "vae", "--data", images, "--out", tmp_path / "y", "--partition", "gpu")
    assert res.returncode == 2 and "go with --submit" in res.stderr
    from studio.cli import main
    monkeypatch.setitem(sys.modules, "submitit", None)  # as on a machine without the `cluster` extra
    assert main(["train", "--plugin", "vae", "--data", str(images), "--out", str(tmp_path / "z"),
                 "--submit", "local"]) == 2
    assert not (tmp_path / "z").exists()


def test_a_two_process_submitted_job_names_the_failing_rank(tmp_path):
    """--gpus 2: two tasks, each one DDP process (RANK/WORLD_SIZE from the job); rank 1 fails."""
    env = child_env(write_plugin_distribution(tmp_path / "site", entry_points=RANKFAIL))
    images = toy_data.write_image_dataset(tmp_path / "images", n=32, size=8)
    run = tmp_path / "run"
    res = studio("train", "--plugin", "toy-image-rankfail", "--data", images, "--out", run, "--steps", "20", *FAST,
                 "--set", "fail_rank=1", "--set", "fail_at_step=3", "--submit", "local", "--gpus", "2", env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    info = wait_for(run, lambda r: r["submission"]["state"] == "ended", timeout=90)
    assert info["world_size"] == 2
    assert (info["status"], info["reason"]) == ("failed", "rank 1 failed: step 3: ValueError: rank 1 broke on "
                                                          "purpose at step 3")
    assert sorted(p.name for p in (run / "job-logs").glob("*_log.err")) == [
        f"{info['submission']['job_id']}_{task}_log.err" for task in (0, 1)]
