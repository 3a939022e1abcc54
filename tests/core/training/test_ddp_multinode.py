"""Two "nodes" on one machine: two `torchrun --nnodes 2 --node-rank 0|1` with a c10d rendezvous on
localhost train one run folder (the documented multi-node commands, run for real); a failure on the
second node reaches run.json with its rank and exception."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from studio.core.training.checkpoints import list_checkpoints
from studio.core.training.metrics import read_metrics
from studio.core.training.run_folder import effective_status, read_run
from tests.fixtures.plugin_dist import TOY_ENTRY_POINTS, child_env, write_plugin_distribution

pytestmark = pytest.mark.timeout(200)
RANKFAIL = {**TOY_ENTRY_POINTS, "toy-image-rankfail": "tests.fixtures.toy_plugins.rank_fail:plugin"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def two_nodes(env, plugin, data, run, steps, *settings):
    """Start both node commands at once (as two machines would) and wait for both."""
    port = _free_port()
    procs = []
    for node in (0, 1):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
               "--node-rank", str(node), "--rdzv-backend", "c10d", "--rdzv-endpoint", f"localhost:{port}",
               "--rdzv-id", "studio-test", "-m", "studio", "train", "--plugin", plugin, "--data", str(data),
               "--out", str(run), "--steps", str(steps), "--device", "cpu", "--json", "--set", "threads=1",
               "--set", "val_every=0", "--set", "sample_every=0"]
        for s in settings:
            cmd += ["--set", s]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=170)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        outs.append((p.returncode, out, err))
    return outs


def test_two_nodes_on_localhost_train_one_run_folder(tmp_path, image_ds, toys):
    run = tmp_path / "run"
    outs = two_nodes(dict(toys, OMP_NUM_THREADS="1"), "toy-image", image_ds, run, 8, "checkpoint_every=4")
    assert [rc for rc, _, _ in outs] == [0, 0], "\n".join(err[-2000:] for _, _, err in outs)
    info = read_run(run)
    assert (info["status"], info["step"], info["world_size"]) == ("done", 8, 2)
    events = [json.loads(ln) for _, out, _ in outs for ln in out.splitlines() if ln.startswith("{")]
    assert [e["event"] for e in events].count("start") == 1  # one rank 0 across both nodes reports
    assert [e["status"] for e in events if e["event"] == "end"] == ["done"]
    assert read_metrics(run)["loss"][0] == list(range(1, 9))  # written once
    assert [c.step for c in list_checkpoints(run)] == [4, 8]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["images", "run", "site"])  # no second folder
    assert not list(run.glob("failed-rank-*.json"))


def test_a_failure_on_the_second_node_reaches_run_json(tmp_path, image_ds):
    env = dict(child_env(write_plugin_distribution(tmp_path / "site", entry_points=RANKFAIL)), OMP_NUM_THREADS="1")
    run = tmp_path / "run"
    outs = two_nodes(env, "toy-image-rankfail", image_ds, run, 20, "checkpoint_every=2", "fail_rank=1",
                     "fail_at_step=3", "fail_kind=raise")
    assert all(rc != 0 for rc, _, _ in outs)
    info = read_run(run)
    expected = "rank 1 failed: step 3: ValueError: rank 1 broke on purpose at step 3"
    assert (info["status"], info["reason"]) == ("failed", expected), "\n".join(e[-2000:] for _, _, e in outs)
    assert effective_status(info, run) == ("failed", expected)
    own = json.loads((run / "failed-rank-1.json").read_text())
    assert own["type"] == "ValueError" and own["step"] == 3 and not own["lost_contact"]
    assert os.path.exists(run / "failed-rank-0.json")  # rank 0 recorded that it only lost contact
