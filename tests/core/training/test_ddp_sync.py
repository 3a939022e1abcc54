"""DDP gradient sync (grad_sync.py): GAN-shaped two-group updates average like one process on the whole
batch; a real two-process GAN run keeps one-process checkpoint names and resumes."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from studio.core.training.checkpoints import list_checkpoints
from studio.core.training.run_folder import read_run
from tests.fixtures.ddp_gan_worker import spawn_entry, train_steps
from tests.fixtures.toy_plugins import data as toy_data

pytestmark = pytest.mark.timeout(240)


def _spawned(tmp_path, grad_sync):
    from safetensors.torch import load_file

    torch.multiprocessing.spawn(spawn_entry, args=(2, str(tmp_path / f"init-{grad_sync}"), str(tmp_path), grad_sync),
                                nprocs=2, join=True)
    return [load_file(str(tmp_path / f"{grad_sync}-rank{r}.safetensors")) for r in range(2)]


def test_gan_steps_on_two_processes_match_one_process_on_the_whole_batch(tmp_path):
    single = train_steps(0, 1, "", str(tmp_path))
    alone = train_steps(0, 1, "", str(tmp_path), parts=2)  # rank 0's half without the others
    ranks = _spawned(tmp_path, "ddp")
    assert int(ranks[0]["ddp_groups"]) == 2 and int(single["ddp_groups"]) == 0  # DDP per group, only when needed
    for key, expected in single.items():
        if key == "ddp_groups":
            continue
        for r in ranks:
            torch.testing.assert_close(r[key], expected, rtol=1e-5, atol=1e-6, msg=key)
    assert not torch.allclose(alone["generator.0.weight"], single["generator.0.weight"], atol=1e-6)
    assert not torch.allclose(alone["discriminator.0.weight"], single["discriminator.0.weight"], atol=1e-6)


def _torchrun_dcgan(run, data, steps, *extra, nproc=2):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m",
           "studio", "train", "--plugin", "dcgan", "--data", str(data), "--out", str(run), "--steps", str(steps),
           "--device", "cpu", "--set", "threads=1", "--set", "val_every=0", "--set", "sample_every=0",
           "--set", "width=8", "--set", "batch_size=8", "--set", "checkpoint_every=3", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
                          timeout=200)


def test_two_process_gan_run_keeps_one_process_checkpoint_names_and_resumes(tmp_path):
    from safetensors import safe_open

    data = toy_data.write_image_dataset(tmp_path / "images", n=32, size=32)
    res = _torchrun_dcgan(tmp_path / "ddp", data, 3)
    assert res.returncode == 0, res.stderr[-3000:]
    one = _torchrun_dcgan(tmp_path / "one", data, 3, nproc=1)
    assert one.returncode == 0, one.stderr[-3000:]
    keys = []
    for run in ("ddp", "one"):
        (ckpt,) = list_checkpoints(tmp_path / run)
        with safe_open(str(ckpt.path), "pt") as f:
            keys.append(sorted(f.keys()))
    assert keys[0] == keys[1] and not any("module." in k or "group." in k for k in keys[0])
    assert read_run(tmp_path / "ddp")["world_size"] == 2 and read_run(tmp_path / "one")["world_size"] == 1
    again = _torchrun_dcgan(tmp_path / "ddp", data, 6, "--resume")
    assert again.returncode == 0, again.stderr[-3000:]
    info = read_run(tmp_path / "ddp")
    assert info["status"] == "done" and info["step"] == 6
    assert [c.step for c in list_checkpoints(tmp_path / "ddp")] == [3, 6]
