"""Several processes: gloo DDP averages gradients like one process on the combined batch; torchrun end to end."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import torch

from studio.core.training.checkpoints import list_checkpoints
from studio.core.training.metrics import read_metrics
from studio.core.training.run_folder import read_run
from tests.fixtures.toy_plugins.ddp_worker import one_step, spawn_entry


def test_two_gloo_processes_average_gradients_like_one_process_on_the_whole_batch(tmp_path):
    from safetensors.torch import load_file

    torch.multiprocessing.spawn(spawn_entry, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    ranks = [load_file(str(tmp_path / f"rank{r}.safetensors")) for r in range(2)]
    single = one_step(0, 1, "", str(tmp_path))
    assert set(ranks[0]) == set(single)
    for key, expected in single.items():
        for r in ranks:
            torch.testing.assert_close(r[key], expected, rtol=1e-5, atol=1e-6, msg=key)
    # one rank's half alone gives another gradient: the match above comes from the averaging
    alone = one_step(0, 1, "", str(tmp_path), parts=2)
    assert not torch.allclose(alone["grad.enc.weight"], single["grad.enc.weight"], atol=1e-6)

def test_torchrun_two_processes_train_one_run_folder(tmp_path, image_ds, toys):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "studio",
           "train", "--plugin", "toy-image", "--data", str(image_ds), "--out", str(run), "--steps", "12",
           "--device", "cpu", "--json", "--set", "checkpoint_every=6", "--set", "threads=1",
           "--set", "val_every=6", "--set", "sample_every=12"]
    env = dict(toys, OMP_NUM_THREADS="1")
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    events = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events].count("start") == 1  # rank 0 alone reports
    assert events[0]["world_size"] == 2
    info = read_run(run)
    assert info["status"] == "done" and info["step"] == 12 and info["world_size"] == 2
    steps, _ = read_metrics(run)["loss"]
    assert steps == list(range(1, 13))  # written once, by rank 0
    assert [c.step for c in list_checkpoints(run)] == [6, 12]
    assert sorted(os.listdir(run / "samples")) == ["step-00000012.png"]
