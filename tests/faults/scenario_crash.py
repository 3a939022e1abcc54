"""Scenario 5: the whole studio process dies (SIGKILL, or ``os._exit`` inside a write) while it autosaves
or saves the project, or while it writes a checkpoint. The next start must find a consistent project
(the newest acknowledged edit recoverable) and the previous checkpoint loadable.

Child entry points (``*_loop``, ``*_dies_at``) run in processes forked by the Zygote; they print one
acknowledgement line after each write returned, which is the work a user could have seen saved.
"""
from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.fault_helpers import Zygote

TENSOR_SHAPE = (256, 1024)   # 1 MiB of float32: long enough a write that kills land inside it


# -- children ------------------------------------------------------------------------------------
def _edit(project, n: int) -> None:
    project.ui["counter"] = n
    project.bookmarks.append({"name": f"b{n}", "vector": [n / 7.0] * 256})
    del project.bookmarks[:-20]  # bounded size: every save stays a few tens of kB


def project_loop(folder: str) -> int:
    """The studio's project life: edit, autosave on each change, save every third edit; forever."""
    from studio.core.project_store import ProjectSession

    session = ProjectSession.open(folder)
    if session.recovery is not None:
        session.restore_autosave()
    n = int(session.project.ui.get("counter", 0))
    while True:
        n += 1
        _edit(session.project, n)
        session.changed()
        print(f"autosaved {n}", flush=True)
        if n % 3 == 0:
            session.save()
            print(f"saved {n}", flush=True)


def checkpoint_loop(run_dir: str) -> int:
    """A trainer that only writes checkpoints (keep the last two), forever."""
    import torch

    from studio.core.training.checkpoints import latest_checkpoint, prune, save_checkpoint

    run = Path(run_dir)
    last = latest_checkpoint(run)
    n = last.step if last else 0
    while True:
        n += 1
        save_checkpoint(run / "checkpoints", n, {"w": torch.full(TENSOR_SHAPE, float(n))}, {"plugin": {"id": "x"}})
        print(f"ckpt {n}", flush=True)
        prune(run, keep_last=2)


def _die_at(nth: int) -> None:
    """The nth call to fsync or replace from now on ends the process at once (power cut / kill)."""
    count = {"n": 0}
    real = {"fsync": os.fsync, "replace": os.replace}

    def wrap(name):
        def fn(*args, **kw):
            count["n"] += 1
            if count["n"] == nth:
                os._exit(9)
            return real[name](*args, **kw)
        return fn

    os.fsync, os.replace = wrap("fsync"), wrap("replace")


def project_save_dies_at(folder: str, nth: str) -> int:
    from studio.core.project_store import ProjectSession

    session = ProjectSession.open(folder, force=True)
    n = int(session.project.ui.get("counter", 0)) + 1
    _edit(session.project, n)
    _die_at(int(nth))
    session.changed()
    session.save()
    return 0


def checkpoint_save_dies_at(run_dir: str, nth: str) -> int:
    import torch

    from studio.core.training.checkpoints import latest_checkpoint, save_checkpoint

    run = Path(run_dir)
    n = latest_checkpoint(run).step + 1
    _die_at(int(nth))
    save_checkpoint(run / "checkpoints", n, {"w": torch.full(TENSOR_SHAPE, float(n))}, {"plugin": {"id": "x"}})
    return 0


# -- checks ----------------------------------------------------------------------------------------
def _acks(path: Path, word: str) -> int:
    best = 0
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == word and parts[1].isdigit():
            best = max(best, int(parts[1]))
    return best


def check_project(folder: Path, acked: int) -> tuple[int, list[str]]:
    """Open as the next studio start would; returns (edits recovered, problems)."""
    from studio.core.project import Project
    from studio.core.project_store import ProjectSession

    problems: list[str] = []
    try:
        session = ProjectSession.open(folder)
    except Exception as exc:  # noqa: BLE001 - the project must open whatever happened
        return 0, [f"the project does not open: {type(exc).__name__}: {exc}"]
    try:
        recovered = int(session.project.ui.get("counter", 0))
        if session.recovery is not None:
            recovered = int(Project.load_file(folder, session.recovery.autosave).ui.get("counter", 0))
        if recovered < acked:
            problems.append(f"acknowledged edit {acked} lost: only {recovered} recovered")
        if recovered > acked + 1:
            problems.append(f"recovered edit {recovered} was never made (acknowledged {acked})")
        for b in session.backups():
            try:
                Project.load_file(folder, b)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"backup {b.name} is damaged: {exc}")
        leftovers = [p.name for p in folder.glob(".*.tmp")]
        if leftovers:
            problems.append(f"temp files left after open: {leftovers}")
    finally:
        session.close(save=False)
    return recovered, problems


def check_checkpoints(run: Path, acked: int) -> tuple[int, list[str]]:
    from studio.core.training.checkpoints import latest_checkpoint, list_checkpoints, read_checkpoint

    newest = latest_checkpoint(run)
    if newest is None:
        return 0, ([f"no valid checkpoint although {acked} was written"] if acked else [])
    problems = []
    if newest.step < acked:
        problems.append(f"acknowledged checkpoint {acked} lost (newest valid {newest.step})")
    for info in list_checkpoints(run):
        try:
            tensors, _ = read_checkpoint(info.path)
            if float(tensors["w"].min()) != info.step or float(tensors["w"].max()) != info.step:
                problems.append(f"checkpoint {info.step} holds the data of another step")
        except Exception as exc:  # noqa: BLE001
            problems.append(f"checkpoint {info.step} passes the quick checks but does not load: {exc}")
    return newest.step, problems


@dataclass
class CrashReport:
    kind: str
    kills: int = 0
    survived: int = 0
    lost: int = 0                 # acknowledged saves that were not recoverable (must be 0)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def random_kills(zyg: Zygote, workdir: Path, kind: str, kills: int = 10, seed: int = 5,
                 max_delay: float = 0.4) -> CrashReport:
    """SIGKILL ``project_loop`` or ``checkpoint_loop`` at random moments, checking after each kill."""
    from studio.core.project_store import ProjectSession

    t0 = time.perf_counter()
    rng = random.Random(seed)
    target = workdir / kind
    if kind == "project":
        ProjectSession.create(target, "Crash test").close()
        call, word, check = "tests.faults.scenario_crash:project_loop", "autosaved", check_project
    else:
        (target / "checkpoints").mkdir(parents=True)
        call, word, check = "tests.faults.scenario_crash:checkpoint_loop", "ckpt", check_checkpoints
    rep = CrashReport(kind)
    acked = 0
    for i in range(kills):
        out, err = workdir / f"{kind}-{i}.out", workdir / f"{kind}-{i}.err"
        pid = zyg.spawn(call, [target], out, err)
        time.sleep(rng.uniform(0.05, max_delay))
        rc = zyg.kill(pid)
        rep.kills += 1
        acked = max(acked, _acks(out, word))
        problems = [] if rc == -9 else [f"child ended by itself (rc {rc}): {err.read_text()[-300:]}"]
        recovered, more = check(target, acked)
        problems += more
        rep.lost += max(0, acked - recovered)
        acked = max(acked, recovered)  # the next start continues from what was recovered
        rep.survived += not problems
        rep.problems += problems
    rep.seconds = time.perf_counter() - t0
    return rep


def kill_inside_writes(zyg: Zygote, workdir: Path, kind: str) -> CrashReport:
    """Die at the 1st, 2nd, ... fsync/replace of one save until a save completes; check after each."""
    import torch

    from studio.core.project_store import ProjectSession
    from studio.core.training.checkpoints import save_checkpoint

    t0 = time.perf_counter()
    target = workdir / f"{kind}-points"
    if kind == "project":
        s = ProjectSession.create(target, "Write points")
        s.project.ui["counter"] = 1
        s.save()
        s.close()
        call, check = "tests.faults.scenario_crash:project_save_dies_at", check_project
    else:
        save_checkpoint(target / "checkpoints", 1, {"w": torch.full(TENSOR_SHAPE, 1.0)}, {"plugin": {"id": "x"}})
        call, check = "tests.faults.scenario_crash:checkpoint_save_dies_at", check_checkpoints
    rep = CrashReport(f"{kind} (every write point)")
    acked = 1
    for nth in range(1, 40):
        out, err = workdir / f"{kind}-pt{nth}.out", workdir / f"{kind}-pt{nth}.err"
        rc = zyg.wait(zyg.spawn(call, [target, nth], out, err))
        if rc == 0:
            break  # this save had fewer than nth write points: all of them were tried
        rep.kills += 1
        if rc != 9:
            rep.problems.append(f"point {nth}: child failed (rc {rc}): {err.read_text()[-300:]}")
        recovered, problems = check(target, acked)
        if recovered not in (acked, acked + 1):
            problems.append(f"point {nth}: recovered {recovered}, expected {acked} or {acked + 1}")
        acked = max(acked, recovered)  # a save that got through counts from now on
        rep.lost += 0 if recovered >= acked else acked - recovered
        rep.survived += not problems
        rep.problems += [f"point {nth}: {p}" for p in problems]
    else:
        rep.problems.append("the save never completed in 39 attempts")
    rep.seconds = time.perf_counter() - t0
    return rep
