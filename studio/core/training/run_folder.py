"""The run folder (stable format, docs/architecture.md "Run folder").

``run.json`` is rewritten atomically on every status change, at each
checkpoint and at most once a second while training, so a reader always sees
a whole file whose ``step`` is the last completed step. A run whose
``run.json`` says running/paused but whose trainer process is gone is
reported as failed by :func:`effective_status` (under torchrun, with the reason a
failed process left in ``failed-rank-<r>.json``).
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from studio.core.fileio import atomic_write_json, read_json
from studio.core.training.events import ACTIVE_STATES, LIVE_STATES, RunStatus

RUN_FILE = "run.json"
METRICS_FILE = "metrics.sqlite"
CONTROL_FILE = "control.json"
CHECKPOINTS = "checkpoints"
SAMPLES = "samples"
MAX_RUN_BYTES = 16 * 1024 * 1024


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked, with the reason in words."""


def is_run_folder(folder: str | Path) -> bool:
    return (Path(folder) / RUN_FILE).is_file()


def read_run(folder: str | Path) -> dict[str, Any]:
    """``run.json`` of a run folder: the one reader of it (front ends, exporters, the engine).

    ``RunFolderError`` (a ``ValueError``) naming the file when it is missing, unreadable,
    not JSON or not an object.
    """
    path = Path(folder) / RUN_FILE
    if not path.exists() and not path.is_symlink():
        raise RunFolderError(f"{folder} is not a run folder (no {RUN_FILE})")
    try:
        data = read_json(path, max_bytes=MAX_RUN_BYTES, what="run description")
    except FileNotFoundError:  # a dangling link
        raise RunFolderError(f"{folder} is not a run folder (no {RUN_FILE})") from None
    except ValueError as exc:  # the guarded reader's message names the file (FIFO, device, too large)
        raise RunFolderError(str(exc)) from exc
    except OSError as exc:
        raise RunFolderError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    if not isinstance(data, dict):
        raise RunFolderError(f"{path}: not a run description (a JSON {type(data).__name__}, not an object)")
    wrong = _type_problem(data)
    if wrong:  # a hand-edited or hostile run.json: say which field, never AttributeError later
        raise RunFolderError(f"{path}: damaged run description ({wrong})")
    return data


_OBJECTS = ("plugin", "dataset", "config", "engine", "data_spec", "best")
_WHOLE = ("step", "max_steps", "pid", "world_size", "threads", "seed")
_TEXTS = ("id", "status", "reason", "host", "device", "device_name", "precision")
_TIMES = ("created", "updated", "started", "max_minutes")


def _type_problem(data: dict[str, Any]) -> str | None:
    """The first field of ``run.json`` whose type is wrong, in words; None when all known fields fit."""
    import math

    for key in _OBJECTS:
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"'{key}' should be an object, not {type(data[key]).__name__}"
    for key in _WHOLE:
        v = data.get(key)
        if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and -2**63 <= v < 2**63):
            return f"'{key}' should be a whole number, not {str(v)[:40]!r}"
    for key in _TEXTS:
        if data.get(key) is not None and not isinstance(data[key], str):
            return f"'{key}' should be text, not {type(data[key]).__name__}"
    for key in _TIMES:
        v = data.get(key)
        if v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)):
            return f"'{key}' should be a number, not {str(v)[:40]!r}"
    for key in ("plugin", "dataset"):
        for sub in ("id", "version", "path", "fingerprint"):
            v = (data.get(key) or {}).get(sub)
            if v is not None and not isinstance(v, str):
                return f"'{key}.{sub}' should be text, not {type(v).__name__}"
    return None


def run_id(folder: str | Path) -> str:
    """The run's id from its ``run.json``, else the folder's name (a copied or damaged run still has one)."""
    try:
        return str(read_run(folder).get("id") or Path(folder).name)
    except RunFolderError:
        return Path(folder).name


def pid_alive(pid: int | None, host: str | None = None) -> bool | None:
    """Whether ``pid`` runs here; ``None`` when unknowable (another machine)."""
    if not pid:
        return False
    if host and host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return None
    # A zombie child still "exists" for kill(0); /proc says whether it is dead.
    try:
        with open(f"/proc/{int(pid)}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def effective_status(run: dict[str, Any], folder: str | Path | None = None) -> tuple[str, str]:
    """(status, reason), turning a running run whose trainer vanished into failed.

    Given the run's ``folder``, a torchrun run whose rank 0 vanished names the process
    that failed first and why (``failed-rank-<r>.json``, see ``rank_failures``).
    """
    status, reason = run.get("status", RunStatus.CREATED), run.get("reason", "") or ""
    if status in LIVE_STATES and pid_alive(run.get("pid"), run.get("host")) is False:
        return RunStatus.FAILED, _vanished_reason(run, folder)
    return status, reason


def _vanished_reason(run: dict[str, Any], folder: str | Path | None) -> str:
    step = run.get("step", 0)
    if folder is not None and int(run.get("world_size") or 1) > 1:
        from studio.core.training.rank_failures import stale_reason
        found = stale_reason(folder, step)
        if found:
            return found
    return f"the trainer process ended unexpectedly at step {step}"


class RunFolder:
    """Paths of a run folder and ``run.json`` updates for the (rank-0) trainer."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder)
        self.data: dict[str, Any] = {}
        self._last_write = 0.0
        self.submission: dict[str, Any] | None = None  # run.json of the submission this trainer claimed

    # -- paths ----------------------------------------------------------------
    @property
    def run_file(self) -> Path:
        return self.path / RUN_FILE

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def control_file(self) -> Path:
        return self.path / CONTROL_FILE

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def samples_dir(self) -> Path:
        return self.path / SAMPLES

    # -- claiming -------------------------------------------------------------
    def check_usable(self, resume: bool) -> dict[str, Any] | None:
        """The previous run's ``run.json`` when resuming; refuse a folder that holds something else."""
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f"{self.path} is a file, not a run folder")
        if is_run_folder(self.path):
            old = read_run(self.path)
            if self._claims_submission(old):  # the job `studio train --submit` queued for this folder
                self.submission = old
                if not resume:
                    return None
            if not resume:
                raise RunFolderError(
                    f"{self.path} already holds run {old.get('id', '?')} ({old.get('plugin', {}).get('id', '?')}, "
                    f"step {old.get('step', 0)}, {old.get('status', '?')}); pass --resume to continue it "
                    f"or choose another folder")
            status, _ = effective_status(old)
            if status in LIVE_STATES and old.get("pid") != os.getpid():
                raise RunFolderError(f"{self.path} is being trained right now by process {old.get('pid')}; "
                                     f"stop it before resuming")
            return old
        if self.path.is_dir():
            extra = [p.name for p in self.path.iterdir() if not p.name.startswith(".") and p.name != "run.lock"]
            if extra:
                raise RunFolderError(f"{self.path} is not empty and holds no {RUN_FILE} "
                                     f"(found {', '.join(sorted(extra)[:5])}); choose an empty or new folder")
        return None

    def _claims_submission(self, old: dict[str, Any]) -> bool:
        """Whether ``old`` is the pending submission this trainer was started for (``submit.py``)."""
        sub = old.get("submission")
        token = os.environ.get("STUDIO_SUBMISSION")
        return bool(token) and isinstance(sub, dict) and sub.get("token") == token \
            and old.get("status") == RunStatus.CREATED

    def create(self, fields: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.checkpoints_dir.mkdir(exist_ok=True)
        self.samples_dir.mkdir(exist_ok=True)
        now = time.time()
        self.data = {"id": uuid.uuid4().hex[:12], "status": RunStatus.CREATED, "reason": "", "step": 0,
                     "created": now, "updated": now, **fields}
        if self.submission:  # a submitted run keeps the id and job record written at submission
            self.data.update(id=self.submission.get("id") or self.data["id"],
                             created=self.submission.get("created", now), submission=self.submission["submission"])
        self.write()

    def adopt(self, old: dict[str, Any], fields: dict[str, Any]) -> None:
        """Continue an existing run: keep its id and creation time, refresh the rest."""
        self.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        self.samples_dir.mkdir(exist_ok=True)
        self.data = {**old, **fields, "id": old.get("id") or uuid.uuid4().hex[:12],
                     "created": old.get("created", time.time())}
        self.write()

    # -- updates --------------------------------------------------------------
    def write(self) -> None:
        self.data["updated"] = time.time()
        atomic_write_json(self.run_file, self.data)
        self._last_write = time.monotonic()

    def update(self, **fields: Any) -> None:
        self.data.update(fields)
        self.write()

    def set_step(self, step: int, min_interval: float = 1.0) -> None:
        """Record the last completed step; rewrites the file at most every ``min_interval`` seconds."""
        self.data["step"] = int(step)
        if time.monotonic() - self._last_write >= min_interval:
            self.write()


def mark_failed_if_active(folder: str | Path, reason: str, run_id: str | None = None) -> bool:
    """Used by a parent whose trainer died without saying why: record the failure in ``run.json``.

    Only touches a run still marked created/running/paused (and, given ``run_id``, the same run).
    """
    try:
        run = read_run(folder)
    except RunFolderError:
        return False
    if run.get("status") not in ACTIVE_STATES or (run_id and run.get("id") != run_id):
        return False
    if int(run.get("world_size") or 1) > 1:  # torchrun: a process that recorded why it failed beats "gone"
        from studio.core.training.rank_failures import describe, root_cause
        cause = root_cause(folder)
        reason = describe(cause) if cause else reason
    run.update(status=RunStatus.FAILED, reason=reason, updated=time.time())
    atomic_write_json(Path(folder) / RUN_FILE, run)
    return True
