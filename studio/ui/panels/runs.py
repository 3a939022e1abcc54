"""Runs panel: every run of the project with its status, plus run folders opened from anywhere.

Select one run to follow it (Training, Loss plot and the generators follow ``ctx.run_selected``);
select several to overlay their curves in the Loss plot (``ctx.runs_compared``) and see their
latest samples side by side. Resume continues a run in a child trainer; Delete moves it to the
project's trash (undoable). A folder written by a headless or remote ``studio train`` is
followed live like any other.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog, QLabel,
                               QMessageBox, QPushButton, QScrollArea, QSplitter, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from studio.core.project_edits import TrashItem
from studio.core.project_schema import ProjectError
from studio.core.training.events import ACTIVE_STATES, LIVE_STATES, STARTABLE_STATES, RunStatus
from studio.core.training.metrics import latest_preview
from studio.core.training.run_folder import RUN_FILE, RunFolderError, effective_status, is_run_folder
from studio.core.training.submit import SubmitError, cancel as cancel_job, describe as describe_submission
from studio.ui.panels.train_preview import SamplePreview
from studio.ui.panels.train_processes import training_processes
from studio.ui.project_actions import push_edit
from studio.ui.run_watcher import MISSING, clean_reason, read_run_cached
from studio.ui.theme import follow, readable

log = logging.getLogger("studio.ui.runs")
COLUMNS = ("Run", "Model", "Status", "Dataset", "Step", "Updated")
STATUS_COLUMN = COLUMNS.index("Status")
STATUS_COLOURS = {RunStatus.FAILED: "#c0392b", RunStatus.DONE: "#1e8449", RunStatus.STOPPED: "#9a7d0a",
                  RunStatus.PAUSED: "#9a7d0a", RunStatus.RUNNING: "#1f618d", RunStatus.CREATED: "#555555",
                  MISSING: "#888888"}
MAX_SIDE_BY_SIDE = 6
MAX_COLUMN_PX = 260  # no column but the run's name grows wider (the table must not scroll sideways)


def _key(path: Path) -> str:
    return str(path.resolve())


class RunsPanel(QWidget):
    job_cancelled = Signal(str, str)  # run folder, what happened (in words); from the cancelling thread

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.procs = training_processes(ctx)
        self._cancelling: set[str] = set()
        self.attached: list[Path] = []      # opened run folders that are not in a project
        self.rows: list[Path] = []
        self._caches: dict[str, dict] = {}
        self._shown: dict[str, tuple] = {}
        self._previews: dict[str, SamplePreview] = {}

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setToolTip("Click a run to follow it; Ctrl/Shift-click several to compare their curves and samples")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        hdr = self.table.horizontalHeader()
        hdr.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # the run's name takes what is left; a long failure reason is capped (elided, whole in its tooltip)
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hdr.setMaximumSectionSize(MAX_COLUMN_PX)
        hdr.setStretchLastSection(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)  # one line a run: a wrapped name would be cut by the row height
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.empty = QLabel("No runs yet: start one in Models, or open a run folder (also one trained "
                            "headless with `studio train`).")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: palette(placeholder-text);")

        self.open_btn = self._button("Open run folder…", "Follow any run folder, e.g. one a headless or remote "
                                     "`studio train` writes", self.open_folder)
        self.resume_btn = self._button("Resume", "Continue the selected run from its newest checkpoint", self.resume)
        self.delete_btn = self._button("Delete…", "Move the selected runs to the project's trash (Edit > Undo "
                                       "brings them back)", self.delete)
        self.cancel_btn = self._button("Cancel job", "Cancel the cluster job of the selected run: a queued job "
                                       "never starts, a running one stops cleanly with a checkpoint", self.cancel_job)
        self.cancel_btn.setVisible(False)  # only while a selected run is a submitted job
        self.job_cancelled.connect(self._on_job_cancelled)
        buttons = QHBoxLayout()
        for b in (self.open_btn, self.resume_btn, self.delete_btn, self.cancel_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.side = QWidget()
        self.side_lay = QHBoxLayout(self.side)
        self.side_hint = QLabel("Select runs to see their latest samples side by side.")
        self.side_hint.setStyleSheet("color: palette(placeholder-text);")
        self.side_lay.addWidget(self.side_hint)
        side_scroll = QScrollArea()
        side_scroll.setWidgetResizable(True)
        side_scroll.setWidget(self.side)
        side_scroll.setToolTip("The newest sample preview of each selected run")

        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addLayout(buttons)
        tl.addWidget(self.empty)
        tl.addWidget(self.table, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(top)
        split.addWidget(side_scroll)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.addWidget(split)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(1500)
        ctx.project_changed.connect(self.reload)
        ctx.run_started.connect(self._on_run_started)
        self.procs.ended.connect(lambda _d: self.refresh())
        self.reload()
        follow(self.apply_theme)  # status colours readable on light and dark

    def _button(self, text, tip, slot) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        b.clicked.connect(lambda _checked=False: slot())  # not slot(checked): Delete's confirm=False skipped asking
        return b

    # -- the list -----------------------------------------------------------------------------------
    def run_folders(self) -> list[Path]:
        proj = self.ctx.project
        found = [proj.resolve(ref) for ref in proj.runs] if proj else []
        keys = {_key(p) for p in found}
        return found + [p for p in self.attached if _key(p) not in keys]

    def reload(self) -> None:
        """Rebuild the rows (project changed, a run was added or opened), keeping the selection."""
        selected = {_key(p) for p in self.selected()}
        self.rows = self.run_folders()
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.rows))
        self._shown.clear()
        for r, path in enumerate(self.rows):
            for c in range(len(COLUMNS)):
                if self.table.item(r, c) is None:
                    self.table.setItem(r, c, QTableWidgetItem())
        self.table.clearSelection()
        for r, path in enumerate(self.rows):
            if _key(path) in selected:
                self.table.selectRow(r)
        self.table.blockSignals(False)
        self.empty.setVisible(not self.rows)
        self.table.setVisible(bool(self.rows))
        self.refresh()
        self._update_buttons()

    def refresh(self) -> None:
        """Re-read each ``run.json`` that changed (one stat per run when nothing did)."""
        for r, path in enumerate(self.rows):
            cache = self._caches.setdefault(_key(path), {})
            run = read_run_cached(path, cache)
            if run is None:
                status, reason, run = MISSING, f"{path} holds no readable {RUN_FILE}", {}
            else:
                status, reason = effective_status(run, path)
            step = int(run.get("step", 0) or 0)
            row = (status, reason, step, run.get("max_steps"), run.get("updated"), (run.get("plugin") or {}).get("id"))
            if self._shown.get(_key(path)) == row:
                continue
            self._shown[_key(path)] = row
            self._fill_row(r, path, run, status, reason)
        self._refresh_previews()
        self._update_buttons()

    def _fill_row(self, r: int, path: Path, run: dict, status: str, reason: str) -> None:
        ref = self._project_ref(path)
        name = self.ctx.project.label(ref) if ref else path.name
        plugin = (run.get("plugin") or {}).get("id", "?")
        step, total = int(run.get("step", 0) or 0), run.get("max_steps")
        updated = run.get("updated")
        data_path = (run.get("dataset") or {}).get("path") if isinstance(run.get("dataset"), dict) else None
        shown = status + (f": {clean_reason(reason)}" if reason else "")
        job = describe_submission(run)  # a run handed to Slurm / a local job: "queued (slurm job 42)"
        if job and status in (RunStatus.CREATED, RunStatus.RUNNING):
            shown = job + (f": {clean_reason(reason)}" if reason else "")
        cells = (name, plugin, shown,
                 Path(str(data_path)).name if data_path else "",
                 f"{step:,}" + (f" / {int(total):,}" if total else ""),
                 time.strftime("%Y-%m-%d %H:%M", time.localtime(updated)) if updated else "")
        for c, text in enumerate(cells):
            item = self.table.item(r, c)
            item.setText(text)
            item.setToolTip(f"{path}\n{status}" + (f": {reason}" if reason else "") + (f"\n{job}" if job else ""))
        self.table.item(r, STATUS_COLUMN).setForeground(QBrush(readable(STATUS_COLOURS.get(status, "#000000"))))
        if data_path:
            self.table.item(r, COLUMNS.index("Dataset")).setToolTip(f"Trained on {data_path}")
        self.table.item(r, 0).setData(Qt.ItemDataRole.UserRole, str(path))

    def _project_ref(self, path: Path) -> str | None:
        proj = self.ctx.project
        if proj is None:
            return None
        return next((r for r in proj.runs if _key(proj.resolve(r)) == _key(path)), None)

    def status_of(self, run_dir: str | Path) -> str:
        row = self._shown.get(_key(Path(run_dir)))
        return row[0] if row else ""

    def selected(self) -> list[Path]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.rows[r] for r in rows if r < len(self.rows)]

    def select(self, run_dirs: list) -> None:
        keys = {_key(Path(p)) for p in run_dirs}
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for r, path in enumerate(self.rows):
            if _key(path) in keys:
                self.table.selectRow(r)
        self.table.setSelectionMode(mode)

    # -- selection: follow one, compare several ------------------------------------------------------
    def _on_selection(self) -> None:
        sel = self.selected()
        if len(sel) == 1:
            self.ctx.run_selected.emit(str(sel[0]))
        elif len(sel) > 1:
            self.ctx.runs_compared.emit([str(p) for p in sel])
        self._rebuild_previews(sel)
        self._update_buttons()

    def _rebuild_previews(self, sel: list[Path]) -> None:
        keep = {_key(p) for p in sel[:MAX_SIDE_BY_SIDE]}
        for key in list(self._previews):
            if key not in keep:
                w = self._previews.pop(key)
                w.setParent(None)
                w.deleteLater()
        for p in sel[:MAX_SIDE_BY_SIDE]:
            if _key(p) not in self._previews:
                w = SamplePreview(empty_text=f"{p.name}: no samples yet")
                w.setMinimumWidth(160)
                w.setToolTip(f"Newest sample preview of {p}")
                self._previews[_key(p)] = w
                self.side_lay.addWidget(w, 1)
                w.show()  # added to a visible panel: show now, not at the next event-loop turn
        self.side_hint.setVisible(not self._previews)
        self._refresh_previews()

    def _refresh_previews(self) -> None:
        for key, w in self._previews.items():
            newest = latest_preview(key)
            if newest is None:
                w.clear(f"{Path(key).name}: no samples yet")
                continue
            step, kind, path = newest
            if w.path != path:
                w.show_file(step, kind, path)
                w.caption.setText(f"{Path(key).name} — step {step:,}")

    def _update_buttons(self) -> None:
        sel = self.selected()
        live = any(self.status_of(p) in LIVE_STATES for p in sel)
        self.resume_btn.setEnabled(len(sel) == 1 and not live and self.status_of(sel[0]) in STARTABLE_STATES)
        self.delete_btn.setEnabled(bool(sel) and not live)
        job = len(sel) == 1 and self._submitted(sel[0])
        self.cancel_btn.setVisible(bool(job))
        self.cancel_btn.setEnabled(bool(job) and self.status_of(sel[0]) in ACTIVE_STATES  # queued is "created"
                                   and _key(sel[0]) not in self._cancelling)

    def _submitted(self, run_dir: Path) -> bool:
        run = read_run_cached(run_dir, self._caches.setdefault(_key(run_dir), {})) or {}
        sub = run.get("submission")
        return isinstance(sub, dict) and bool(sub.get("job_id"))

    def cancel_job(self, confirm: bool = True) -> None:
        """Cancel the selected run's cluster job (``studio runs cancel``) on a helper thread: a running
        trainer is given up to 30 s to write its checkpoint and end."""
        sel = self.selected()
        if len(sel) != 1 or not self._submitted(sel[0]):
            return
        run_dir = sel[0]
        if confirm and QMessageBox.question(
                self, "Cancel the job?", f"Cancel the cluster job of {run_dir.name}? A queued job never starts; "
                "a running one stops after writing a checkpoint (Resume continues it here).") \
                != QMessageBox.StandardButton.Yes:
            return
        self._cancelling.add(_key(run_dir))
        self._update_buttons()
        self.ctx.status_message.emit(f"Cancelling the job of {run_dir.name}…")

        def work() -> None:
            try:
                said = cancel_job(run_dir)
            except (SubmitError, RunFolderError, OSError) as exc:
                said = f"could not cancel: {exc}"
            self.job_cancelled.emit(str(run_dir), said)

        threading.Thread(target=work, daemon=True, name="studio-cancel-job").start()

    def _on_job_cancelled(self, run_dir: str, said: str) -> None:
        self._cancelling.discard(_key(Path(run_dir)))
        self._shown.pop(_key(Path(run_dir)), None)
        self.refresh()
        self.ctx.status_message.emit(f"{Path(run_dir).name}: {said}")
        if said.startswith("could not cancel"):
            QMessageBox.warning(self, "Cannot cancel the job", f"{run_dir}: {said}")

    # -- actions -------------------------------------------------------------------------------------
    def _on_run_started(self, run_dir: str) -> None:
        if all(_key(p) != _key(Path(run_dir)) for p in self.run_folders()):
            self.attached.append(Path(run_dir))  # started without a project
        self.reload()

    def open_folder(self) -> None:
        start = str(self.ctx.project.runs_dir) if self.ctx.project else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a run folder", start)
        if folder:
            self.attach(folder)

    def attach(self, folder: str | Path) -> bool:
        """Add a run folder (from anywhere) to the list and follow it."""
        folder = Path(folder)
        if not is_run_folder(folder):
            QMessageBox.warning(self, "Not a run folder", f"{folder} holds no {RUN_FILE}: it is not a training run.")
            return False
        proj = self.ctx.project
        if proj is not None:
            proj.add_run(folder)
            try:
                proj.save()
            except OSError as exc:
                log.error("could not save the project: %s", exc)
            self.ctx.project_changed.emit()
        elif all(_key(p) != _key(folder) for p in self.attached):
            self.attached.append(folder)
        self.reload()
        self.select([folder])
        return True

    def resume(self) -> None:
        sel = self.selected()
        if len(sel) != 1:
            return
        run_dir = sel[0]
        steps = None
        if self.status_of(run_dir) == RunStatus.DONE:
            cur = self._shown.get(_key(run_dir), (None, None, 0))[2]
            steps, ok = QInputDialog.getInt(self, "Train further", f"{run_dir.name} is done. Train until step:",
                                            max(cur * 2, cur + 100), cur + 1, 2**31 - 1)
            if not ok:
                return
        try:
            proc = self.procs.resume(run_dir, steps=steps)
        except (RunFolderError, OSError, ValueError) as exc:
            QMessageBox.warning(self, "Cannot resume", str(exc))
            return
        if getattr(proc, "resume_note", ""):  # e.g. a cluster job continued here: say so
            self.ctx.status_message.emit(f"Resuming {run_dir.name}: {proc.resume_note}")
        self.ctx.run_started.emit(str(run_dir))
        self.ctx.run_selected.emit(str(run_dir))

    def delete(self, confirm: bool = True) -> None:
        sel = self.selected()
        if not sel:
            return
        names = ", ".join(p.name for p in sel)
        if confirm and QMessageBox.question(
                self, "Delete runs?",
                f"Move {names} to the project's trash? Edit > Undo brings them back; "
                f"File > Empty trash deletes for good.") != QMessageBox.StandardButton.Yes:
            return
        for path in sel:
            ref = self._project_ref(path)
            if ref is not None:
                try:
                    push_edit(self.ctx, TrashItem("run", ref))
                except ProjectError as exc:
                    QMessageBox.warning(self, "Cannot delete", str(exc))
            else:
                self.attached = [p for p in self.attached if _key(p) != _key(path)]
        self.reload()

    def shutdown(self) -> None:
        self.timer.stop()

    def apply_theme(self, dark: bool) -> None:
        self._shown.clear()  # every row is filled again, in the new status colours
        self.refresh()
