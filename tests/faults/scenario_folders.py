"""Scenario 9 (issue 21): a hostile *folder* — links out of the project, files that are not files,
re-imports over the user's files, two trainers in one run folder, the window dying mid-training.

Each builder gets a fresh ``tmp`` and returns the callable that offers the attack to the studio
(``folder_tools.run_case`` runs it: message, nothing outside touched, bounded time and memory).
Type-confused values, bombs and dataset/model mismatches are in ``scenario_values.py``; :data:`CASES`
lists both.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable

from tests.faults import scenario_values as values
from tests.faults.folder_tools import (Wrong, _hostile_file, _project, _refused, _run_with_checkpoint,
                                       _text_dataset, run_case)

__all__ = ["CASES", "SLOW", "run_case"]


# -- (1) links and ``..`` out of the project -----------------------------------------------------------
def trash_link_to_parent(tmp: Path):
    """A shared archive whose ``trash`` is a link to ``..``: Empty trash must delete nothing."""
    from studio.core.project_edits import empty_trash, trash_problem, trash_size

    proj = _project(tmp)
    (proj.folder / "trash").symlink_to("..")

    def offer():
        n, size = trash_size(proj)
        deleted = empty_trash(proj)
        if n or deleted or not (proj.folder / "project.json").exists():
            raise Wrong(f"trash -> .. counted {n} item(s) and deleted {deleted}")
        return trash_problem(proj) or ""
    return offer


def trash_link_outside_on_delete(tmp: Path):
    """Deleting a dataset when ``trash`` links outside: refused; the dataset stays where it was."""
    from studio.core.project_edits import TrashItem
    from studio.core.project_schema import ProjectError

    proj = _project(tmp)
    ds = _text_dataset(proj.datasets_dir / "words")
    ref = proj.add_dataset(ds)
    (proj.folder / "trash").symlink_to(tmp / "outside")

    def offer():
        try:
            TrashItem("dataset", ref).apply(proj)
        except ProjectError as exc:
            if not ds.is_dir():
                raise Wrong("the dataset moved although the delete was refused")
            return str(exc)
        raise Wrong("a dataset was moved into a trash that links out of the project")
    return offer


def backups_link_outside(tmp: Path):
    """``.backups`` linked outside: saves succeed, nothing is written or rotated there."""
    proj = _project(tmp)
    import shutil
    shutil.rmtree(proj.backups_dir)
    proj.backups_dir.symlink_to(tmp / "outside" / "photos")

    def offer():
        for i in range(8):  # more than the five kept: rotation would delete there
            proj.name = f"save {i}"
            proj.save()
        if json.loads((proj.folder / "project.json").read_text())["name"] != "save 7":
            raise Wrong("the project was not saved")
        return "saved; no backup through the link"
    return offer


def dataset_ref_dotdot(tmp: Path):
    """A dataset reference ``datasets/../runs``: deleting it must not move all runs to the trash."""
    from studio.core.project_edits import TrashItem

    proj = _project(tmp)
    (proj.runs_dir / "r1").mkdir()
    proj.datasets.append("datasets/../runs")

    def offer():
        TrashItem("dataset", "datasets/../runs").apply(proj)
        if not (proj.runs_dir / "r1").is_dir():
            raise Wrong("the runs folder went to the trash")
        if "datasets/../runs" in proj.datasets:
            raise Wrong("the reference was not removed from the list")
        return "only dropped from the list"
    return offer


def dataset_link_outside(tmp: Path):
    """A dataset folder that is a link to the user's photos: delete drops it from the list only."""
    from studio.core.project_edits import TrashItem

    proj = _project(tmp)
    link = proj.datasets_dir / "photos"
    link.symlink_to(tmp / "outside" / "photos")
    ref = proj.add_dataset(proj.datasets_dir / "photos")
    proj.datasets[-1] = "datasets/photos"  # as a shared project file would name it
    ref = "datasets/photos"

    def offer():
        TrashItem("dataset", ref).apply(proj)
        if not link.is_symlink():
            raise Wrong("the link was moved")
        return "only dropped from the list"
    return offer


# -- (2) re-import keeps the user's files -----------------------------------------------------------------
def reimport_keeps_user_files(tmp: Path):
    from studio.core.datasets.writer import read_manifest

    ds = _text_dataset(tmp / "ds", "first text " * 50)
    (ds / "NOTES.md").write_text("my notes\n")
    (ds / "originals").mkdir()
    for i in range(30):
        (ds / "originals" / f"o{i}.txt").write_text(str(i))
    before = read_manifest(ds)["fingerprint"]
    keep = {p: p.read_bytes() for p in [ds / "NOTES.md", *(ds / "originals").iterdir()]}

    def offer():
        _text_dataset(ds, "a different text entirely " * 50)
        lost = [str(p) for p, data in keep.items() if not p.is_file() or p.read_bytes() != data]
        if lost:
            raise Wrong(f"re-import lost the user's files: {lost[:3]}")
        if read_manifest(ds)["fingerprint"] == before:
            raise Wrong("the dataset was not replaced")
        return "re-imported; NOTES.md and 30 originals kept"
    return offer


def import_disk_full(tmp: Path):
    """ENOSPC while `studio import` writes the tensors (safetensors raised a bare SafetensorError):
    exit 1 with "no space left on device", the previous dataset intact, no temp folder left."""
    import io
    from contextlib import redirect_stderr

    import safetensors.numpy
    from safetensors import SafetensorError

    import studio.cli
    from studio.core.datasets.writer import read_manifest

    ds = _text_dataset(tmp / "ds", "the previous text " * 40)
    before = read_manifest(ds)["fingerprint"]
    src = tmp / "new.txt"
    src.write_text("another text to import " * 40)
    real = safetensors.numpy.save_file

    def full(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\0" * 100)  # a part was written before the disk filled
        raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, '
                              'message: "No space left on device" })')

    def offer():
        err = io.StringIO()
        safetensors.numpy.save_file = full
        try:
            with redirect_stderr(err):
                code = studio.cli.main(["import", "text", str(src), "--out", str(ds), "--quiet"])
        finally:
            safetensors.numpy.save_file = real
        if code != 1 or read_manifest(ds)["fingerprint"] != before:
            raise Wrong(f"exit {code}; the previous dataset changed: {err.getvalue()[-300:]}")
        left = [p.name for p in tmp.iterdir() if ".importing-" in p.name]
        if left:
            raise Wrong(f"temp folders left: {left}")
        return err.getvalue().strip()
    return offer


# -- (4) folder import does not follow links out ---------------------------------------------------------
def import_link_to_secret(tmp: Path):
    from studio.core.datasets import import_dataset

    src = tmp / "src"
    src.mkdir()
    (src / "poem.txt").write_text("a poem of my own, long enough to import. " * 20)
    (src / "passwd.txt").symlink_to(tmp / "outside" / "secret.txt")
    (src / "more").symlink_to(tmp / "outside" / "photos", target_is_directory=True)

    def offer():
        res = import_dataset("text", [src], tmp / "ds")
        reasons = {Path(s["path"]).name: s["reason"] for s in res.skipped}
        if "passwd.txt" not in reasons or "more" not in reasons:
            raise Wrong(f"a link out of the folder was followed: skipped only {sorted(reasons)}")
        return reasons["passwd.txt"]
    return offer


def not_a_file(target: str, kind: str):
    """``target`` names which small file becomes a FIFO or a /dev/zero link."""
    def build(tmp: Path):
        run = _run_with_checkpoint(tmp)
        if target == "run.json":
            from studio.core.training.run_folder import read_run
            _hostile_file(run / "run.json", kind)
            return lambda: _refused(lambda: read_run(run))
        if target == "sidecar":
            from studio.core.training.checkpoints import list_checkpoints
            _hostile_file(run / "checkpoints" / "step-00000005.json", kind)

            def offer():
                infos = list_checkpoints(run, include_invalid=True)
                if any(i.valid for i in infos):
                    raise Wrong("a checkpoint whose sidecar is not a file counts as valid")
                return infos[0].problem
            return offer
        if target == "control.json":
            from studio.core.training.control import ControlPoller, read_control
            _hostile_file(run / "control.json", kind)

            def offer():
                if read_control(run / "control.json") is not None or ControlPoller(run / "control.json").poll():
                    raise Wrong("a control file that is not a file gave a command")
                return "ignored (not a regular file)"
            return offer
        if target == "project.lock":
            from studio.core.project_store import ProjectSession
            _project(tmp)
            _hostile_file(tmp / "proj" / "project.lock", kind)

            def offer():
                session = ProjectSession.open(tmp / "proj")  # the garbage lock is stale: taken over
                session.close(save=False)
                return "garbage lock taken over (not a regular file)"
            return offer
        if target == "manifest.json":
            from studio.core.datasets import load_dataset
            ds = _text_dataset(tmp / "proj" / "datasets" / "d")
            _hostile_file(ds / "manifest.json", kind)
            return lambda: _refused(lambda: load_dataset(ds))
        if target == "primer.mid":
            from studio.core.audio.midi import read_midi
            primer = tmp / "primer.mid"
            _hostile_file(primer, kind)
            return lambda: _refused(lambda: read_midi(primer))
        if target == "preview":
            from studio.core.training.metrics import MetricsWriter, latest_preview
            _hostile_file(run / "samples.png", kind)
            w = MetricsWriter(run)
            w.add_preview(5, "image", "samples.png")
            w.add_preview(6, "image", "../../outside/secret.txt")
            w.close()

            def offer():
                newest = latest_preview(run)
                if newest is not None:
                    raise Wrong(f"a preview outside the run folder is offered: {newest}")
                from studio.core.training.metrics import preview_path
                if preview_path(run, "samples.png") is not None:
                    raise Wrong("a preview that is not a regular file is offered")
                return "not a regular file / outside the run folder: not shown"
            return offer
        raise KeyError(target)
    return build


# -- (3) one trainer per run folder ------------------------------------------------------------------------
_HOLDER = ("import sys, time\nfrom studio.core.training.run_lock import RunLock\n"
           "RunLock(sys.argv[1]).acquire()\nprint('held', flush=True)\ntime.sleep(120)\n")


def _hold_run_lock(run: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(run)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    if proc.stdout.readline().strip() != "held":
        proc.kill()
        raise Wrong("the helper could not take the run lock")
    return proc


def second_trainer_refused(tmp: Path):
    """Another process trains ``runs/x``: ``train()`` here is refused, naming the run and the process."""
    from studio.core.training.engine import train
    from studio.core.training.run_lock import RunBusyError, RunLock, trained_by

    run = tmp / "proj" / "runs" / "x"
    holder = _hold_run_lock(run)

    def offer():
        try:
            info = trained_by(run)
            if info is None or info.pid != holder.pid:
                raise Wrong(f"the window would not see the other trainer (trained_by gave {info})")
            try:
                train("toy-text", tmp / "no-data", run, steps=1, resume=True)
            except RunBusyError as exc:
                msg = str(exc)
                if str(holder.pid) not in msg or "x" not in msg:
                    raise Wrong(f"the refusal does not name the run and the process: {msg}")
            else:
                raise Wrong("a second trainer started in a run folder that is being trained")
            holder.kill()  # SIGKILL: the lock is left behind, stale
            holder.wait()
            if trained_by(run) is not None:
                raise Wrong("a lock left by a killed trainer still counts as training")
            lock = RunLock(run)
            stale = lock.acquire()
            lock.release()
            if stale is None or stale.pid != holder.pid:
                raise Wrong("the stale lock was not recognised as the killed trainer's")
            return msg
        finally:
            holder.kill()
            holder.wait()
    return offer


def two_cli_trainers(tmp: Path):
    """Two ``studio train --out X`` at once (toy plugin): one trains, the other exits 2 naming the run."""
    from tests.faults.fault_helpers import fault_distribution
    from tests.fixtures.toy_plugins import data as toy_data

    ds = toy_data.write_text_dataset(tmp / "proj" / "datasets" / "t")
    _dist, env = fault_distribution(tmp / "dist")
    env["OMP_NUM_THREADS"] = "1"
    run = tmp / "proj" / "runs" / "twice"
    cmd = [sys.executable, "-m", "studio", "train", "--plugin", "toy-text", "--data", str(ds), "--out", str(run),
           "--steps", "600", "--set", "threads=1", "--set", "val_every=0", "--set", "sample_every=0",
           "--set", "step_sleep=0.01"]

    def offer():
        procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = [p.communicate(timeout=240) for p in procs]
        codes = sorted(p.returncode for p in procs)
        if codes != [0, 2]:
            raise Wrong(f"exit codes {codes} (want one 0, one 2): {[o[1][-300:] for o in outs]}")
        refused = next(o[1] for p, o in zip(procs, outs) if p.returncode == 2)
        if "being trained" not in refused or "twice" not in refused:
            raise Wrong(f"the second trainer's message does not name the run: {refused[-300:]}")
        return refused.strip().splitlines()[-1]
    return offer


def window_gone(tmp: Path):
    """The window dies while its child trains (its end of the child's stdout closes): the trainer stops
    cleanly with a checkpoint and marks the run stopped, naming why (it once died, leaving "running")."""
    from studio.core.training.checkpoints import latest_checkpoint
    from studio.core.training.run_folder import read_run
    from tests.faults.fault_helpers import fault_distribution
    from tests.fixtures.toy_plugins import data as toy_data

    ds = toy_data.write_text_dataset(tmp / "proj" / "datasets" / "t")
    _dist, env = fault_distribution(tmp / "dist")
    env["OMP_NUM_THREADS"] = "1"
    run = tmp / "proj" / "runs" / "orphan"
    cmd = [sys.executable, "-m", "studio", "train", "--json", "--plugin", "toy-text", "--data", str(ds), "--out",
           str(run), "--steps", "100000", "--set", "threads=1", "--set", "val_every=0", "--set", "sample_every=0",
           "--set", "step_sleep=0.01", "--set", "checkpoint_every=100000"]

    def offer():
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            for line in proc.stdout:
                if '"event": "step"' in line:
                    break
            proc.stdout.close()  # what the kernel does to the pipe when the window is killed
            code = proc.wait(timeout=120)
        finally:
            proc.kill()
        info = read_run(run)
        if info.get("status") != "stopped" or "window" not in info.get("reason", ""):
            raise Wrong(f"exit {code}; run.json says {info.get('status')}: {info.get('reason')}")
        if latest_checkpoint(run) is None:
            raise Wrong("no checkpoint was written on the way out")
        return info["reason"]
    return offer



CASES: list[tuple[str, str, Callable, str]] = [
    ("trash-link-to-parent", "symlinked trash/", trash_link_to_parent, "link"),
    ("trash-link-outside-delete", "symlinked trash/", trash_link_outside_on_delete, "link"),
    ("backups-link-outside", "symlinked .backups", backups_link_outside, "saved"),
    ("dataset-ref-dotdot", "dataset reference datasets/../runs", dataset_ref_dotdot, "list"),
    ("dataset-link-outside", "dataset folder linked outside", dataset_link_outside, "list"),
    ("reimport-keeps-user-files", "re-import into a dataset folder", reimport_keeps_user_files, "kept"),
    ("import-disk-full", "ENOSPC while an import writes", import_disk_full, "no space left on device"),
    ("import-link-to-passwd", "folder import following links", import_link_to_secret, "outside the imported folder"),
    *[(f"{t}-{k}", "non-regular file read", not_a_file(t, k), w)
      for t, w in (("run.json", "not a regular file"), ("sidecar", "not a regular file"),
                   ("control.json", "ignored"), ("project.lock", "taken over"),
                   ("manifest.json", "not a regular file"), ("primer.mid", "not a regular file"),
                   ("preview", "not shown"))
      for k in ("fifo", "dev-zero")],
    ("second-trainer-in-process", "two trainers, one run folder", second_trainer_refused, "being trained"),
    ("two-cli-trainers", "two trainers, one run folder", two_cli_trainers, "being trained"),
    ("resume-on-other-import", "resume on another import's tables", values.resume_on_other_import, "cannot resume"),
    ("eval-other-import", "eval with another import's character table", values.eval_other_import, "mapped"),
    ("window-killed-while-training", "window kill -9 during training", window_gone, "window"),
    ("midi-primer-far-note", "45-byte MIDI primer", values.midi_primer_far_note, "no melody is that long"),
    ("midi-primer-tempo-0", "MIDI primer tempo 0", values.midi_primer_tempo_zero, "120 bpm"),
    ("abc-2MB-one-tune", "ABC without note cap", values.abc_huge_tune(200_000), "an abc tune may have"),
    ("abc-3000-notes", "ABC without note cap", values.abc_huge_tune(375), "notes"),
    ("zip-300-members", "zip bomb by member count", values.zip_many_members(300), "zip bomb"),
    ("text-abc-nul-def", "NULs between letters", values.text_with_nuls, "nul"),
    ("import-kill-9", "kill -9 of studio import", values.import_killed, "left by themselves"),
    ("control-json-infinity", "type-confused control.json", values.control_infinity, "ignored"),
    ("run-json-confused", "type-confused run.json", values.run_json_confused, "should be"),
    ("cli-resume-confused-run", "type-confused run.json at --resume", values.cli_resume_confused_run, "should be"),
    ("sidecar-confused", "type-confused sidecar", values.sidecar_confused, "should be"),
    ("recipe-confused", "type-confused recipe", values.recipe_confused, "should be"),
    ("metrics-corrupt-at-resume", "corrupt metrics.sqlite", values.metrics_corrupt_at_resume, "moved aside"),
    ("metrics-wrong-schema", "wrong-schema metrics.sqlite", values.metrics_wrong_schema, "columns"),
    ("cli-absurd-numbers", "--minutes nan, --seed 2**64, --bpm 0", values.cli_absurd_numbers, "between"),
    ("dataset-ids-out-of-range", "dataset tensors out of range", values.dataset_ids_out_of_range, "re-import"),
]
# cases that start Python children or train: measured without tracemalloc, with a longer alarm
SLOW = {"resume-on-other-import", "eval-other-import", "two-cli-trainers", "window-killed-while-training",
        "cli-resume-confused-run", "cli-absurd-numbers", "import-kill-9"}

