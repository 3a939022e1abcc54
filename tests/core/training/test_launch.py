"""Where a run the window starts trains (studio.core.training.launch): the child's command for each
"Run on" choice, and the cluster settings kept in the config folder (a damaged file falls back)."""
from __future__ import annotations

import sys

import pytest

from studio.core.training.launch import (CLUSTER, HERE, PROCESSES, ClusterSettings, RunOn, cluster_problem,
                                         load_cluster_settings, max_processes, resume_run_on, save_cluster_settings)
from studio.core.training.process import TrainingProcess


@pytest.fixture(autouse=True)
def own_preferences(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))


def test_the_child_command_for_each_choice(tmp_path):
    here = TrainingProcess("vae", tmp_path / "ds", tmp_path / "run", steps=5, device="cpu").cmd
    assert here[1:4] == ["-m", "studio", "train"] and "--reserve-core" in here and "--submit" not in here
    ddp = TrainingProcess("vae", tmp_path / "ds", tmp_path / "run", steps=5, device="cpu",
                          run_on=RunOn(PROCESSES, processes=3)).cmd
    assert ddp[:8] == [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=3",
                       "-m", "studio", "train"]
    assert ddp[8:] == here[4:]  # the same `studio train` arguments after the launcher
    c = ClusterSettings(enabled=True, partition="gpu", gpus_per_node=4, nodes=2, time_limit="1-00:00:00")
    job = TrainingProcess("vae", tmp_path / "ds", tmp_path / "run", steps=5, device="cuda:1",
                          run_on=RunOn(CLUSTER, cluster=c)).cmd
    assert job[1:4] == ["-m", "studio", "train"] and "--reserve-core" not in job
    assert job[job.index("--device") + 1] == "auto"  # this computer's cuda:1 means nothing on a node
    tail = " ".join(job)
    assert "--submit slurm --partition gpu --gpus 4 --nodes 2 --time 1-00:00:00" in tail
    bare = TrainingProcess("vae", None, tmp_path / "run", run_on=RunOn(CLUSTER, cluster=ClusterSettings(
        enabled=True, gpus_per_node=0))).cmd
    assert bare[-2:] == ["--submit", "slurm"]  # the cluster's defaults: nothing else asked


def test_cluster_settings_round_trip_and_damaged_files_fall_back(tmp_path):
    assert load_cluster_settings() == ClusterSettings()  # nothing saved: not set up
    assert "Preferences" in cluster_problem()
    s = ClusterSettings(enabled=True, partition="gpu", gpus_per_node=2, nodes=3, time_limit="4:00:00")
    save_cluster_settings(s)
    assert load_cluster_settings() == s and cluster_problem() == ""
    path = tmp_path / "config" / "cluster.json"
    path.write_text('{"enabled": true, "partition": 7, "nodes": "many"}')
    assert load_cluster_settings() == ClusterSettings(enabled=True)  # wrong types: their defaults
    path.write_text("{not json")
    assert load_cluster_settings() == ClusterSettings()
    path.write_text("[1, 2]")
    assert load_cluster_settings() == ClusterSettings()


def test_settings_slurm_would_refuse_are_named():
    assert "not a Slurm time" in ClusterSettings(enabled=True, time_limit="soon").problem()
    assert "spaces" in ClusterSettings(enabled=True, partition="my gpu").problem()
    assert "nodes must be 1" in ClusterSettings(enabled=True, backend="local", nodes=2).problem()
    assert "Preferences cannot be used" in cluster_problem(ClusterSettings(enabled=True, gpus_per_node=99))
    assert ClusterSettings(enabled=True, time_limit="90").problem() == ""


def test_process_cap_follows_gpus_or_cores():
    assert max_processes("auto", gpu_count=0, cpu_count=8) == 8
    assert max_processes("auto", gpu_count=2, cpu_count=8) == 2  # auto trains on the GPUs
    assert max_processes("cpu", gpu_count=2, cpu_count=8) == 8
    assert max_processes("cuda:0", gpu_count=4, cpu_count=8) == 4
    assert max_processes("cpu", gpu_count=0, cpu_count=1) == 1


def test_a_run_is_continued_the_way_it_was_trained(monkeypatch):
    monkeypatch.setattr("studio.core.training.launch.os.cpu_count", lambda: 4)
    assert resume_run_on({"world_size": 1}) == (RunOn(), "")
    on, note = resume_run_on({"world_size": 3}, device="cpu")
    assert (on.kind, on.processes, note) == (PROCESSES, 3, "")
    on, note = resume_run_on({"world_size": 8}, device="cpu")      # more than this computer has
    assert (on.kind, on.processes) == (PROCESSES, 4) and "trained by 8 processes; this computer runs 4" in note
    on, note = resume_run_on({"world_size": "two"})                 # a damaged field: one process
    assert on.kind == HERE
    job = {"submission": {"backend": "slurm", "job_id": "42"}, "world_size": 2}
    monkeypatch.setattr("studio.core.training.launch.submitit_available", lambda: True)
    on, note = resume_run_on(job)                                   # the cluster is not set up here
    assert on.kind == HERE and "it was a cluster job" in note and "Preferences" in note
    save_cluster_settings(ClusterSettings(enabled=True, partition="gpu", gpus_per_node=2, time_limit="1:00:00"))
    on, note = resume_run_on(job)
    assert (on.kind, on.cluster.partition, note) == (CLUSTER, "gpu", "")
