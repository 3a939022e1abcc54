"""Tools of the hostile-folder scenarios (issue 21; ``scenario_folders.py``, ``scenario_values.py``).

Every case gets a fresh ``tmp`` holding ``outside/`` (the user's other files, next to the project)
and usually ``proj/``; :func:`run_case` snapshots ``outside/`` before, runs the case under a
wall-clock alarm (a FIFO that blocks an ``open`` interrupts it instead of hanging the suite), and
checks: the message names the reason (``words``), nothing under ``outside/`` changed, bounded time
and memory. A case returns the message, or raises :class:`Wrong` when the studio did the wrong thing.
"""
from __future__ import annotations

import json
import os
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from tests.faults.fault_helpers import Measure, Measured

TIME_LIMIT_S = 10.0
RSS_LIMIT = 256 * 2**20
PY_LIMIT = 128 * 2**20


class Wrong(AssertionError):
    """The studio did the wrong thing (followed a link, deleted a file, accepted garbage)."""


# -- helpers ------------------------------------------------------------------------------------------
def _outside(tmp: Path) -> Path:
    out = tmp / "outside"
    (out / "photos").mkdir(parents=True, exist_ok=True)
    for i in range(3):
        (out / "photos" / f"p{i}.txt").write_text(f"user file {i}\n")
    (out / "secret.txt").write_text("root:x:0:0:root:/root:/bin/bash\n")
    return out


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder`` (links not followed): name -> (type, size, mtime)."""
    snap = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            st = os.lstat(p)
            snap[str(p.relative_to(folder))] = (st.st_mode >> 12, st.st_size, st.st_mtime_ns)
    return snap


class _Alarm(Exception):
    pass


@contextmanager
def alarm(seconds: float):
    """Interrupt a blocking call (an ``open`` of a FIFO) after ``seconds`` instead of hanging."""
    def fire(*_):
        raise _Alarm(f"still blocked after {seconds} s (hang)")
    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _project(tmp: Path):
    from studio.core.project import Project

    return Project.create(tmp / "proj", "hostile")


def _text_dataset(folder: Path, text: str = "hello world, a small text. " * 40) -> Path:
    from studio.core.datasets import import_dataset

    folder.parent.mkdir(parents=True, exist_ok=True)
    src = folder.parent / f"{folder.name}-src.txt"
    src.write_text(text)
    res = import_dataset("text", [src], folder)
    assert res.ok, res.skipped
    return folder


# -- files that are not files -------------------------------------------------------------------------
def _hostile_file(path: Path, kind: str) -> None:
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


def _run_with_checkpoint(tmp: Path) -> Path:
    import torch

    from studio.core.training.checkpoints import save_checkpoint

    run = tmp / "proj" / "runs" / "r"
    (run / "checkpoints").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"id": "r", "status": "done", "plugin": {"id": "x"}}))
    save_checkpoint(run / "checkpoints", 5, {"w": torch.zeros(4)}, {"plugin": {"id": "x"}})
    return run



def _refused(call: Callable) -> str:
    try:
        call()
    except (ValueError, OSError) as exc:  # every studio refusal is a ValueError subclass naming the file
        return str(exc)
    raise Wrong("accepted a file that is not a regular file")



def run_case(builder: Callable, tmp: Path, words: str, time_limit: float = TIME_LIMIT_S,
             memory: bool = True) -> tuple[str, Measured, list[str]]:
    """(message, measurements, problems): words present, ``outside/`` untouched, bounded time and memory."""
    tmp.mkdir(parents=True, exist_ok=True)
    outside = _outside(tmp)
    offer = builder(tmp)
    before = snapshot(outside)
    problems: list[str] = []
    msg = ""
    with Measure(trace=memory) as m:
        try:
            with alarm(time_limit):
                msg = offer() or ""
        except Wrong as exc:
            problems.append(str(exc))
        except _Alarm as exc:
            problems.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - a traceback is the failure this suite looks for
            problems.append(f"raised {type(exc).__name__}: {exc}")
    r = m.result
    after = snapshot(outside)
    if after != before:
        changed = sorted(set(before.items()) ^ set(after.items()))
        problems.append(f"files outside the project changed: {changed[:4]}")
    if not problems and words not in msg.lower():
        problems.append(f"the message does not say {words!r}: {msg!r}")
    if memory and (r.rss_growth > RSS_LIMIT or r.py_peak > PY_LIMIT):
        problems.append(f"memory: {r.describe()}")
    return msg, r, problems
