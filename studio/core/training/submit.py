"""Hand a training run to a cluster (Slurm) or to a local job, through ``submitit``; follow and cancel it.

    studio train --plugin vae --data datasets/faces --out runs/faces --steps 20000 \\
        --submit slurm --partition gpu --gpus 2 --time 4:00:00

The run folder is the one a local run would have, created at once: ``run.json`` says
``created`` with a ``submission`` object ``{backend, job_id, state, host, logs, ...}`` whose
``state`` goes ``submitted`` (before the job exists) -> ``queued`` (the scheduler took it) ->
``running`` (the job started on ``host``) -> ``ended``/``cancelled``; the trainer then keeps it
up to date like any run, so the window follows it from the folder. The job itself runs
``studio train`` as a child process (``run_job``): with several tasks (``--gpus 2``, ``--nodes``),
each task is one DDP process whose RANK/WORLD_SIZE come from the scheduler, and the folder must
be on a filesystem every node shares. A job that fails before the trainer could write
``run.json`` (a missing dataset on the node, a bad setting) still leaves the reason there.

``submitit`` is optional (``pip install 'generative-studio[cluster]'``): without it, ``--submit``
says so. Job logs go to ``job-logs/`` inside the run folder.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from studio.core.fileio import atomic_write_json
from studio.core.training.events import ACTIVE_STATES, RunStatus
from studio.core.training.run_folder import RUN_FILE, RunFolder, RunFolderError, read_run

BACKENDS = ("slurm", "local")
TOKEN_ENV = "STUDIO_SUBMISSION"  # tells the trainer which pending submission's run.json it may claim
LOGS = "job-logs"
MISSING = ("--submit needs the submitit package, which is not installed; install it with "
           "`pip install 'generative-studio[cluster]'` (or `pip install submitit`)")


class SubmitError(ValueError):
    """The job could not be submitted or cancelled; the message says why."""


def _submitit():
    try:
        import submitit
    except ImportError as exc:
        raise SubmitError(MISSING) from exc
    return submitit


def parse_time(text: str) -> int:
    """Slurm's time formats (``MM``, ``MM:SS``, ``H:MM:SS``, ``D-H``, ``D-H:MM``, ``D-H:MM:SS``) -> whole minutes."""
    t = str(text).strip()
    try:
        days, rest = (t.split("-", 1) if "-" in t else ("0", t))
        parts = [int(p) for p in rest.split(":")]
        d = int(days)
        if "-" in t:
            h, m, s = (parts + [0, 0])[:3]
        elif len(parts) == 1:
            h, m, s = 0, parts[0], 0
        elif len(parts) == 2:
            h, (m, s) = 0, parts
        else:
            h, m, s = parts if len(parts) == 3 else (None, None, None)
        minutes = ((d * 24 + h) * 60 + m) + (1 if s else 0)
    except (TypeError, ValueError):
        raise SubmitError(f"--time {text!r} is not a Slurm time (minutes, H:MM:SS or D-HH:MM:SS)") from None
    if minutes <= 0 or min(d, h, m, s) < 0:
        raise SubmitError(f"--time {text!r} must be a positive duration")
    return minutes


def make_executor(backend: str, logs: Path, *, partition: str | None, gpus: int, nodes: int, minutes: int | None,
                  name: str):
    """A submitit executor: one task per GPU (at least one task) on each of ``nodes`` nodes."""
    submitit = _submitit()
    tasks = max(int(gpus or 0), 1)
    if backend == "slurm":
        ex = submitit.SlurmExecutor(folder=str(logs))
        params: dict[str, Any] = {"job_name": name, "nodes": nodes, "ntasks_per_node": tasks}
        if gpus:
            params["gpus_per_node"] = gpus
        if partition:
            params["partition"] = partition
        if minutes:
            params["time"] = minutes
        ex.update_parameters(**params)
    elif backend == "local":
        if nodes != 1:
            raise SubmitError("--submit local runs on this computer: --nodes must be 1")
        ex = submitit.LocalExecutor(folder=str(logs))
        ex.update_parameters(tasks_per_node=tasks, gpus_per_node=gpus or 0, timeout_min=minutes or 60 * 24 * 365)
    else:
        raise SubmitError(f"--submit {backend!r} is not one of {', '.join(BACKENDS)}")
    return ex


def submit(train_argv: list[str], out_dir: str | Path, *, backend: str, resume: bool, plugin: str,
           data: str, max_steps: int | None, max_minutes: float | None, partition: str | None = None,
           gpus: int = 0, nodes: int = 1, time_limit: str | None = None) -> dict[str, Any]:
    """Claim ``out_dir``, submit the job; returns the ``submission`` recorded in ``run.json``."""
    minutes = parse_time(time_limit) if time_limit else None
    _submitit()  # before touching the folder: a missing package leaves nothing behind
    run = RunFolder(out_dir)
    old = run.check_usable(resume)  # the same refusals as a local run (another run there, one training now)
    logs = run.path / LOGS
    new_folder, had_logs = not run.path.exists(), logs.exists()
    try:
        ex = make_executor(backend, logs, partition=partition, gpus=gpus, nodes=nodes, minutes=minutes,
                           name=f"studio-{run.path.name}")
    except Exception as exc:  # e.g. no srun here: leave the folder as it was
        if not had_logs:
            shutil.rmtree(logs, ignore_errors=True)
        if new_folder:
            shutil.rmtree(run.path, ignore_errors=True)
        if isinstance(exc, SubmitError):
            raise
        raise SubmitError(f"cannot submit to {backend} from this computer: {exc}") from exc
    run.path.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    submission = {"backend": backend, "state": "submitted", "job_id": None, "token": token,
                  "submitted": time.time(), "submitted_from": socket.gethostname(), "logs": LOGS,
                  "partition": partition, "gpus": gpus, "nodes": nodes, "time_limit_min": minutes}
    fields = {"status": RunStatus.CREATED, "reason": "", "submission": submission}
    if old:
        run.adopt(old, {**fields, "pid": None})
    else:
        run.create({"plugin": {"id": plugin}, "dataset": {"path": data}, "max_steps": max_steps,
                    "max_minutes": max_minutes, "world_size": max(gpus, 1) * nodes, **fields})
    try:
        with _quiet_stdio():  # the local job controller must not hold our caller's pipes open
            job = ex.submit(run_job, list(train_argv), str(run.path.resolve()), token)
    except Exception as exc:  # sbatch missing or refusing: the folder says so, then the caller
        reason = f"could not submit to {backend}: {type(exc).__name__}: {exc}"
        run.update(status=RunStatus.FAILED, reason=reason, submission={**submission, "state": "not submitted"})
        raise SubmitError(reason) from exc
    _update_submission(run.path, token, state="queued", job_id=str(job.job_id))
    return read_run(run.path)["submission"]


class _quiet_stdio:
    """Point fds 1/2 at /dev/null while submitit starts a local controller (it inherits them)."""

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = [os.dup(1), os.dup(2)]
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *exc):
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)
        return False


def _update_submission(folder: Path, token: str, **fields: Any) -> dict[str, Any] | None:
    """Merge ``fields`` into the run's ``submission`` if it is still ours (never raises)."""
    try:
        run = read_run(folder)
        sub = run.get("submission")
        if not isinstance(sub, dict) or sub.get("token") != token:
            return None
        run["submission"] = {**sub, **fields}
        run["updated"] = time.time()
        atomic_write_json(Path(folder) / RUN_FILE, run)
        return run
    except (OSError, RunFolderError) as exc:
        print(f"studio: could not update {Path(folder) / RUN_FILE}: {exc}", file=sys.stderr)
        return None


# -- inside the job ------------------------------------------------------------------------------
def _dist_env() -> dict[str, str]:
    """RANK/WORLD_SIZE/LOCAL_RANK/MASTER_* for this task when the job has several (as torchrun would set)."""
    try:
        import submitit
        env = submitit.JobEnvironment()
        tasks, rank, local, hosts, job = env.num_tasks, env.global_rank, env.local_rank, env.hostnames, env.job_id
    except (ImportError, RuntimeError, KeyError, ValueError):
        return {}
    if tasks <= 1:
        return {}
    digits = "".join(c for c in str(job) if c.isdigit()) or "0"
    return {"RANK": str(rank), "WORLD_SIZE": str(tasks), "LOCAL_RANK": str(local),
            "MASTER_ADDR": os.environ.get("MASTER_ADDR") or (hosts[0] if hosts else "localhost"),
            "MASTER_PORT": os.environ.get("MASTER_PORT") or str(20000 + int(digits) % 20000)}


def run_job(train_argv: list[str], run_dir: str, token: str) -> int:
    """The job: ``studio train`` in a child process. SIGTERM/SIGINT (a cancel) and SIGUSR2 (submitit's
    warning, 90 s before Slurm's time limit) reach it as SIGTERM: it stops cleanly, with a checkpoint."""
    dist = _dist_env()
    rank = int(dist.get("RANK", "0"))
    if rank == 0:
        _update_submission(Path(run_dir), token, state="running", host=socket.gethostname(), started=time.time(),
                           job_pid=os.getpid())
    env = {**os.environ, **dist, TOKEN_ENV: token}
    child = subprocess.Popen([sys.executable, "-m", "studio", "train", *train_argv], env=env,
                             stderr=subprocess.PIPE, text=True, errors="replace")
    tail: deque[str] = deque(maxlen=20)

    def relay():  # the job log keeps all of stderr; the tail names a failure in run.json
        for line in child.stderr:
            sys.stderr.write(line)
            tail.append(line.rstrip("\n"))

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    old = {}
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR2):
        old[sig] = signal.signal(sig, lambda signum, _f: child.send_signal(signal.SIGTERM))
    try:
        code = child.wait()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    reader.join(timeout=5)
    if rank == 0:
        _finish(Path(run_dir), token, code, list(tail), child.pid)
    if code != 0:
        raise RuntimeError(f"studio train exited with {code}: {tail[-1] if tail else ''}")
    return code


def _finish(folder: Path, token: str, code: int, tail: list[str], trainer_pid: int) -> None:
    run = _update_submission(folder, token, state="ended", exit_code=code, ended=time.time())
    if run is None or run.get("status") not in ACTIVE_STATES:
        return
    # the trainer never took the folder over (setup failed) or vanished: say why, from its last words
    words = next((ln for ln in reversed(tail) if ln.strip() and not ln.startswith(" ")), "")
    reason = (words.removeprefix("studio train: ") if words else f"studio train exited with code {code}")
    if run.get("status") == RunStatus.CREATED:
        run.update(status=RunStatus.FAILED if code else RunStatus.STOPPED, reason=reason, updated=time.time())
        atomic_write_json(folder / RUN_FILE, run)
    elif code and run.get("pid") == trainer_pid:  # our trainer vanished mid-run (never another one's run)
        from studio.core.training.run_folder import mark_failed_if_active
        mark_failed_if_active(folder, reason, run.get("id"))


# -- following and cancelling ------------------------------------------------------------------------
def describe(run: dict[str, Any]) -> str | None:
    """Words for the Runs panel: "queued (slurm job 123)", "running on host n1 (slurm job 123)"…"""
    sub = run.get("submission")
    if not isinstance(sub, dict):
        return None
    job = f"{sub.get('backend', '?')} job {sub['job_id']}" if sub.get("job_id") else str(sub.get("backend", "?"))
    state = sub.get("state")
    if state in ("submitted", "queued", "cancelled", "not submitted"):
        return f"{state} ({job})"
    if not sub.get("host"):
        return None
    ran = "running" if run.get("status") in ACTIVE_STATES else "ran"
    return f"{ran} on host {sub['host']} ({job})"


def cancel(out_dir: str | Path, wait_s: float = 30.0) -> str:
    """Cancel a submitted run's job: a running trainer stops cleanly (checkpoint, ``stopped``); a queued
    job never starts. Returns what happened, in words."""
    folder = Path(out_dir)
    run = read_run(folder)
    sub = run.get("submission")
    if not isinstance(sub, dict) or not sub.get("job_id"):
        raise SubmitError(f"{folder} was not submitted as a job (no job id in {RUN_FILE}); stop a local "
                          f"training from the window or with Ctrl-C")
    status = run.get("status")
    if status not in ACTIVE_STATES:
        return f"nothing to cancel: the run is {status}"
    backend, job_id = sub.get("backend"), str(sub["job_id"])
    if backend == "slurm":
        submitit = _submitit()
        try:
            submitit.SlurmJob(folder=str(folder / LOGS), job_id=job_id).cancel(check=True)
        except Exception as exc:  # scancel missing or refusing
            raise SubmitError(f"could not cancel slurm job {job_id}: {exc}") from exc
    elif backend == "local":
        try:  # the local controller forwards SIGTERM to its tasks; ours forward it to the trainer
            os.kill(int(job_id), signal.SIGTERM)
        except ProcessLookupError:
            pass
        except (OSError, ValueError) as exc:
            raise SubmitError(f"could not cancel local job {job_id}: {exc}") from exc
    else:
        raise SubmitError(f"{RUN_FILE} names an unknown job backend {backend!r}")
    started = sub.get("state") == "running" or status != RunStatus.CREATED
    deadline = time.monotonic() + (wait_s if started else 0.0)
    while time.monotonic() < deadline:  # a running trainer writes its own end (stopped, with a checkpoint)
        run = read_run(folder)
        if run.get("status") not in ACTIVE_STATES:
            break
        time.sleep(0.2)
    _update_submission(folder, sub["token"], state="cancelled", cancelled=time.time())
    run = read_run(folder)
    if run.get("status") in ACTIVE_STATES:  # queued, never started (or gone without a word)
        run.update(status=RunStatus.STOPPED, reason=f"cancelled ({backend} job {job_id})", updated=time.time())
        atomic_write_json(folder / RUN_FILE, run)
    return f"cancelled {backend} job {job_id}; the run is {run.get('status')}"
