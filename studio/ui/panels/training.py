"""Training panel: the current run's progress, controls (start, pause, resume, stop, kill, live LR) and samples.

It follows ``ctx.run_started`` / ``ctx.run_selected``. Everything it shows comes
from a :class:`RunWatcher` polling on a timer, so a trainer at thousands of
steps per second (or a crashed one) never stalls the window.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QHBoxLayout, QInputDialog, QLabel, QMessageBox, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from studio.core.training.events import FINISHED_STATES, LIVE_STATES, STARTABLE_STATES, RunStatus
from studio.core.training.process import STARTING
from studio.core.training.run_folder import RunFolderError
from studio.ui.config_form import LogSpinBox
from studio.ui.panels.train_eta import EtaSmoother, format_eta
from studio.ui.panels.train_preview import SamplePreview
from studio.ui.panels.train_processes import training_processes
from studio.ui import theme
from studio.ui.run_watcher import MISSING, RunState, RunWatcher, describe_state

log = logging.getLogger("studio.ui.training")
#: seconds a trainer gets to honour Stop (finish its step, checkpoint) before it is killed as hung
STOP_GRACE_S = 20.0
STATE_COLOURS = {RunStatus.FAILED: "#c0392b", RunStatus.DONE: "#1e8449", RunStatus.STOPPED: "#9a7d0a",
                 RunStatus.PAUSED: "#9a7d0a", RunStatus.RUNNING: "#1f618d", STARTING: "#1f618d"}


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(max(seconds, 0))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def dataset_line(run: dict) -> str:
    """'Dataset: my-drawings-images' from run.json (the full path is in the label's tooltip)."""
    path = (run.get("dataset") or {}).get("path") if isinstance(run.get("dataset"), dict) else None
    return f"Dataset: {Path(str(path)).name}" if path else ""


class TrainingPanel(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.procs = training_processes(ctx)
        self.run_dir: Path | None = None
        self.state: RunState | None = None
        self.watcher = RunWatcher(self, tail_only=True)  # the Loss plot reads the history
        self.watcher.status_changed.connect(self._on_status)
        self.watcher.preview_added.connect(self._on_preview)
        self.watcher.metrics_added.connect(self._on_metrics)
        self.latest: dict[str, float] = {}
        self.eta = EtaSmoother()  # a steady time left, a range while uncertain
        self._pending = ""  # "Pausing…" etc. until the trainer confirms

        self.title = QLabel("<b>No run selected</b>")
        self.title.setToolTip("The run this panel follows")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dataset = QLabel("")
        self.dataset.setWordWrap(True)
        self.dataset.setToolTip("The dataset this run trains on")
        self.status = QLabel("Start a run from Models, or open one in Runs.")
        self.status.setWordWrap(True)
        self.status.setToolTip("What the trainer is doing; when a run failed or stopped, why")
        self.progress = QProgressBar()
        self.progress.setToolTip("Completed steps of the run")
        self.progress.setFormat("step %v of %m")
        self.stats = QLabel("")
        self.stats.setToolTip("Training speed, time left and current learning rate")
        self.figures = QLabel("")
        self.figures.setWordWrap(True)
        self.figures.setToolTip("The latest value of each metric")

        self.start_btn = self._button("Start", "Continue this run from its newest checkpoint", self.start)
        self.pause_btn = self._button("Pause", "Pause after the current step (the model stays in memory)", self.pause)
        self.resume_btn = self._button("Resume", "Continue a paused run", self.resume)
        self.stop_btn = self._button("Stop", "Stop gracefully: finish the step, write a checkpoint, exit", self.stop)
        self.kill_btn = self._button("Kill", "End the trainer at once (for a hang); work since the last "
                                             "checkpoint is lost", self.kill)
        buttons = QHBoxLayout()
        for b in (self.start_btn, self.pause_btn, self.resume_btn, self.stop_btn, self.kill_btn):
            buttons.addWidget(b)
        self.lr_box = LogSpinBox()
        self.lr_box.setRange(1e-7, 10.0)
        self.lr_box.setValue(1e-3)
        self.lr_box.setToolTip("New learning rate; arrows step a quarter decade. Applied from the next step.")
        self.lr_btn = self._button("Set learning rate", "Send the new learning rate to the running trainer", self.apply_lr)
        lr_row = QHBoxLayout()
        lr_row.addWidget(QLabel("Learning rate"))
        lr_row.addWidget(self.lr_box, 1)
        lr_row.addWidget(self.lr_btn)

        self.preview = SamplePreview(self)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.dataset)
        lay.addWidget(self.status)
        lay.addWidget(self.progress)
        lay.addWidget(self.stats)
        lay.addLayout(buttons)
        lay.addLayout(lr_row)
        lay.addWidget(self.figures)
        lay.addWidget(self.preview, 1)

        ctx.run_started.connect(self.follow)
        ctx.run_selected.connect(self.follow)
        self.procs.started.connect(self._on_process_started)
        self._update_buttons()
        theme.follow(self.apply_theme)  # status colours readable on light and dark

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    # -- following ------------------------------------------------------------------------------
    def follow(self, run_dir: str | None) -> None:
        run_dir = Path(run_dir) if run_dir else None
        if run_dir is not None and self.run_dir is not None and run_dir.resolve() == self.run_dir.resolve() \
                and self.watcher.process is self.procs.get(run_dir):
            return  # already following it (run_started and run_selected both arrive)
        self.run_dir = run_dir
        self.latest, self._pending, self.state = {}, "", None
        self.eta.reset()
        self.dataset.setText("")
        self.preview.clear()
        self.figures.setText("")
        self.watcher.follow(run_dir, self.procs.get(run_dir) if run_dir else None)
        if run_dir is None:
            self.title.setText("<b>No run selected</b>")
        self._update_buttons()

    def _on_process_started(self, run_dir: str) -> None:
        if self.run_dir is not None and Path(run_dir).resolve() == self.run_dir.resolve():
            self.watcher.set_process(self.procs.get(run_dir))

    def _on_status(self, st: RunState) -> None:
        self.state = st
        run = st.run
        plugin = (run.get("plugin") or {}).get("id", "") or "…"
        device = run.get("device_name") or run.get("device") or ""
        self.title.setText(f"<b>{st.name}</b> — {plugin}" + (f" on {device}" if device else ""))
        self.title.setToolTip(str(st.run_dir))
        self.dataset.setText(dataset_line(run))
        self.dataset.setToolTip(f"Trains on {(run.get('dataset') or {}).get('path', '')}")
        if self._pending and self._pending_done(st):
            self._pending = ""
        text = self._pending or describe_state(st)
        colour = theme.readable(STATE_COLOURS[st.state]).name() if st.state in STATE_COLOURS else "palette(text)"
        self.status.setText(f"<span style='color:{colour}'><b>{text}</b></span>")
        self.status.setToolTip(f"{text}\n{st.reason}\n{st.run_dir}" if st.reason else f"{text}\n{st.run_dir}")
        if st.max_steps:
            self.progress.setRange(0, int(st.max_steps))
            self.progress.setValue(min(int(st.step), int(st.max_steps)))
            self.progress.setFormat("step %v of %m (%p%)")
        else:
            self.progress.setRange(0, max(int(st.step), 1))
            self.progress.setValue(int(st.step))
            self.progress.setFormat(f"step {st.step:,}")
        parts = []
        if st.live and st.state == RunStatus.RUNNING:
            eta = self.eta.update(time.monotonic(), int(st.step), int(st.max_steps or 0) or None)
            parts.append(f"{(eta.steps_per_s if eta else st.steps_per_s):,.1f} steps/s")
            parts.append(format_eta(eta, format_duration) if eta else
                         f"ETA {format_duration(st.eta_s)}" if st.eta_s is not None else "")
        elif st.live:
            self.eta.pause()
        if st.lr is not None:
            parts.append(f"lr {st.lr:.4g}")
        self.stats.setText(" · ".join(p for p in parts if p))
        self._update_buttons()

    def _pending_done(self, st: RunState) -> bool:
        want = {"Starting…": LIVE_STATES, "Pausing…": {RunStatus.PAUSED}, "Resuming…": {RunStatus.RUNNING},
                "Stopping…": FINISHED_STATES, "Killing…": FINISHED_STATES}.get(self._pending, ())
        return st.state in want or st.finished

    def _on_metrics(self, update) -> None:
        if update.reset:
            self.latest = {}
        for _step, _t, name, value in update.rows[-200:]:
            if value is not None and name not in ("steps_per_s",):
                self.latest[name] = value
        shown = [f"{k} {v:.4g}" for k, v in sorted(self.latest.items())
                 if k != "lr" and not k.startswith("originality/")]
        self.figures.setText("   ".join(shown))
        self.preview.show_originality(self.latest)

    def _on_preview(self, step: int, kind: str, path: str) -> None:
        self.preview.show_file(step, kind, path)

    def _update_buttons(self) -> None:
        st = self.state
        has = st is not None and st.state != MISSING
        live = has and st.live
        state = st.state if has else ""
        self.start_btn.setEnabled(has and not live and state in STARTABLE_STATES)
        self.pause_btn.setEnabled(live and state == RunStatus.RUNNING)
        self.resume_btn.setEnabled(live and state == RunStatus.PAUSED)
        self.stop_btn.setEnabled(live and (state in LIVE_STATES or state == STARTING))
        self.kill_btn.setEnabled(live)
        self.lr_box.setEnabled(live and state in LIVE_STATES)
        self.lr_btn.setEnabled(live and state in LIVE_STATES)
        if not self.lr_box.hasFocus() and st is not None and st.lr:
            self.lr_box.blockSignals(True)
            self.lr_box.setValue(st.lr)
            self.lr_box.blockSignals(False)

    # -- actions ------------------------------------------------------------------------------
    def start(self) -> None:
        """Continue the run from its newest checkpoint (asking for more steps when it is done)."""
        if self.run_dir is None or self.state is None:
            return
        steps = None
        if self.state.state == RunStatus.DONE:
            cur = int(self.state.step)
            steps, ok = QInputDialog.getInt(self, "Train further", "Train until step:", max(cur * 2, cur + 100),
                                            cur + 1, 2**31 - 1)
            if not ok:
                return
        try:
            proc = self.procs.resume(self.run_dir, steps=steps)
        except (RunFolderError, OSError, ValueError) as exc:
            QMessageBox.warning(self, "Cannot continue the run", str(exc))
            return
        if getattr(proc, "resume_note", ""):  # e.g. trained by more processes than this computer runs
            self.ctx.status_message.emit(f"Continuing {self.run_dir.name}: {proc.resume_note}")
        self._pending = "Starting…"
        self.ctx.run_started.emit(str(self.run_dir))

    def _command(self, command: str, pending: str) -> None:
        if self.run_dir is None:
            return
        try:
            self.procs.command(self.run_dir, command)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, f"Cannot {command}", f"{self.run_dir}: {exc}")
            return
        self._pending = pending
        self.watcher.poll()

    def pause(self) -> None:
        self._command("pause", "Pausing…")

    def resume(self) -> None:
        self._command("resume", "Resuming…")

    def stop(self) -> None:
        self._command("stop", "Stopping…")
        proc = self.procs.get(self.run_dir)
        if proc is not None and proc.running:  # a hung plugin never reads the stop request
            QTimer.singleShot(int(STOP_GRACE_S * 1000), self, lambda p=proc: self._kill_if_still_running(p))

    def _kill_if_still_running(self, proc) -> None:
        if not proc.running:
            return
        proc.kill()
        self.ctx.status_message.emit(f"{proc.run_dir.name} did not stop within {STOP_GRACE_S:g} s "
                                     f"(a hung plugin?); the trainer was killed")
        self._pending = "Killing…"
        self.watcher.poll()

    def kill(self, confirm: bool = True) -> None:
        if self.run_dir is None:
            return
        if confirm and QMessageBox.question(
                self, "Kill the trainer?",
                "End the trainer at once? Work since the last checkpoint is lost; Stop keeps it.") \
                != QMessageBox.StandardButton.Yes:
            return
        try:
            what = self.procs.kill(self.run_dir)
        except (RunFolderError, OSError) as exc:
            QMessageBox.warning(self, "Cannot kill", str(exc))
            return
        self.ctx.status_message.emit(what)
        self._pending = "Killing…"
        self.watcher.poll()

    def apply_lr(self) -> None:
        if self.run_dir is None:
            return
        lr = float(self.lr_box.value())
        try:
            self.procs.set_lr(self.run_dir, lr)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Cannot change the learning rate", str(exc))
            return
        self.ctx.status_message.emit(f"Learning rate {lr:.4g} sent to {self.run_dir.name}")

    def shutdown(self) -> None:
        self.watcher.stop()
        self.procs.shutdown()

    def apply_theme(self, dark: bool) -> None:
        if self.state is not None:
            self._on_status(self.state)  # redraw the status line in the new colours
