"""File › Preferences › Slurm cluster: what the Models panel's "Run on › Cluster (Slurm)" submits.

Kept by ``studio.core.training.launch`` (``cluster.json`` in the config folder, beside the other
preferences). Ticking the box offers the cluster in the Models panel; each change is saved at once
when it is valid, and a value Slurm would refuse (a bad time limit) is named and not saved.
"""
from __future__ import annotations

import dataclasses
import html
import logging

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QLineEdit, QSpinBox, QVBoxLayout

from studio.core.training.launch import (INSTALL_HINT, ClusterSettings, load_cluster_settings, save_cluster_settings,
                                         submitit_available)

log = logging.getLogger(__name__)


class ClusterBox(QGroupBox):
    def __init__(self, parent=None):
        super().__init__("Slurm cluster (Models › Run on › Cluster)", parent)
        self.setCheckable(True)
        self.setToolTip("Tick to offer your Slurm cluster in the Models panel; runs are submitted with "
                        "`studio train --submit slurm` and the run folder must be on a filesystem the nodes share")
        saved = load_cluster_settings()
        self._backend = saved.backend  # not shown: "local" runs the job on this computer (tests, trying a setup)
        self.partition = QLineEdit(saved.partition)
        self.partition.setPlaceholderText("blank: the cluster's default")
        self.partition.setToolTip("The Slurm partition (queue) to submit to, e.g. gpu")
        self.gpus = QSpinBox()
        self.gpus.setRange(0, 64)
        self.gpus.setValue(saved.gpus_per_node)
        self.gpus.setToolTip("GPUs per node; one training process per GPU (0: one CPU process per node)")
        self.nodes = QSpinBox()
        self.nodes.setRange(1, 4096)
        self.nodes.setValue(saved.nodes)
        self.nodes.setToolTip("Nodes for the job; every process joins one DDP run")
        self.time_limit = QLineEdit(saved.time_limit)
        self.time_limit.setPlaceholderText("e.g. 4:00:00 (blank: the partition's)")
        self.time_limit.setToolTip("The job's time limit in Slurm's format: minutes, H:MM:SS or D-HH:MM:SS")
        self.status = QLabel()
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Partition", self.partition)
        form.addRow("GPUs per node", self.gpus)
        form.addRow("Nodes", self.nodes)
        form.addRow("Time limit", self.time_limit)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.status)
        self.setChecked(saved.enabled)
        self.toggled.connect(self.save)
        self.partition.editingFinished.connect(self.save)
        self.time_limit.editingFinished.connect(self.save)
        self.gpus.valueChanged.connect(self.save)
        self.nodes.valueChanged.connect(self.save)
        self._show(saved.problem() if saved.enabled else "")

    def settings(self) -> ClusterSettings:
        return ClusterSettings(enabled=self.isChecked(), partition=self.partition.text().strip(),
                               gpus_per_node=self.gpus.value(), nodes=self.nodes.value(),
                               time_limit=self.time_limit.text().strip(), backend=self._backend)

    def save(self, *_) -> bool:
        """Keep the settings when they can be submitted (or the cluster is switched off); else say why."""
        settings = self.settings()
        problem = settings.problem() if settings.enabled else ""
        if problem:
            self._show(problem)
            return False
        try:
            save_cluster_settings(settings if settings.enabled else dataclasses.replace(settings, enabled=False))
        except OSError as exc:
            log.warning("could not save the cluster settings: %s", exc)
            self._show(f"Could not save: {exc}")
            return False
        self._show("")
        return True

    def _show(self, problem: str) -> None:
        if problem:
            self.status.setText(f"<span style='color:#c0392b'>Not saved: {html.escape(problem)}</span>")
        elif not submitit_available():
            self.status.setText(f"Submitting needs the submitit package: <code>{INSTALL_HINT}</code>")
        elif self.isChecked():
            self.status.setText("Offered in Models › Run on. The job's logs go to job-logs/ in its run folder.")
        else:
            self.status.setText("Not offered in the Models panel until ticked.")
