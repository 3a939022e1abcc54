"""Why a process of a torchrun run failed, kept in the run folder so the run reports it.

Under DDP, one process failing makes the others fail too ("Connection closed by
peer"), and torchrun may kill rank 0 before it records anything. So every
process that fails writes ``failed-rank-<r>.json`` (atomically) before it leaves
the process group: rank, step, the loop's reason, exception type and message, a
short traceback tail, and whether the error came out of a collective (a peer
vanished: a consequence, not the cause). Whoever finalises ``run.json`` (rank 0,
or :func:`studio.core.training.run_folder.effective_status` when rank 0 died too)
names the earliest failure that is a cause: ``rank 1 failed: step 3: ValueError: ...``.
"""
from __future__ import annotations

import logging
import os
import re
import time
import traceback
from pathlib import Path
from typing import Any

from studio.core.fileio import atomic_write_json, read_json

PATTERN = re.compile(r"^failed-rank-(\d+)\.json$")
log = logging.getLogger("studio.training")


def failure_file(folder: str | Path, rank: int) -> Path:
    return Path(folder) / f"failed-rank-{int(rank)}.json"


def lost_contact(exc: BaseException) -> bool:
    """Whether ``exc`` came out of a torch.distributed call (a peer gone), not from the step itself."""
    try:
        from torch.distributed import DistError  # torch >= 2.1
        if isinstance(exc, DistError):
            return True
    except ImportError:
        pass
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    if any(f"torch{os.sep}distributed{os.sep}" in f.filename for f in frames):
        return True
    # DDP all-reduces inside backward (grad_sync.py): a peer gone surfaces from autograd's C++
    # engine, with only the transport's words to say so
    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in _TRANSPORT_ERRORS)


_TRANSPORT_ERRORS = ("Connection closed by peer", "Connection reset by peer", "/gloo/transport/", "ProcessGroupNCCL",
                     "NCCL communicator was aborted", "Broken pipe", "DistNetworkError", "DistBackendError")


def record(folder: str | Path, rank: int, step: int, reason: str, exc: BaseException | None) -> dict[str, Any]:
    """Write this process's failure (never raises: the caller is already failing)."""
    entry: dict[str, Any] = {"rank": int(rank), "step": int(step), "reason": reason, "time": time.time(),
                             "pid": os.getpid(), "type": type(exc).__name__ if exc else "",
                             "message": str(exc)[:2000] if exc else "",
                             "traceback": _tail(exc), "lost_contact": bool(exc is not None and lost_contact(exc))}
    try:
        atomic_write_json(failure_file(folder, rank), entry)
    except OSError as e:  # e.g. disk full: run.json (rank 0) or stderr still say something
        log.error("could not record the failure of rank %s in %s: %s", rank, folder, e)
    return entry


def _tail(exc: BaseException | None, lines: int = 8) -> str:
    if exc is None:
        return ""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return "\n".join(text.rstrip().splitlines()[-lines:])[-3000:]


def read_all(folder: str | Path) -> list[dict[str, Any]]:
    """Every readable ``failed-rank-*.json`` of ``folder``, earliest first."""
    out = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        if not PATTERN.match(name):
            continue
        try:
            entry = read_json(Path(folder) / name, max_bytes=1 << 20)
        except (OSError, ValueError):
            continue
        if isinstance(entry, dict) and isinstance(entry.get("rank"), int):
            out.append(entry)
    return sorted(out, key=lambda e: (float(e.get("time") or 0), e["rank"]))


def root_cause(folder: str | Path) -> dict[str, Any] | None:
    """The earliest failure that is not just a process losing contact with a failed peer."""
    return next((e for e in read_all(folder) if not e.get("lost_contact")), None)


def describe(entry: dict[str, Any]) -> str:
    reason = entry.get("reason") or f"{entry.get('type', 'error')}: {entry.get('message', '')}"
    return f"rank {entry['rank']} failed: {reason}"


def clear(folder: str | Path) -> None:
    """Forget the failures of an earlier session (rank 0, before the processes meet)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if PATTERN.match(name):
            try:
                os.unlink(Path(folder) / name)
            except OSError:
                pass


def final_reason(folder: str | Path, own: dict[str, Any]) -> str:
    """Rank 0's reason for ``run.json``: the cause, whichever process it was in."""
    cause = root_cause(folder)
    if cause is not None:
        return describe(cause)
    if own.get("lost_contact"):
        return (f"rank {own['rank']} lost contact with another process at step {own['step']} "
                f"(that process ended without recording why): {own['type']}: {own['message']}")
    return describe(own)


def stale_reason(folder: str | Path, step: int) -> str | None:
    """Reason for a run whose rank 0 vanished: a recorded cause, or ``None`` when there is none."""
    cause = root_cause(folder)
    if cause is not None:
        return describe(cause)
    if read_all(folder):  # only peers that lost contact: rank 0 itself went first
        return (f"the trainer process (rank 0) ended unexpectedly at step {step}; "
                f"the other processes then lost contact with it")
    return None
