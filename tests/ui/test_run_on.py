"""Models › Run on, driven as a user would: several processes (a real 2-process DDP run through torchrun,
followed by the Training panel to done; Kill ends every worker), and the cluster choice (greyed until set
up in File › Preferences or without submitit; once set up, Start runs `studio train --submit slurm ...`
against a stand-in sbatch, and `--submit local` trains for real through submitit's local executor)."""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from studio.core.devices import Accelerator
from studio.core.training.run_folder import read_run
from studio.core.training.submit import describe
from tests.ui.screens import save_widget
from tests.ui.train_helpers import FAST, no_modal_dialogs, project, toys, train_ctx, wait_for  # noqa: F401 - fixtures

pytestmark = pytest.mark.timeout(240)
CPU = Accelerator("cpu", "cpu", "CPU: test, 2 cores")
GPU = Accelerator("cuda:0", "cuda", "Test GPU", memory_bytes=8 * 2**30, bf16=True)


@pytest.fixture(autouse=True)
def own_preferences(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))  # no cluster set up yet


@pytest.fixture
def panels(qtbot, train_ctx):
    from studio.ui.panels.models import ModelsPanel
    from studio.ui.panels.training import TrainingPanel

    mp, tp = ModelsPanel(train_ctx), TrainingPanel(train_ctx)
    train_ctx.set_devices([CPU])
    for w in (mp, tp):
        qtbot.addWidget(w)
        w.resize(460, 900)
        w.show()
    qtbot.waitExposed(mp)
    assert mp.plugins.select("toy-image")
    for form in (mp.forms.engine_form, mp.forms.more_form):  # fast, quiet runs (unknown keys are skipped)
        form.set_values({**FAST, "sample_every": 0, "checkpoint_every": 4})
    yield mp, tp
    tp.watcher.stop()


def choose(qtbot, mp, text: str) -> None:
    """Pick an entry of the Run on list as a user would (it must be enabled)."""
    combo = mp.run_on.combo
    mp.run_on.refresh()
    i = combo.findText(text)
    item = combo.model().item(i)
    assert item.isEnabled(), f"{text} is greyed: {item.toolTip()}"
    combo.setCurrentIndex(i)
    assert combo.currentText() == text


def item(mp, text: str):
    mp.run_on.refresh()
    return mp.run_on.combo.model().item(mp.run_on.combo.findText(text))


def start(qtbot, mp, name: str, steps: int) -> Path:
    mp.length.setValue(steps)
    mp.run_name.setText(name)
    assert mp.start_btn.isEnabled(), mp.why.text()
    qtbot.mouseClick(mp.start_btn, Qt.MouseButton.LeftButton)
    return mp.ctx.project.runs_dir / name


def test_several_processes_train_one_ddp_run_the_training_panel_follows(qtbot, panels, monkeypatch):
    mp, tp = panels
    monkeypatch.setattr("studio.core.training.launch.os.cpu_count", lambda: 4)  # the cap is tested below
    choose(qtbot, mp, "Several processes")
    assert mp.run_on.processes.isVisible() and mp.run_on.processes.value() == 2
    assert mp.run_on.processes.maximum() == 4
    save_widget(mp, "models_panel_run_on")
    run = start(qtbot, mp, "ddp", steps=8)
    proc = mp.procs.get(run)
    assert proc is not None
    assert proc.cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    assert proc.cmd[5:8] == ["-m", "studio", "train"] and "--reserve-core" in proc.cmd
    wait_for(qtbot, lambda: tp.state is not None and tp.state.state == "done", 180, "the DDP run to finish")
    assert tp.run_dir == run and "Done" in tp.status.text()
    info = read_run(run)
    assert (info["status"], info["step"], info["world_size"]) == ("done", 8, 2), proc.stderr_tail[-5:]
    assert tp.progress.value() == 8 and tp.progress.maximum() == 8
    proc.wait(timeout=30)
    assert proc.poll().returncode == 0
    # training it further (Runs › Resume) uses the same two processes, not one
    again = mp.procs.resume(run, steps=12, device="cpu")
    assert again.cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    again.wait(timeout=180)
    info = read_run(run)
    assert (info["status"], info["step"], info["world_size"]) == ("done", 12, 2), again.stderr_tail[-5:]


def test_kill_ends_every_ddp_worker(qtbot, panels, monkeypatch):
    mp, tp = panels
    monkeypatch.setattr("studio.core.training.launch.os.cpu_count", lambda: 2)
    mp.forms.plugin_form.set_values({"step_sleep": 0.02})
    choose(qtbot, mp, "Several processes")
    run = start(qtbot, mp, "ddp-kill", steps=100_000)
    wait_for(qtbot, lambda: tp.state is not None and tp.state.state == "running" and tp.state.step >= 3, 120,
             "the DDP run to train")
    from studio.core.training.process import _children
    workers = _children(mp.procs.get(run).pid)
    assert len(workers) == 2 and read_run(run)["pid"] in workers
    tp.kill(confirm=False)
    wait_for(qtbot, lambda: tp.state.state == "failed", 30, "the kill")
    assert "killed from the studio" in tp.status.text()
    wait_for(qtbot, lambda: all(_zombie_or_gone(pid) for pid in workers), 20, "every worker to end")
    assert read_run(run)["status"] == "failed"


def _zombie_or_gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (OSError, IndexError):
        return True


def test_the_number_of_processes_is_capped_by_cores_and_gpus(qtbot, panels, train_ctx, monkeypatch):
    mp, _tp = panels
    monkeypatch.setattr("studio.core.training.launch.os.cpu_count", lambda: 1)
    sev = item(mp, "Several processes")
    assert not sev.isEnabled() and "this computer has one CPU core" in sev.toolTip()
    monkeypatch.setattr("studio.core.training.launch.os.cpu_count", lambda: 8)
    assert item(mp, "Several processes").isEnabled() and mp.run_on.processes.maximum() == 8
    train_ctx.set_devices([CPU, GPU])  # Auto trains on the GPU: one process per GPU, and there is one
    sev = item(mp, "Several processes")
    assert not sev.isEnabled() and "one GPU" in sev.toolTip()
    mp.devices.setCurrentIndex(mp.devices.findData("cpu"))  # on the CPU, the 8 cores count again
    assert item(mp, "Several processes").isEnabled() and mp.run_on.processes.maximum() == 8


def test_cluster_is_greyed_until_set_up_in_preferences_or_without_submitit(qtbot, panels, monkeypatch):
    mp, _tp = panels
    cluster = item(mp, "Cluster (Slurm)")
    assert not cluster.isEnabled() and "File › Preferences › Slurm cluster" in cluster.toolTip()
    monkeypatch.setitem(sys.modules, "submitit", None)  # as on a machine without the `cluster` extra
    cluster = item(mp, "Cluster (Slurm)")
    assert not cluster.isEnabled() and "pip install 'generative-studio[cluster]'" in cluster.toolTip()
    from studio.ui.preferences_cluster import ClusterBox
    box = ClusterBox()
    qtbot.addWidget(box)
    assert "pip install 'generative-studio[cluster]'" in box.status.text()


def _fake_slurm(tmp_path: Path, env: dict) -> dict:
    """sbatch stand-in (records the job script, answers like Slurm): the cluster is never asked."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {"sbatch": f'cp "$1" {tmp_path}/sbatch-script.sh\necho "Submitted batch job 4242"\n',
                       "srun": "exit 1\n"}.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(stat.S_IRWXU)
    return dict(env, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def set_up_cluster(qtbot, partition="gpu", gpus=2, time_limit="4:00:00"):
    """File › Preferences › Slurm cluster, as a user fills it in."""
    from studio.ui.preferences import PreferencesDialog

    dialog = PreferencesDialog()
    qtbot.addWidget(dialog)
    box = dialog.cluster_box
    box.setChecked(True)
    box.partition.setText(partition)
    box.partition.editingFinished.emit()
    box.gpus.setValue(gpus)
    box.time_limit.setText("soon")
    box.time_limit.editingFinished.emit()
    assert "Not saved" in box.status.text() and "not a Slurm time" in box.status.text()
    box.time_limit.setText(time_limit)
    box.time_limit.editingFinished.emit()
    assert "Offered in Models" in box.status.text()
    return dialog


def test_a_configured_cluster_submits_with_the_preferences(qtbot, panels, train_ctx, tmp_path):
    from studio.ui.panels.runs import RunsPanel

    mp, tp = panels
    dialog = set_up_cluster(qtbot)
    dialog.close()
    train_ctx.training_processes.env = _fake_slurm(tmp_path, train_ctx.training_processes.env)
    choose(qtbot, mp, "Cluster (Slurm)")
    assert mp.run_on.cluster_line.text() == "partition gpu · 1 node × 2 GPUs · time 4:00:00"
    assert not mp.run_on.processes.isVisible()
    save_widget(mp, "models_panel_run_on_cluster")
    submitted = []
    train_ctx.training_processes.submitted.connect(lambda run, words: submitted.append(words))
    run = start(qtbot, mp, "on-the-cluster", steps=50)
    proc = train_ctx.training_processes.submissions.get(str(run.resolve()))
    assert mp.procs.get(run) is None  # the panels follow the run folder, which the job writes
    cmd = " ".join(proc.cmd)
    assert "-m studio train" in cmd and "--submit slurm --partition gpu --gpus 2 --time 4:00:00" in cmd
    assert "--reserve-core" not in cmd
    wait_for(qtbot, lambda: bool(submitted), 60, "the submission")
    assert submitted == ["slurm job 4242 (queued)"]
    script = (tmp_path / "sbatch-script.sh").read_text()
    for line in ("#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=2", "#SBATCH --time=240"):
        assert line in script, script
    wait_for(qtbot, lambda: tp.state is not None and tp.state.state == "created", 10, "the Training panel")
    assert describe(read_run(run)) == "queued (slurm job 4242)"
    rp = RunsPanel(train_ctx)
    qtbot.addWidget(rp)
    rp.refresh()
    row = next(r for r in range(rp.table.rowCount()) if rp.table.item(r, 0).text() == "on-the-cluster")
    assert rp.table.item(row, 2).text() == "queued (slurm job 4242)"
    rp.shutdown()
    # switched off in Preferences: greyed again, and the choice falls back to this computer
    from studio.ui.preferences import PreferencesDialog
    dialog = PreferencesDialog()
    qtbot.addWidget(dialog)
    assert dialog.cluster_box.isChecked() and dialog.cluster_box.partition.text() == "gpu"  # kept
    dialog.cluster_box.setChecked(False)
    assert not item(mp, "Cluster (Slurm)").isEnabled() and mp.run_on.combo.currentText() == "This computer"


def test_a_local_job_trains_and_the_training_panel_follows_its_folder(qtbot, panels, train_ctx):
    from studio.core.training.launch import load_cluster_settings, save_cluster_settings

    mp, tp = panels
    set_up_cluster(qtbot, partition="", gpus=0, time_limit="").close()
    import dataclasses
    save_cluster_settings(dataclasses.replace(load_cluster_settings(), backend="local"))  # the test hook
    choose(qtbot, mp, "Cluster (Slurm)")
    run = start(qtbot, mp, "local-job", steps=6)
    cmd = " ".join(train_ctx.training_processes.submissions[str(run.resolve())].cmd)
    assert "--submit local" in cmd and "--partition" not in cmd and "--gpus" not in cmd
    wait_for(qtbot, lambda: tp.state is not None and tp.state.state == "done", 180, "the job's run to finish")
    info = read_run(run)
    assert info["step"] == 6 and info["submission"]["backend"] == "local"
    wait_for(qtbot, lambda: read_run(run)["submission"]["state"] == "ended", 30, "the job to end")
    assert describe(read_run(run)).startswith("ran on host ")
    assert "Done" in tp.status.text() and tp.progress.value() == 6


def test_the_run_on_row_fits_a_narrow_panel(qtbot, panels, monkeypatch):
    from tests.e2e.window_fit_probe import cut_texts, sideways_scrolling

    mp, _tp = panels
    monkeypatch.setattr("studio.core.training.launch.os.cpu_count", lambda: 16)
    choose(qtbot, mp, "Several processes")
    mp.run_on.processes.setValue(16)  # the widest number it shows
    for width in (260, 330, 460):
        mp.resize(width, 420)
        qtbot.wait(50)
        assert not sideways_scrolling(mp), width
        assert not cut_texts(mp), (width, cut_texts(mp))
    mp.resize(260, 420)
    save_widget(mp, "models_panel_run_on_narrow")


def test_a_submission_that_fails_says_why(qtbot, panels, train_ctx, tmp_path, no_modal_dialogs):  # noqa: F811
    mp, _tp = panels
    set_up_cluster(qtbot).close()
    procs = train_ctx.training_processes
    procs.env = dict(procs.env, PATH=str(tmp_path / "nowhere"))  # no Slurm on this computer
    choose(qtbot, mp, "Cluster (Slurm)")
    failed = []
    procs.submit_failed.connect(lambda run, reason: failed.append(reason))
    run = start(qtbot, mp, "no-slurm-here", steps=5)
    wait_for(qtbot, lambda: bool(failed), 60, "the failed submission")
    assert "cannot submit to slurm from this computer" in failed[0], failed
    assert len(no_modal_dialogs) == 1 and "Could not hand the run to the cluster" in no_modal_dialogs[0]
    assert str(run) in no_modal_dialogs[0] and "cannot submit to slurm" in no_modal_dialogs[0]
    no_modal_dialogs.clear()  # the one warning this test expects
    assert not run.exists()  # nothing left behind
