"""Projects: layout, atomic saves, backups, lock, autosave + crash recovery, migrations, undoable edits."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from studio.core.project import BACKUPS_KEPT, PROJECT_FILE, SCHEMA_VERSION, Project, ProjectError, list_backups
from studio.core.project_edits import AddItem, Relabel, RemoveItem, RenameItem, RenameProject, TrashItem, \
    add_bookmark, empty_trash
from studio.core.project_lock import LOCK_FILE, ProjectLockedError, read_lock
from studio.core.project_recent import RecentProjects
from studio.core.project_store import AUTOSAVE_FILE, ProjectSession, needs_recovery

ROOT = Path(__file__).resolve().parents[2]


def _child(code: str, *args: str) -> subprocess.Popen:
    """A separate studio process (a second instance, or one we kill to simulate a crash)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_create_layout_and_roundtrip_keeps_the_public_api(tmp_path):
    proj = Project.create(tmp_path / "p", name="Faces")
    for sub in ("datasets", "runs", "exports"):
        assert (proj.folder / sub).is_dir()
    ref = proj.add_dataset(proj.datasets_dir / "faces")
    assert ref == "datasets/faces" and proj.add_dataset(proj.datasets_dir / "faces") == ref
    proj.add_run(tmp_path / "elsewhere" / "run1")
    proj.bookmarks.append({"name": "smile", "z": [0.1, 0.2]})
    proj.paths.append({"name": "walk", "points": [[0, 0], [1, 1]]})
    proj.ui["open_panels"] = ["latent"]
    proj.save()
    again = Project.open(proj.folder)
    assert (again.name, again.datasets, again.runs) == ("Faces", ["datasets/faces"], [str(tmp_path / "elsewhere" / "run1")])
    assert again.bookmarks == proj.bookmarks and again.paths == proj.paths and again.ui == proj.ui
    assert again.resolve(ref) == proj.folder / "datasets" / "faces"
    assert json.loads((proj.folder / PROJECT_FILE).read_text())["schema_version"] == SCHEMA_VERSION
    assert Project.open_or_create(proj.folder).name == "Faces"
    with pytest.raises(ProjectError, match="already holds a project"):
        Project.create(proj.folder)


def test_unknown_keys_from_a_future_minor_version_survive_a_save(tmp_path):
    proj = Project.create(tmp_path / "p")
    data = json.loads((proj.folder / PROJECT_FILE).read_text())
    data["colour_scheme"] = {"accent": "teal"}
    (proj.folder / PROJECT_FILE).write_text(json.dumps(data))
    again = Project.open(proj.folder)
    again.name = "renamed"
    again.save()
    assert json.loads((proj.folder / PROJECT_FILE).read_text())["colour_scheme"] == {"accent": "teal"}


@pytest.mark.parametrize("crash_at", ["fsync", "replace"])
def test_a_crash_mid_save_leaves_the_previous_project_json_intact(tmp_path, crash_at):
    proj = Project.create(tmp_path / "p", name="Before")
    before = (proj.folder / PROJECT_FILE).read_bytes()
    child = _child("""
        import os, signal, sys
        from studio.core.project import Project
        p = Project.open(sys.argv[1]); p.name = "After"; p.bookmarks = [{"name": "b", "z": [0.0] * 5000}]
        real = getattr(os, sys.argv[2])
        def die(*a, **k):
            os.kill(os.getpid(), signal.SIGKILL)  # the power goes out right here
        setattr(os, sys.argv[2], die)
        p.save()
    """, str(proj.folder), crash_at)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    assert (proj.folder / PROJECT_FILE).read_bytes() == before
    assert list(proj.folder.glob(".project.json.*.tmp")), "the crash should have left a temp file behind"
    session = ProjectSession.open(proj.folder)  # opens fine and sweeps the half-written temp file
    assert session.project.name == "Before"
    assert not list(proj.folder.glob(".project.json.*.tmp"))
    session.close()


def test_the_last_five_saves_are_kept_as_backups(tmp_path):
    proj = Project.create(tmp_path / "p")
    for i in range(8):
        proj.name = f"v{i}"
        proj.save()
    proj.save()  # an identical save does not push history out
    backups = list_backups(proj.folder)
    assert len(backups) == BACKUPS_KEPT
    names = [json.loads(b.read_text())["name"] for b in backups]
    assert names == ["v7", "v6", "v5", "v4", "v3"]


def test_backups_keep_save_order_across_a_second_boundary_and_within_one_microsecond(tmp_path, monkeypatch):
    import time as real_time

    import studio.core.project as project_mod

    proj = Project.create(tmp_path / "p")
    # (after the real create save) saves at :00.999999 and :01.000001, then two in the same microsecond
    clock = iter([4_000_000_000_999_999_000, 4_000_000_001_000_001_000, 4_000_000_002_000_000_000,
                  4_000_000_002_000_000_000])
    monkeypatch.setattr(project_mod.time, "time_ns", lambda: next(clock))
    for i in range(4):
        proj.bookmarks.append({"name": f"save {i}"})
        proj.save()
    monkeypatch.setattr(project_mod.time, "time_ns", real_time.time_ns)
    newest_first = [json.loads(b.read_text())["bookmarks"][-1]["name"] for b in list_backups(proj.folder)[:4]]
    assert newest_first == ["save 3", "save 2", "save 1", "save 0"]


def test_a_second_running_instance_is_refused_politely_and_a_killed_one_is_recovered(tmp_path):
    folder = Project.create(tmp_path / "p", name="Shared").folder
    child = _child("""
        import sys, time
        from studio.core.project_store import ProjectSession
        s = ProjectSession.open(sys.argv[1])
        s.project.bookmarks.append({"name": "unsaved idea", "z": [1.0, 2.0]})
        s.changed()  # a structural change autosaves at once
        print("ready", flush=True)
        time.sleep(60)
    """, str(folder))
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        with pytest.raises(ProjectLockedError, match="already open in another Generative Studio") as err:
            ProjectSession.open(folder)
        assert str(child.pid) in str(err.value) and not err.value.foreign
        assert not needs_recovery(folder)  # its autosave belongs to a running studio
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert needs_recovery(folder)
    session = ProjectSession.open(folder)
    assert session.recovery is not None and session.recovery.crashed
    assert session.recovery.lock.pid == child.pid
    assert "stopped unexpectedly" in session.recovery.describe()
    session.restore_autosave()
    assert session.project.bookmarks == [{"name": "unsaved idea", "z": [1.0, 2.0]}] and session.dirty
    session.close()  # clean exit: saved, autosave and lock gone
    assert not (folder / AUTOSAVE_FILE).exists() and not (folder / LOCK_FILE).exists()
    assert Project.open(folder).bookmarks[0]["name"] == "unsaved idea"


def test_lock_states_stale_recycled_garbage_this_window_and_other_host(tmp_path):
    folder = Project.create(tmp_path / "p").folder
    lock = folder / LOCK_FILE
    host = socket.gethostname()
    lock.write_text(json.dumps({"pid": _dead_pid(), "hostname": host}))
    s = ProjectSession.open(folder)  # stale: the process is gone
    assert read_lock(folder).pid == os.getpid()
    with pytest.raises(ProjectLockedError, match="already open in this window"):
        ProjectSession.open(folder)
    s.close()
    assert not lock.exists()
    # A live pid whose start time differs: the pid was recycled, the lock is stale.
    lock.write_text(json.dumps({"pid": os.getppid(), "hostname": host, "proc_start": "1"}))
    ProjectSession.open(folder).close()
    lock.write_text("\x00garbage{{{")
    ProjectSession.open(folder).close()
    lock.write_text(json.dumps({"pid": 4242, "hostname": "render-farm-7", "user": "ana"}))
    with pytest.raises(ProjectLockedError, match="render-farm-7") as err:
        ProjectSession.open(folder)
    assert err.value.foreign
    ProjectSession.open(folder, force=True).close()


def test_autosave_only_holds_unsaved_work_and_a_clean_exit_removes_it(tmp_path):
    s = ProjectSession.create(tmp_path / "p")
    assert not s.autosave() and not s.autosave_path.exists()
    s.project.add_dataset(s.folder / "datasets" / "a")
    assert s.changed() and s.autosave_path.exists()
    assert not s.autosave()  # nothing new since the last autosave
    s.save()
    assert not s.autosave_path.exists() and not s.dirty
    s.project.add_run(s.folder / "runs" / "r")
    s.autosave()
    s.close()
    assert not s.autosave_path.exists() and Project.open(s.folder).runs == ["runs/r"]


def test_an_identical_autosave_is_dropped_and_a_discarded_one_kept_in_backups(tmp_path):
    proj = Project.create(tmp_path / "p")
    (proj.folder / AUTOSAVE_FILE).write_text(proj.text())
    s = ProjectSession.open(proj.folder)
    assert s.recovery is None and not (proj.folder / AUTOSAVE_FILE).exists()
    s.close()
    proj.name = "autosaved name"
    (proj.folder / AUTOSAVE_FILE).write_text(proj.text())
    s = ProjectSession.open(proj.folder)
    assert s.recovery is not None and not s.recovery.crashed  # no stale lock: just not closed properly
    s.discard_autosave()
    assert s.project.name == "p"
    assert list((proj.folder / ".backups").glob("discarded-autosave-*.json"))
    s.close()


def test_v0_project_is_migrated_and_its_original_kept(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    v0 = {"title": "Old songs", "datasets": [{"path": "datasets/folk", "name": "Folk tunes"}],
          "runs": [{"path": "runs/rnn-1"}], "bookmarks": {"happy": [0.5, -0.5]}, "panels": ["melody"]}
    (folder / PROJECT_FILE).write_text(json.dumps(v0))
    s = ProjectSession.open(folder)
    p = s.project
    assert (p.name, p.datasets, p.runs) == ("Old songs", ["datasets/folk"], ["runs/rnn-1"])
    assert p.label("datasets/folk") == "Folk tunes" and p.label("runs/rnn-1") == "rnn-1"
    assert p.bookmarks == [{"name": "happy", "z": [0.5, -0.5]}] and p.ui == {"open_panels": ["melody"]}
    assert s.dirty, "an upgraded project must be written back in the new schema"
    assert any("upgraded" in n for n in s.notes)
    original = list((folder / ".backups").glob("migrated-from-v0-*.json"))
    assert original and json.loads(original[0].read_text()) == v0
    s.close()
    assert json.loads((folder / PROJECT_FILE).read_text())["schema_version"] == SCHEMA_VERSION


def test_v1_project_gains_labels_and_trash(tmp_path):
    folder = tmp_path / "v1"
    folder.mkdir()
    (folder / PROJECT_FILE).write_text(json.dumps({"schema_version": 1, "name": "n", "datasets": ["d"],
                                                   "runs": [], "bookmarks": [], "paths": [], "ui": {}}))
    p = Project.open(folder)
    assert p.labels == {} and p.trash == [] and p.datasets == ["d"] and p.loaded_version == 1


def test_undoable_edits_apply_and_revert(tmp_path):
    p = Project.create(tmp_path / "p")
    edits = [add_bookmark({"name": "a", "z": [0.0]}), AddItem("paths", {"name": "walk", "points": []}),
             RenameItem("bookmarks", 0, "brighter"), RenameProject("Studio album")]
    for e in edits:
        e.apply(p)
    assert p.bookmarks == [{"name": "brighter", "z": [0.0]}] and p.paths[0]["name"] == "walk" and p.name == "Studio album"
    remove = RemoveItem("bookmarks", 0)
    remove.apply(p)
    assert p.bookmarks == []
    remove.revert(p)
    for e in reversed(edits):
        e.revert(p)
    assert (p.bookmarks, p.paths, p.name) == ([], [], "p")
    with pytest.raises(ProjectError, match="cannot be empty"):
        RenameProject("  ")


def test_deleting_a_dataset_moves_it_to_trash_and_undo_brings_it_back(tmp_path):
    p = Project.create(tmp_path / "p")
    ds = p.datasets_dir / "faces"
    ds.mkdir()
    (ds / "manifest.json").write_text("{}")
    ref = p.add_dataset(ds)
    outside = tmp_path / "my-own-folder"
    outside.mkdir()
    ext = p.add_dataset(outside)
    Relabel(ref, "My faces").apply(p)
    delete = TrashItem("dataset", ref)
    delete.apply(p)
    assert not ds.exists() and p.datasets == [ext] and ref not in p.labels
    assert (p.folder / p.trash[0]["trashed"] / "manifest.json").exists()
    delete.revert(p)
    assert (ds / "manifest.json").exists() and p.datasets == [ref, ext] and p.label(ref) == "My faces"
    assert p.trash == []
    drop = TrashItem("dataset", ext)  # the user's own folder is only dropped from the list
    drop.apply(p)
    assert outside.exists() and p.datasets == [ref]
    delete = TrashItem("dataset", ref)
    delete.apply(p)
    assert empty_trash(p) == 1 and not list(p.trash_dir.iterdir())
    with pytest.raises(ProjectError, match="trash was emptied"):
        delete.revert(p)


def test_a_training_run_cannot_be_deleted(tmp_path):
    p = Project.create(tmp_path / "p")
    run = p.runs_dir / "r1"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"status": "running", "pid": os.getpid()}))
    ref = p.add_run(run)
    with pytest.raises(ProjectError, match="still training"):
        TrashItem("run", ref).apply(p)
    (run / "run.json").write_text(json.dumps({"status": "running", "pid": _dead_pid()}))  # crashed run
    TrashItem("run", ref).apply(p)
    assert p.runs == []


def test_recent_projects_newest_first_bounded_and_robust(tmp_path):
    recent = RecentProjects(tmp_path / "recent.json", limit=3)
    for i in range(5):
        recent.add(tmp_path / f"p{i}")
    assert [f.name for f in recent.folders()] == ["p4", "p3", "p2"]
    recent.add(tmp_path / "p2")
    assert recent.folders()[0].name == "p2"
    recent.remove(tmp_path / "p2")
    assert [f.name for f in recent.folders()] == ["p4", "p3"]
    (tmp_path / "recent.json").write_bytes(b"[" * 100_000)
    assert recent.entries() == []
    recent.add(tmp_path / "fresh")
    assert [f.name for f in recent.folders()] == ["fresh"]
