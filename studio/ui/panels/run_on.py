"""The Models panel's "Run on" row: this computer, several processes (local DDP through torchrun),
or a cluster job (Slurm through submitit, set up in File › Preferences).

The widget only chooses; ``studio.core.training.launch`` turns the choice into the child's command.
A choice that cannot work here is listed but greyed, its reason in the tooltip (the plugin list does
the same), so a user sees the option exists and what it needs.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QMessageBox, QSpinBox, QVBoxLayout, QWidget

from studio.core.training.launch import (CLUSTER, HERE, PROCESSES, RunOn, cluster_problem, load_cluster_settings,
                                         max_processes, on_gpus)
from studio.ui.panels.train_processes import training_processes

CHOICES = ((HERE, "This computer", "Train in one process on this computer (the device above)"),
           (PROCESSES, "Several processes",
            "Train with several processes on this computer (PyTorch DDP through torchrun): one per GPU, or "
            "several CPU processes that share the work; the batch size is per process"),
           (CLUSTER, "Cluster (Slurm)",
            "Hand the run to your Slurm cluster as a job (File › Preferences › Slurm cluster); the run folder "
            "must be on a filesystem the cluster's nodes share. The Runs panel shows the job's state."))


class _Choices(QComboBox):
    """Re-checks what is available each time it opens (Preferences may have changed meanwhile)."""

    def __init__(self, on_open, parent=None):
        super().__init__(parent)
        self._on_open = on_open

    def showPopup(self) -> None:
        self._on_open()
        super().showPopup()


class RunOnChoice(QWidget):
    """A combo box, the number of processes beside it, and one line describing the cluster job."""

    def __init__(self, ctx, devices: QComboBox, parent=None):
        super().__init__(parent)
        self.ctx, self.devices = ctx, devices
        self.combo = _Choices(self.refresh)
        self.combo.setModel(QStandardItemModel(self.combo))
        for kind, text, tip in CHOICES:
            item = QStandardItem(text)
            item.setData(kind, Qt.ItemDataRole.UserRole)  # what currentData() returns
            item.setToolTip(tip)
            self.combo.model().appendRow(item)
        self.combo.setToolTip("Where this run trains: here, in several processes, or as a cluster job")
        self.processes = QSpinBox()
        self.processes.setRange(2, 2)
        self.processes.setPrefix("× ")  # short: the row must fit a narrow dock; the tooltip says the rest
        self.processes.setToolTip("How many DDP processes (at most one per GPU, or one per CPU core)")
        self.cluster_line = QLabel()
        self.cluster_line.setWordWrap(True)
        self.cluster_line.setStyleSheet("color: palette(placeholder-text);")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.processes)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.cluster_line)
        self.combo.currentIndexChanged.connect(self._show_parts)
        devices.currentIndexChanged.connect(self.refresh)
        ctx.devices_ready.connect(self.refresh)
        training_processes(ctx).submit_failed.connect(self._submit_failed)
        training_processes(ctx).submitted.connect(self._submitted)
        self.refresh()

    # -- what can be chosen ---------------------------------------------------------------------
    def _item(self, kind: str) -> QStandardItem:
        model = self.combo.model()
        return next(model.item(i) for i in range(model.rowCount())
                    if model.item(i).data(Qt.ItemDataRole.UserRole) == kind)

    def _set_available(self, kind: str, problem: str) -> None:
        item = self._item(kind)
        item.setEnabled(not problem)
        tip = next(t for k, _, t in CHOICES if k == kind)
        item.setToolTip(f"{problem}\n\n{tip}" if problem else tip)

    def refresh(self, *_) -> None:
        """Grey what cannot run here (too few cores/GPUs, no cluster set up, no submitit)."""
        device = self.devices.currentData() or "auto"
        gpus = sum(1 for d in self.ctx.devices if getattr(d, "kind", "") in ("cuda", "rocm"))
        cap = max_processes(device, gpus)
        self.processes.setMaximum(max(cap, 2))
        unit = "GPU" if on_gpus(device, gpus) else "CPU core"
        self._set_available(PROCESSES, "" if cap >= 2 else f"Needs at least two of them: this computer has one {unit}.")
        self.processes.setToolTip(f"How many DDP processes: up to {cap} here (one per {unit})")
        self._set_available(CLUSTER, cluster_problem())
        current = self._item(self.combo.currentData() or HERE)
        if not current.isEnabled():
            self.combo.setCurrentIndex(0)  # e.g. the cluster settings were switched off in Preferences
        self._show_parts()

    def _show_parts(self, *_) -> None:
        kind = self.combo.currentData()
        self.processes.setVisible(kind == PROCESSES)
        self.cluster_line.setVisible(kind == CLUSTER)
        if kind == CLUSTER:
            c = load_cluster_settings()
            gpus = f"{c.gpus_per_node} GPU{'s' if c.gpus_per_node != 1 else ''}" if c.gpus_per_node else "CPU only"
            parts = [f"partition {c.partition}" if c.partition else "default partition",
                     f"{c.nodes} node{'s' if c.nodes != 1 else ''} × {gpus}",
                     f"time {c.time_limit}" if c.time_limit else "default time limit"]
            self.cluster_line.setText(" · ".join(parts))
            self.cluster_line.setToolTip("Change these in File › Preferences › Slurm cluster")

    # -- the choice ----------------------------------------------------------------------------
    def select(self, kind: str, processes: int | None = None) -> bool:
        """Choose ``kind`` (and the number of processes) as a user would; False when it is greyed."""
        self.refresh()
        item = self._item(kind)
        if not item.isEnabled():
            return False
        self.combo.setCurrentIndex(item.row())
        if processes is not None:
            self.processes.setValue(processes)
        return True

    def choice(self) -> RunOn:
        kind = self.combo.currentData() or HERE
        if kind == PROCESSES:
            return RunOn(PROCESSES, processes=self.processes.value())
        if kind == CLUSTER:
            return RunOn(CLUSTER, cluster=load_cluster_settings())
        return RunOn()

    def problem(self) -> str:
        """Why the current choice cannot start now ("" when it can)."""
        return cluster_problem() if self.combo.currentData() == CLUSTER else ""

    # -- how a hand-off went ----------------------------------------------------------------------
    def _submitted(self, run_dir: str, words: str) -> None:
        self.ctx.status_message.emit(f"Handed to the cluster: {words}")

    def _submit_failed(self, run_dir: str, reason: str) -> None:
        self.ctx.status_message.emit(f"Could not submit {run_dir}: {reason}")
        QMessageBox.warning(self, "Could not hand the run to the cluster", f"{run_dir}\n\n{reason}")
