"""The trainers the window started, shared by the Models, Training and Runs panels.

Panels never talk to each other; they reach this one object through
``training_processes(ctx)`` (kept on the context, like ``ctx.project_actions``)
and learn about runs through ``ctx.run_started`` / ``ctx.run_selected``.
A slow timer polls every child even when no panel shows it, so a trainer
that dies unwatched is still recorded as failed and reaped.

A cluster hand-off (``RunOn("cluster")``) is a short child, ``studio train --submit``, kept apart
from the trainers: ``get()`` does not return it, so panels follow that run's folder (the job
writes it), and ``submitted`` / ``submit_failed`` say how the hand-off went.
"""
from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.training.control import send_control
from studio.core.training.events import LIVE_STATES
from studio.core.training.launch import describe as describe_run_on, resume_run_on
from studio.core.training.process import TrainingProcess
from studio.core.training.run_folder import (RunFolderError, effective_status, mark_failed_if_active, pid_alive,
                                             read_run)
from studio.core.training.run_lock import describe_trainer

log = logging.getLogger("studio.ui.training")


def _key(run_dir: str | Path) -> str:
    return str(Path(run_dir).resolve())


class TrainingProcesses(QObject):
    """Start, find, control and finally stop the window's child trainers."""

    started = Signal(str)    # run folder
    ended = Signal(str)      # run folder whose child exited (done, stopped, failed)
    submitted = Signal(str, str)      # run folder, what was submitted (in words)
    submit_failed = Signal(str, str)  # run folder, why the job could not be submitted

    def __init__(self, parent=None):
        super().__init__(parent)
        self.procs: dict[str, TrainingProcess] = {}
        self.submissions: dict[str, TrainingProcess] = {}  # `studio train --submit` children, until they exit
        #: environment for children (``None``: this one); tests point PYTHONPATH at their toy plugins
        self.env: dict[str, str] | None = None
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.reap)
        self.timer.start(1000)

    # -- starting -----------------------------------------------------------------
    def start(self, plugin_id: str, data_dir: str | Path | None, run_dir: str | Path, **kwargs: Any) -> TrainingProcess:
        """Start ``python -m studio train`` for ``run_dir`` (kwargs as ``TrainingProcess``)."""
        kwargs.setdefault("env", self.env)
        proc = TrainingProcess(plugin_id, data_dir, run_dir, **kwargs)
        proc.start()  # waits (bounded) for a previous trainer of the folder that is still exiting
        (self.submissions if proc.submits else self.procs)[_key(run_dir)] = proc
        log.info("training %s started on %s (pid %s): %s", Path(run_dir).name, describe_run_on(proc.run_on), proc.pid,
                 " ".join(proc.cmd[1:]))
        self.started.emit(str(run_dir))
        return proc

    def resume(self, run_dir: str | Path, steps: int | None = None, device: str = "auto") -> TrainingProcess:
        """Continue a stopped/failed (or, with more ``steps``, done) run from its newest valid checkpoint."""
        run = read_run(run_dir)
        status, _ = effective_status(run)
        if status in LIVE_STATES and pid_alive(run.get("pid"), run.get("host")) is not False:
            raise RunFolderError(f"{Path(run_dir).name} is still training (process {run.get('pid')})")
        busy = describe_trainer(run_dir)  # e.g. a `studio train` in a terminal holds the run's lock
        if busy:
            raise RunFolderError(f"Cannot continue: {busy}. Stop that trainer first, or wait for it to finish.")
        plugin_id = (run.get("plugin") or {}).get("id", "")
        # the way it was trained: N DDP processes again, or back to the cluster (launch.resume_run_on)
        gpus = sum(1 for d in getattr(self.parent(), "devices", ()) or () if getattr(d, "kind", "") in ("cuda", "rocm"))
        run_on, note = resume_run_on(run, device, gpus)
        if note:
            log.info("resuming %s: %s", Path(run_dir).name, note)
        proc = self.start(plugin_id, None, run_dir, steps=steps, device=device, resume=True, run_on=run_on)
        proc.resume_note = note  # said in the status bar by whoever resumed it
        return proc

    # -- finding --------------------------------------------------------------------
    def get(self, run_dir: str | Path | None) -> TrainingProcess | None:
        return self.procs.get(_key(run_dir)) if run_dir else None

    def running(self) -> list[TrainingProcess]:
        return [p for p in self.procs.values() if p.running]

    def reap(self) -> None:
        for key, proc in list(self.submissions.items()):
            if proc.running:
                continue
            status = proc.poll()
            del self.submissions[key]
            if proc.submission is not None:
                sub = proc.submission
                words = f"{sub.get('backend')} job {sub.get('job_id')} ({sub.get('state')})"
                log.info("%s handed to %s", proc.run_dir.name, words)
                self.submitted.emit(str(proc.run_dir), words)
            else:
                reason = status.reason.replace("the trainer exited with code", "`studio train --submit` exited "
                                               "with code")
                log.error("could not submit %s: %s", proc.run_dir.name, reason)
                self.submit_failed.emit(str(proc.run_dir), reason)
        for key, proc in list(self.procs.items()):
            if proc.proc is None or getattr(proc, "_reaped", False):
                continue
            if proc.poll().finished:
                proc._reaped = True
                proc.events()  # nobody may read them now; free the memory
                self.ended.emit(str(proc.run_dir))

    # -- control (our child, or any trainer through its control.json) ---------------------
    # control.json keeps a command and a learning rate in separate fields, so neither replaces the other.
    def command(self, run_dir: str | Path, command: str) -> None:
        """``pause`` / ``resume`` / ``stop`` the trainer of ``run_dir``, ours or a headless one."""
        send_control(Path(run_dir) / "control.json", command)

    def set_lr(self, run_dir: str | Path, lr: float) -> None:
        send_control(Path(run_dir) / "control.json", lr=lr)

    def kill(self, run_dir: str | Path) -> str:
        """Kill at once; returns what was done, in words."""
        proc = self.get(run_dir)
        if proc is not None and proc.running:
            proc.kill()
            return f"killed the trainer of {Path(run_dir).name}"
        run = read_run(run_dir)
        pid, host = run.get("pid"), run.get("host")
        alive = pid_alive(pid, host)
        if alive is None:
            raise RunFolderError(f"{Path(run_dir).name} trains on another machine ({host}); stop it there "
                                 f"or use Stop, which reaches it through its run folder")
        if not alive:
            mark_failed_if_active(run_dir, "the trainer process was gone", run.get("id"))
            return f"{Path(run_dir).name} had no live trainer"
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
        except PermissionError as exc:
            raise RunFolderError(f"not allowed to kill process {pid} of {Path(run_dir).name}: {exc}") from exc
        mark_failed_if_active(run_dir, "the trainer was killed from the studio", run.get("id"))
        return f"killed process {pid} training {Path(run_dir).name}"

    # -- the end --------------------------------------------------------------------------
    def shutdown(self, wait_s: float = 5.0) -> None:
        """Window closing: ask every child to stop gracefully (finish the step, checkpoint), wait a little.

        A child still busy after ``wait_s`` is killed: its pipes end with the window, and the
        last checkpoint is what a later Resume continues from.
        """
        self.timer.stop()
        live = self.running()
        for proc in live:
            try:
                proc.stop()  # a paused trainer sees it too
            except (OSError, ValueError) as exc:
                log.warning("could not ask %s to stop: %s", proc.run_dir, exc)
        deadline = time.monotonic() + wait_s
        for proc in live:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                proc.kill()
                try:
                    proc.wait(timeout=5.0)
                except TimeoutError:
                    log.error("the trainer of %s did not exit after SIGKILL", proc.run_dir)


def training_processes(ctx) -> TrainingProcesses:
    """The window's one registry of child trainers (created on first use, parented to the context)."""
    reg = ctx.training_processes
    if reg is None:
        reg = TrainingProcesses(ctx)
        ctx.training_processes = reg
    return reg
