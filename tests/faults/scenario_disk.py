"""Scenario 6: ENOSPC while saving the project, writing a checkpoint and exporting.

Two ways to fill a disk: a real small tmpfs (``mount -t tmpfs``, when this process may mount) that we
fill to the last byte, or ENOSPC injected at the write layer (``os.fsync`` / ``os.write`` of files
under one folder fail as a full disk would). Each check expects the words "no space left on device",
older data intact and no temporary files left behind.
"""
from __future__ import annotations

import errno
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

NO_SPACE = "no space left on device"


def can_mount_tmpfs(where: Path) -> bool:
    if os.name != "posix" or os.geteuid() != 0:
        return False
    where.mkdir(parents=True, exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
                        capture_output=True).returncode == 0
    if ok:
        subprocess.run(["umount", str(where)], capture_output=True)
    return ok


class Disk:
    """A folder whose disk can be filled (``fill``) and freed (``free``)."""

    def __init__(self, root: Path, mode: str, monkeypatch=None):
        self.root, self.mode, self.mp = root, mode, monkeypatch
        self.full = False
        self._filler = root / ".filler"

    def fill(self) -> None:
        self.full = True
        if self.mode == "tmpfs":
            fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                size = 1 << 20
                while size:  # big writes, then smaller ones for the last pages
                    try:
                        os.write(fd, b"\0" * size)
                    except OSError as exc:
                        assert exc.errno == errno.ENOSPC, exc
                        size //= 2
            finally:
                os.close(fd)

    def free(self) -> None:
        self.full = False
        self._filler.unlink(missing_ok=True)

    def tmp_files(self) -> list[str]:
        return [str(p.relative_to(self.root)) for p in self.root.rglob("*.tmp")]


@contextmanager
def disk(root: Path, mode: str, monkeypatch=None):
    """Yield a :class:`Disk` at ``root``: a 4 MiB tmpfs, or a folder with ENOSPC injected once full."""
    root.mkdir(parents=True, exist_ok=True)
    if mode == "tmpfs":
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(root)], check=True,
                       capture_output=True)
    d = Disk(root, mode, monkeypatch)
    if mode == "injected":
        _inject(d, monkeypatch)
    try:
        yield d
    finally:
        if mode == "tmpfs":
            subprocess.run(["umount", "-l", str(root)], capture_output=True)


def _fd_path(fd) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def _inject(d: Disk, monkeypatch) -> None:
    root = str(d.root.resolve())
    real_fsync, real_write = os.fsync, os.write

    def enospc(fd):
        if d.full and _fd_path(fd).startswith(root) and os.path.isfile(_fd_path(fd)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fsync(fd):
        enospc(fd)
        return real_fsync(fd)

    def write(fd, data):
        enospc(fd)
        return real_write(fd, data)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "write", write)


# -- the three writers ----------------------------------------------------------------------------
def project_on_full_disk(d: Disk) -> list[str]:
    """Save, fill the disk, edit + autosave + save (both refused in words), free, save again."""
    from studio.core.project import Project
    from studio.core.project_schema import ProjectError
    from studio.core.project_store import ProjectSession

    problems = []
    folder = d.root / "proj"
    s = ProjectSession.create(folder, "Full disk")
    s.project.ui["counter"] = 1
    s.save()
    backups = {b.name: b.read_bytes() for b in s.backups()}
    d.fill()
    s.project.ui["counter"] = 2
    s.project.bookmarks.append({"name": "big", "vector": [0.5] * 4096})
    for what, call in (("autosave", s.changed), ("save", s.save)):
        try:
            call()
            problems.append(f"project {what} on a full disk did not fail")
        except ProjectError as exc:
            if NO_SPACE not in str(exc) or "project" not in str(exc):
                problems.append(f"project {what}: unclear message {exc}")
    if Project.open(folder).ui.get("counter") != 1:
        problems.append("the saved project changed although the save failed")
    if {b.name: b.read_bytes() for b in s.backups()} != backups:
        problems.append("backups changed although the save failed")
    if d.tmp_files():
        problems.append(f"temp files left: {d.tmp_files()}")
    d.free()
    s.save()
    s.close()
    if Project.open(folder).ui.get("counter") != 2:
        problems.append("saving after space was freed did not work")
    return problems


def checkpoint_on_full_disk(d: Disk) -> list[str]:
    """Train; after the first checkpoint the disk fills: the run fails in words, checkpoint 5 stays."""
    from studio.core.training.checkpoints import list_checkpoints, load_model
    from studio.core.training.engine import train
    from studio.core.training.run_folder import read_run
    from tests.fixtures.toy_plugins import data as toy_data
    from tests.fixtures.toy_plugins import image

    problems = []
    run = d.root / "run"

    def hook(ev):
        if ev["event"] == "checkpoint" and not d.full:
            d.fill()

    res = train(image.plugin, toy_data.image_data(), run, steps=40, hooks=hook,
                settings={"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_minutes": 0,
                          "checkpoint_every": 5})
    if res.status != "failed" or NO_SPACE not in res.reason.lower():
        problems.append(f"checkpoint: run ended {res.status}: {res.reason!r}")
    d.free()
    try:  # whole and readable; it says failed where the disk still had room for run.json
        info = read_run(run)
        if info["status"] == "failed" and NO_SPACE not in info["reason"].lower():
            problems.append(f"run.json records another reason: {info['reason']!r}")
    except Exception as exc:  # noqa: BLE001
        problems.append(f"run.json unreadable after a full disk: {exc}")
    if [c.step for c in list_checkpoints(run)] != [5] or load_model(run, plugin=image.plugin)[2].step != 5:
        problems.append(f"checkpoint 5 not kept: {[c.step for c in list_checkpoints(run, include_invalid=True)]}")
    if d.tmp_files():
        problems.append(f"temp files left: {d.tmp_files()}")
    return problems


def export_on_full_disk(d: Disk, run_dir: Path, capsys=None) -> list[str]:
    """Export 2 images, fill the disk, export 4 more (refused in words): the first two stay intact."""
    import studio.cli

    problems = []
    out = d.root / "exports"
    args = ["generate", "--run", str(run_dir), "--out", str(out), "--n", "2", "--seed", "1"]
    if studio.cli.main(args) != 0:
        return ["export before the disk filled failed"]
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    d.fill()
    if capsys is not None:
        capsys.readouterr()
    rc = studio.cli.main(["generate", "--run", str(run_dir), "--out", str(out), "--n", "4", "--seed", "2"])
    err = capsys.readouterr().err if capsys is not None else ""
    if rc == 0:
        problems.append("export on a full disk reported success")
    if capsys is not None and (NO_SPACE not in err or "Traceback" in err):
        problems.append(f"export: unclear message {err!r}")
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.name in before}
    if after != before:
        problems.append("earlier exports changed")
    if d.tmp_files():
        problems.append(f"temp files left: {d.tmp_files()}")
    d.free()
    return problems
