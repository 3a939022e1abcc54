"""Training in a child process, as the window runs it (no Qt here; panels poll this on a timer).

    proc = TrainingProcess("vae", "datasets/faces", "runs/faces-vae", steps=2000, settings={"lr": 1e-3})
    proc.start()
    ... proc.poll() -> ProcessStatus; proc.events() -> new JSON events; proc.pause()/resume()/stop()/set_lr()
    proc.kill()   # immediate, for a hang

The child is ``python -m studio train ... --json --reserve-core``; with ``run_on`` (``launch.RunOn``)
it is torchrun with several DDP processes, or ``studio train --submit ...``, which hands the run to a
cluster job, prints one ``submitted`` event and exits (the run folder is then followed like any run).
Whatever the child does (exception, segfault, ``os._exit``, out-of-memory kill, hang) the
parent survives: when the child dies without recording why, the parent marks
``run.json`` failed with the signal or exit code and the last lines of stderr.
"""
from __future__ import annotations

import collections
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.training.control import current_seq, send_control
from studio.core.training.events import FINISHED_STATES, EventKind, RunStatus
from studio.core.training.launch import CLUSTER, RunOn, job_args, launcher
from studio.core.training.run_folder import RunFolderError, mark_failed_if_active, pid_alive, read_run
from studio.core.training.tensorboard_live import live_default

_WORDS = {
    "SIGSEGV": "crashed with a segmentation fault", "SIGKILL": "was killed (SIGKILL; out of memory?)",
    "SIGABRT": "aborted", "SIGBUS": "crashed with a bus error", "SIGFPE": "crashed (floating-point trap)",
    "SIGILL": "crashed (illegal instruction)", "SIGTERM": "was terminated",
}
SIGNAL_WORDS = {getattr(signal, name): words for name, words in _WORDS.items() if hasattr(signal, name)}
#: seconds ``start()`` waits for the previous trainer of the same folder to finish exiting
EXIT_WAIT_S = 15.0
#: a finished run whose trainer wrote its end less than this long ago may still be exiting
RECENT_END_S = 60.0
# The newest TrainingProcess of each run folder in this process (to wait on a previous one properly).
_BY_FOLDER: "weakref.WeakValueDictionary[str, TrainingProcess]" = weakref.WeakValueDictionary()
#: the child has not reported yet (a state of the process, never written to run.json)
STARTING = "starting"


@dataclass
class ProcessStatus:
    state: str                  # STARTING or a RunStatus
    step: int = 0
    max_steps: int | None = None
    reason: str = ""
    returncode: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    steps_per_s: float = 0.0
    eta_s: float | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


class TrainingProcess:
    """One training run in a child process, controlled through ``control.json`` and signals."""

    def __init__(self, plugin_id: str, data_dir: str | Path | None, run_dir: str | Path, *,
                 steps: int | None = None, minutes: float | None = None, device: str = "auto",
                 seed: int | None = None, settings: dict[str, Any] | None = None, resume: bool = False,
                 reserve_core: bool = True, python: str | None = None, env: dict[str, str] | None = None,
                 tensorboard: bool | None = None, run_on: RunOn | None = None):
        self.run_dir = Path(run_dir)
        self.run_on = run_on or RunOn()
        #: a cluster hand-off: the child submits a job and exits; the job trains (``submission`` says which)
        self.submits = self.run_on.kind == CLUSTER
        self.submission: dict | None = None
        if self.submits:
            reserve_core = False  # the job runs on a cluster node; "auto" there is that node's best device
            device = "cpu" if device == "cpu" else "auto"
        self.cmd = launcher(python or sys.executable, self.run_on) + ["--out", str(self.run_dir), "--json",
                                                                     "--device", device]
        if plugin_id:
            self.cmd += ["--plugin", plugin_id]
        if data_dir:
            self.cmd += ["--data", str(data_dir)]
        if steps is not None:
            self.cmd += ["--steps", str(int(steps))]
        if minutes is not None:
            self.cmd += ["--minutes", repr(float(minutes))]
        if seed is not None:
            self.cmd += ["--seed", str(int(seed))]
        for k, v in (settings or {}).items():
            self.cmd += ["--set", f"{k}={v}"]
        if resume:
            self.cmd.append("--resume")
        if reserve_core:
            self.cmd.append("--reserve-core")
        self.cmd += job_args(self.run_on)
        # A live TensorBoard log in RUN/tensorboard/: None follows the window's project setting
        # (File > Live TensorBoard log); False turns it off even where the run's project asks for it.
        if tensorboard is None:
            if live_default():
                self.cmd.append("--tensorboard")
        else:
            self.cmd.append("--tensorboard" if tensorboard else "--no-tensorboard")
        self.env = env
        self.proc: subprocess.Popen | None = None
        self._events: queue.Queue = queue.Queue()
        self._pending: list[dict] = []
        self._ended = False  # an "end" or "error" event arrived: the child said how it finished
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        self._status = ProcessStatus(STARTING)
        self._threads: list[threading.Thread] = []
        self._killed_by_user = False
        self._run_id: str | None = None
        self._finalized = False

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, exit_wait_s: float = EXIT_WAIT_S) -> None:
        """Start the child. A previous trainer of the same folder that has finished but is still
        exiting (writing its last lines, closing files) gets up to ``exit_wait_s`` seconds first;
        one still training is refused (``RunFolderError``)."""
        if self.proc is not None:
            raise RuntimeError("this training process was already started")
        self._wait_for_previous(exit_wait_s)
        control = self.run_dir / "control.json"
        after = current_seq(control) if control.exists() else 0
        self.cmd += ["--control-after", str(after)]
        kwargs: dict[str, Any] = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True  # its own process group: kill() takes any helpers too
        else:
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     env=self.env, text=True, encoding="utf-8", errors="replace", bufsize=1, **kwargs)
        self._status = ProcessStatus(STARTING)
        _BY_FOLDER[self._folder_key()] = self
        for target, stream in ((self._read_stdout, self.proc.stdout), (self._read_stderr, self.proc.stderr)):
            t = threading.Thread(target=target, args=(stream,), daemon=True)
            t.start()
            self._threads.append(t)

    def _folder_key(self) -> str:
        return str(self.run_dir.resolve())

    def _wait_for_previous(self, timeout: float) -> None:
        prev = _BY_FOLDER.get(self._folder_key())
        if prev is not None and prev is not self and prev.running:
            if not prev.poll().finished:
                raise RunFolderError(f"{self.run_dir} is already training (process {prev.pid}); stop it first")
            try:
                prev.wait(timeout=timeout)  # it said how it ended: let it release the folder (and reap it)
            except TimeoutError:
                raise RunFolderError(f"{self.run_dir}: the previous trainer (process {prev.pid}) finished but is "
                                     f"still exiting after {timeout:g} s; try again, or kill it") from None
            return
        # A trainer started elsewhere (another window, the command line) that just ended.
        try:
            run = read_run(self.run_dir)
        except RunFolderError:
            return
        pid, host = run.get("pid"), run.get("host")
        ended = run.get("ended") or run.get("updated") or 0
        if not pid or pid == os.getpid() or run.get("status") not in FINISHED_STATES \
                or time.time() - float(ended) > RECENT_END_S:
            return  # the child itself refuses a folder that is being trained
        deadline = time.monotonic() + timeout
        while pid_alive(pid, host):
            if time.monotonic() > deadline:
                raise RunFolderError(f"{self.run_dir}: the previous trainer (process {pid}) finished but is "
                                     f"still exiting after {timeout:g} s; try again, or kill it")
            time.sleep(0.05)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def _read_stdout(self, stream) -> None:
        for line in stream:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                self._events.put(json.loads(line))
            except json.JSONDecodeError:
                continue

    def _read_stderr(self, stream) -> None:
        for line in stream:
            if line.strip():
                self._stderr_tail.append(line.rstrip())

    # -- following -------------------------------------------------------------------------
    def _drain(self) -> None:
        while True:
            try:
                ev = self._events.get_nowait()
            except queue.Empty:
                return
            self._fold(ev)
            self._pending.append(ev)
            if len(self._pending) > 20_000:  # nobody reads events(): keep the recent ones
                del self._pending[:-10_000]

    def events(self) -> list[dict]:
        """Events received since the last call (samples, checkpoints, warnings...); :meth:`poll` keeps them."""
        self._drain()
        out, self._pending = self._pending, []
        return out

    def _fold(self, ev: dict) -> None:
        st = self._status
        kind = ev.get("event")
        if kind == EventKind.START:
            self._run_id = ev.get("run_id")
            st.state, st.step, st.max_steps = RunStatus.RUNNING, ev.get("step", 0), ev.get("max_steps")
        elif kind == EventKind.STEP:
            st.step, st.metrics = ev["step"], ev.get("metrics", {})
            st.steps_per_s, st.eta_s = ev.get("steps_per_s", 0.0), ev.get("eta_s")
        elif kind == EventKind.STATUS:
            st.state = ev["status"]
        elif kind == EventKind.END:
            st.state, st.reason, st.step = ev["status"], ev.get("reason", ""), ev.get("step", st.step)
            self._ended = True
        elif kind == EventKind.ERROR:  # a failed run (an "end" follows) or one that could not start
            st.state, st.reason = RunStatus.FAILED, ev.get("message", "")
            self._ended = True
        elif kind == "submitted":  # `--submit`: the job has the run now; its folder says the rest
            self.submission = {k: v for k, v in ev.items() if k != "event"}
            st.state = RunStatus.CREATED
            self._ended = True

    def poll(self) -> ProcessStatus:
        """Current status; once the child has exited, the final one (failure recorded if the child could not)."""
        self._drain()
        if self.proc is None:
            return self._status
        rc = self.proc.poll()
        if rc is not None and not self._finalized:
            self._finalize(rc)
        return self._status

    def _finalize(self, rc: int) -> None:
        for t in self._threads:
            t.join(timeout=2.0)  # drain the pipes so the final events are in
        self._drain()
        self._finalized = True
        st = self._status
        st.returncode = rc
        if self._ended and not self._killed_by_user:
            return  # the trainer recorded its own outcome (done, stopped, failed with a reason)
        try:
            run = read_run(self.run_dir)
        except RunFolderError:
            run = None
        reason = self._death_reason(rc)
        st.state, st.reason = RunStatus.FAILED, reason
        ours = run and (run.get("pid") == self.pid  # the child (or, under torchrun, its rank 0) claimed it
                        or (self._run_id is not None and run.get("id") == self._run_id))
        if ours:  # record the failure for it
            mark_failed_if_active(self.run_dir, reason, run.get("id"))
            st.step = run.get("step", st.step)

    def _death_reason(self, rc: int) -> str:
        if self._killed_by_user:
            what = "was killed from the studio"
        elif rc < 0:
            try:
                sig = signal.Signals(-rc)
                what = SIGNAL_WORDS.get(sig, f"was killed by signal {sig.name}")
                what += f" (signal {sig.name})" if sig in SIGNAL_WORDS else ""
            except ValueError:
                what = f"was killed by signal {-rc}"
        else:
            what = f"exited with code {rc}"
        detail = "" if self._killed_by_user else self._crash_site() or self._last_words()
        return f"the trainer {what}" + (f": {detail}" if detail else "")

    def _crash_site(self) -> str:
        """Where a hard crash happened, from faulthandler's dump: the innermost frame outside the stdlib."""
        import sysconfig

        stdlib = tuple(p for p in {sysconfig.get_paths().get("stdlib"), sysconfig.get_paths().get("platstdlib")} if p)
        lines = list(self._stderr_tail)
        try:
            start = max(i for i, ln in enumerate(lines) if ln.startswith("Current thread"))
        except ValueError:
            return ""
        for ln in lines[start + 1:]:
            m = re.match(r'\s+File "(.+)", line (\d+) in (.+)', ln)
            if not m:
                break
            path, line, func = m.groups()
            if not (stdlib and path.startswith(stdlib)):
                return f"in {func} ({path}:{line})"
        return ""

    def _last_words(self) -> str:
        tail = [ln.strip() for ln in self._stderr_tail
                if ln.strip() and not ln.startswith(("Extension modules:", "Thread 0x", "Current thread"))]
        last = tail[-1] if tail else ""
        return last[len("studio train: "):] if last.startswith("studio train: ") else last

    @property
    def stderr_tail(self) -> list[str]:
        return list(self._stderr_tail)

    # -- control ----------------------------------------------------------------------------
    def pause(self) -> None:
        send_control(self.run_dir / "control.json", "pause")

    def resume(self) -> None:
        send_control(self.run_dir / "control.json", "resume")

    def stop(self) -> None:
        """Graceful: the trainer finishes its step, writes a checkpoint and exits with status ``stopped``."""
        send_control(self.run_dir / "control.json", "stop")

    def set_lr(self, lr: float) -> None:
        send_control(self.run_dir / "control.json", lr=lr)

    def kill(self) -> None:
        """Immediate (a hang, a runaway): SIGKILL to the child's process group; the run is marked failed."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self._killed_by_user = True
        try:
            if os.name == "posix":
                for pid in _children(self.proc.pid):  # torchrun starts each worker in a session of its own
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.kill()
        except ProcessLookupError:
            pass

    def wait(self, timeout: float | None = None) -> ProcessStatus:
        """Block until the child exits (``TimeoutError`` after ``timeout`` seconds); returns the final status."""
        if self.proc is None:
            raise RuntimeError("the training process was not started")
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.proc.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"the trainer for {self.run_dir} still runs after {timeout} s")
            self._drain()
            time.sleep(0.05)
        return self.poll()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _children(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux /proc; elsewhere none are known)."""
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, ValueError):
        pass
    return out
