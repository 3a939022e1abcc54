"""Follow a run folder (or the child process training it) on a QTimer and report through Qt signals.

Every tick is cheap: one ``stat`` of ``run.json`` (read only when it changed),
an incremental query of ``metrics.sqlite`` (rows after the last one seen) and,
for a child the studio started, ``TrainingProcess.poll()`` which only drains
a queue. Nothing here blocks the UI thread, so panels can follow a run that
trains at thousands of steps per second, or one written by a headless
``studio train`` on another machine (a shared folder).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.training.events import FINISHED_STATES, LIVE_STATES, RunStatus
from studio.core.training.metrics import MetricsReader, MetricsUpdate, preview_path
from studio.core.training.process import STARTING
from studio.core.training.run_folder import RUN_FILE, RunFolderError, effective_status, pid_alive, read_run

#: a RunState for a folder that holds no readable run.json (yet)
MISSING = "missing"
#: rows read per tick: a run with millions of rows loads over several ticks, never in one long freeze
ROWS_PER_TICK = 50_000
#: metric rows a ``tail_only`` watcher starts from (the newest ones)
TAIL_ROWS = 2000


@dataclass
class RunState:
    """What a panel shows about a run, whoever trains it."""
    run_dir: Path
    state: str = MISSING            # a RunStatus, STARTING (our child has not reported) or MISSING
    reason: str = ""
    step: int = 0
    max_steps: int | None = None
    steps_per_s: float = 0.0
    eta_s: float | None = None
    lr: float | None = None
    own: bool = False               # the studio started this trainer (kill/LR go to its process)
    live: bool = False              # a trainer is working on it now (ours, or a live pid / remote host)
    run: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def plugin_id(self) -> str:
        return (self.run.get("plugin") or {}).get("id", "")

    @property
    def name(self) -> str:
        return self.run_dir.name


def read_run_cached(run_dir: Path, cache: dict) -> dict[str, Any] | None:
    """``read_run(run_dir)`` again only when ``run.json``'s (inode, mtime, size) changed; ``None`` while absent."""
    try:
        st = (run_dir / RUN_FILE).stat()
    except OSError:
        cache.clear()
        return None
    stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
    if cache.get("stamp") != stamp:
        try:
            data = read_run(run_dir)
        except RunFolderError:
            return cache.get("data")  # caught mid-write on an odd filesystem: keep the last good one
        cache.update(stamp=stamp, data=data)
    return cache.get("data")


def clean_reason(reason: str) -> str:
    """A failure reason for a label: no crash-dump tails (faulthandler's module list), file names not paths."""
    reason = (reason or "").strip()
    i = reason.find("Extension modules:")
    if i >= 0:
        reason = reason[:i].rstrip(" :;,")
    # "(/long/path/to/plugin.py:12)" -> "(plugin.py:12)": a path cannot wrap; tooltips keep the whole reason
    return re.sub(r"\((?:[^()\s]*[/\\])([^/\\()\s]+:\d+)\)", r"(\1)", reason)


def describe_state(state: RunState) -> str:
    """The status in words, with the reason when it failed or stopped."""
    words = {STARTING: "Starting…", RunStatus.CREATED: "Created", RunStatus.RUNNING: "Training",
             RunStatus.PAUSED: "Paused", RunStatus.DONE: "Done", RunStatus.STOPPED: "Stopped",
             RunStatus.FAILED: "Failed", MISSING: "No run yet"}
    text = words.get(state.state, str(state.state).capitalize())
    if state.state == RunStatus.RUNNING and not state.own and state.live:
        text = "Training (outside the studio)"
    if state.reason:
        text += f": {clean_reason(state.reason)}"
    return text


class RunWatcher(QObject):
    """Polls one run; ``follow()`` switches runs. Signals carry plain Python objects."""

    status_changed = Signal(object)    # RunState, when anything shown changed
    metrics_added = Signal(object)     # MetricsUpdate (``reset``: forget earlier rows first)
    preview_added = Signal(int, str, str)  # newest preview: step, kind (image|melody|text), absolute path
    finished = Signal(object)          # RunState, once per run when it reaches done/stopped/failed

    def __init__(self, parent=None, interval_ms: int = 250, idle_interval_ms: int = 1000,
                 read_metrics: bool = True, tail_only: bool = False):
        """``tail_only``: skip a long history and start from the newest rows (a status view, not a plot)."""
        super().__init__(parent)
        self.interval_ms, self.idle_interval_ms = interval_ms, idle_interval_ms
        self.read_metrics = read_metrics
        self.tail_only = tail_only
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.poll)
        self.state: RunState | None = None
        self.process = None
        self.reader: MetricsReader | None = None
        self._cache: dict = {}
        self._last_key: tuple | None = None
        self._finished_sent = False
        self._rate: float = 0.0
        self._backlog = False   # the last poll stopped at ROWS_PER_TICK: more rows are waiting

    # -- following -----------------------------------------------------------------------
    def follow(self, run_dir: str | Path | None, process=None) -> None:
        """Follow ``run_dir`` (``None``: nothing); ``process`` is the ``TrainingProcess`` training it, if ours."""
        self.stop()
        self.process = process
        if run_dir is None:
            self.state = None
            return
        self.state = RunState(Path(run_dir))
        self.reader = MetricsReader(run_dir, tail_rows=TAIL_ROWS if self.tail_only else None) \
            if self.read_metrics else None
        self._cache, self._last_key, self._finished_sent, self._rate = {}, None, False, 0.0
        self.poll()
        self.timer.start(self.interval_ms)

    def set_process(self, process) -> None:
        """A trainer the studio just started for the run being followed (a resume)."""
        self.process = process
        self._finished_sent = False
        self.timer.start(self.interval_ms)
        self.poll()

    def stop(self) -> None:
        self.timer.stop()
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    # -- one tick ---------------------------------------------------------------------------
    def poll(self) -> None:
        st = self.state
        if st is None:
            return
        run = read_run_cached(st.run_dir, self._cache)
        if run is not None:
            st.run = run
        self._poll_metrics(st)
        if self.process is not None:
            self._from_process(st, run)
        else:
            self._from_folder(st, run)
        key = (st.state, st.reason, st.step, st.max_steps, round(st.steps_per_s, 1), st.live, st.own)
        if key != self._last_key:
            self._last_key = key
            self.status_changed.emit(st)
        if st.finished and not self._finished_sent:
            self._finished_sent = True
            self.finished.emit(st)
        # A finished run rarely changes (a resume elsewhere): look less often.
        wanted = self.idle_interval_ms if st.finished and not st.live else self.interval_ms
        if self._backlog:
            wanted = 0  # catching up on a long run: next batch as soon as the event loop is free
        if self.timer.isActive() and self.timer.interval() != wanted:
            self.timer.setInterval(wanted)

    def _poll_metrics(self, st: RunState) -> None:
        if self.reader is None:
            return
        update: MetricsUpdate = self.reader.poll(max_rows=ROWS_PER_TICK)
        self._backlog = len(update.rows) >= ROWS_PER_TICK
        if update.reset:
            self._rate = 0.0
        if update.rows:
            for step, _t, name, value in reversed(update.rows):
                if name == "steps_per_s" and value is not None:
                    self._rate = value
                    break
            for step, _t, name, value in reversed(update.rows):
                if name == "lr" and value is not None:
                    st.lr = value
                    break
        if update.rows or update.reset:
            self.metrics_added.emit(update)
        if update.previews:  # panels show the newest one; older ones of the same tick are skipped
            step, _t, kind, rel = update.previews[-1]
            path = preview_path(st.run_dir, rel)  # a row may name /dev/zero or ../..: never read those
            if path is not None:
                self.preview_added.emit(int(step), str(kind), str(path))

    def _from_process(self, st: RunState, run: dict | None) -> None:
        ps = self.process.poll()
        st.own = True
        st.live = not ps.finished
        st.state = ps.state
        st.reason = ps.reason
        st.step = max(ps.step, int((run or {}).get("step", 0)) if ps.finished else ps.step)
        st.max_steps = ps.max_steps if ps.max_steps is not None else (run or {}).get("max_steps")
        st.steps_per_s = ps.steps_per_s if st.live else 0.0
        st.eta_s = ps.eta_s if st.live else None

    def _from_folder(self, st: RunState, run: dict | None) -> None:
        st.own = False
        if run is None:
            st.state, st.reason, st.live = MISSING, "", False
            return
        status, reason = effective_status(run, st.run_dir)
        st.state, st.reason = status, reason
        st.step = int(run.get("step", 0) or 0)
        st.max_steps = run.get("max_steps")
        st.live = status in LIVE_STATES and pid_alive(run.get("pid"), run.get("host")) is not False
        st.steps_per_s = self._rate if status == RunStatus.RUNNING else 0.0
        if st.max_steps and st.steps_per_s > 0:
            st.eta_s = max(st.max_steps - st.step, 0) / st.steps_per_s
        elif run.get("max_minutes") and run.get("started") and status == RunStatus.RUNNING:
            st.eta_s = max(float(run["max_minutes"]) * 60 - (time.time() - float(run["started"])), 0.0)
        else:
            st.eta_s = None
