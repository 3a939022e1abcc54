"""Models panel: pick a model plugin, set its options (a form generated from its Config), a dataset,
the engine settings users care about and a device; Start trains it in a child process.

Start creates a run folder under the project's ``runs/`` (or the studio's data folder without a
project), adds it to the project, starts a ``TrainingProcess`` and announces the run through
``ctx.run_started`` and ``ctx.run_selected`` (the Training, Loss plot and Runs panels follow it).
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit,
                               QMessageBox, QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from studio.core import paths
from studio.core.plugins.api import ConfigError
from studio.core.training.settings import split_settings
from studio.ui.config_form import wrap_rows
from studio.ui.panels.model_settings import ModelSettings
from studio.ui.panels.run_on import RunOnChoice
from studio.ui.panels.train_choices import (DatasetCombo, DeviceCombo, PluginCombo, confirm_other_dataset,
                                            dataset_modality, default_run_name, narrow, new_run_dir, safe_name,
                                            set_text)
from studio.ui.panels.train_processes import training_processes

log = logging.getLogger("studio.ui.models")
#: model families in the order they need data (studio.core.datasets.size_advice): the first one offered
SMALL_DATA_FIRST = {"vae": 0, "rnn": 1, "transformer": 2, "gan": 3, "diffusion": 4}


class ModelsPanel(QWidget):
    """Model, dataset, length, device and run name up top; the model's and engine's settings below (a
    column that wraps, never scrolls sideways); Reset and Start pinned at the bottom, always in reach.

    The dataset follows the one selected in Datasets (and a model for its kind of data is chosen), so
    a fresh import is what gets trained; starting on another dataset of that kind asks first."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.procs = training_processes(ctx)
        self.last_run: Path | None = None
        #: the dataset selected in Datasets (or the newest one of the project): what Start should train on
        self.chosen_dataset: Path | None = None
        self._build_choices()
        self.forms = ModelSettings(on_resize=self._fit_width)  # the model's and the engine's settings
        self._build_actions()
        self._lay_out()
        ctx.plugins_ready.connect(self.set_plugins)
        ctx.devices_ready.connect(self.devices.set_devices)
        ctx.project_changed.connect(self.reload_datasets)
        ctx.dataset_added.connect(self.follow_dataset)
        ctx.dataset_selected.connect(self.follow_dataset)
        self.devices.set_devices(list(ctx.devices))
        self.reload_datasets()
        proj = ctx.project
        if proj is not None and proj.datasets:
            self.chosen_dataset = proj.resolve(proj.datasets[-1])  # the newest import until one is selected
        self.set_plugins(ctx.plugins)

    # -- building -----------------------------------------------------------------------------
    def _build_choices(self) -> None:
        """Model, dataset, training length, device and run name."""
        self.plugins = PluginCombo()
        narrow(self.plugins)
        self.plugins.currentIndexChanged.connect(self._on_plugin)
        self.description = QLabel("Looking for models…")
        self.description.setWordWrap(True)
        self.description.setToolTip("What the chosen model does")
        self.datasets = DatasetCombo()
        narrow(self.datasets)
        self.datasets.currentIndexChanged.connect(self._update_start)
        self.browse_btn = QPushButton("Browse…")
        self.browse_btn.setToolTip("Use a dataset folder (made by Import / `studio import`) from anywhere")
        self.browse_btn.clicked.connect(self.browse_dataset)
        self.length_kind = QComboBox()
        self.length_kind.addItem("steps", "steps")
        self.length_kind.addItem("minutes", "minutes")
        self.length_kind.setToolTip("Bound the run by a number of optimisation steps or by training time")
        self.length = QSpinBox()
        self.length.setRange(1, 100_000_000)
        self.length.setValue(2000)
        self.length.setGroupSeparatorShown(True)
        self.length.setToolTip("How long to train (steps, or minutes excluding pauses)")
        self.length_kind.currentIndexChanged.connect(self._on_length_kind)
        self.devices = DeviceCombo()
        narrow(self.devices)
        self.run_on = RunOnChoice(self.ctx, self.devices)  # here / several processes / cluster job
        self.run_name = QLineEdit()
        self.run_name.setPlaceholderText("automatic: model-dataset-date")
        self.run_name.setToolTip("Folder name of the new run (under the project's runs/)")

    def _build_actions(self) -> None:
        """Reset and Start, and the line saying what is missing before Start works."""
        self.reset_btn = QPushButton("Reset to defaults")
        self.reset_btn.setToolTip("Put every model and engine setting back to its default")
        self.reset_btn.clicked.connect(self.forms.reset)
        self.start_btn = QPushButton("Start training")
        self.start_btn.setToolTip("Create a run folder and train this model in a separate process")
        self.start_btn.setDefault(True)
        self.start_btn.clicked.connect(self.start)
        self.why = QLabel("")
        self.why.setWordWrap(True)
        self.why.setStyleSheet("color: palette(placeholder-text);")
        self.why.setToolTip("What is missing before training can start")

    def _lay_out(self) -> None:
        form = QFormLayout()
        wrap_rows(form)
        form.addRow("Model", self.plugins)
        form.addRow(self.description)
        ds_row = QHBoxLayout()
        ds_row.addWidget(self.datasets, 1)
        ds_row.addWidget(self.browse_btn)
        form.addRow("Dataset", ds_row)
        len_row = QHBoxLayout()
        len_row.addWidget(self.length, 1)
        len_row.addWidget(self.length_kind)
        form.addRow("Train for", len_row)
        form.addRow("Device", self.devices)
        form.addRow("Run on", self.run_on)
        form.addRow("Run name", self.run_name)
        self.body = body = QWidget()
        lay = QVBoxLayout(body)
        lay.addLayout(form)
        lay.addWidget(self.forms)
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        # forms wrap (labels above their fields when narrow): a sideways scroll bar would hide label starts
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll = scroll
        actions = QHBoxLayout()
        actions.setContentsMargins(9, 4, 9, 0)
        actions.addWidget(self.reset_btn)
        actions.addStretch(1)
        actions.addWidget(self.start_btn)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 6)
        outer.addWidget(scroll, 1)
        outer.addLayout(actions)  # outside the scroll area: Start is always reachable
        outer.addWidget(self.why)
        self.why.setContentsMargins(9, 0, 9, 0)

    # -- choices ------------------------------------------------------------------------------
    def set_plugins(self, entries: dict) -> None:
        self.plugins.blockSignals(True)
        self.plugins.set_plugins(entries or {})
        self.plugins.blockSignals(False)
        if not entries:
            self.description.setText("Looking for models… (the list fills in once plugins are discovered)")
        if self.chosen_dataset is not None:
            self._model_for_dataset(self.chosen_dataset)
        self._on_plugin()
        if self.chosen_dataset is not None:
            self.datasets.select(self.chosen_dataset)
            self._update_start()

    def follow_dataset(self, folder: str | Path) -> None:
        """The dataset selected (or just imported) in Datasets: train on it, with a model for its data."""
        folder = Path(folder)
        self.chosen_dataset = folder
        self._model_for_dataset(folder)
        self.datasets.add_folder(folder, select=True)
        self._update_start()

    def _model_for_dataset(self, folder: Path) -> bool:
        """Keep the chosen model when it trains on this dataset's kind of data, else pick the first that does."""
        modality, problem = dataset_modality(folder)
        if problem:
            return False
        current = self.current_plugin()
        if current is not None and current.modality == modality:
            return True
        fits = [pid for pid in self.plugins.ids() if (e := self.ctx.plugins.get(pid)) is not None and e.ok
                and e.plugin.modality == modality]
        # the family that copes best with a small dataset first (a VAE before a GAN before diffusion)
        fits.sort(key=lambda pid: SMALL_DATA_FIRST.get(self.ctx.plugins[pid].plugin.family, len(SMALL_DATA_FIRST)))
        return self.plugins.select(fits[0]) if fits else False

    def current_plugin(self):
        pid = self.plugins.current_id()
        entry = self.ctx.plugins.get(pid) if pid else None
        return entry.plugin if entry is not None and entry.ok else None

    def _on_plugin(self, *_):
        plugin = self.current_plugin()
        self.forms.show_plugin(plugin)
        if plugin is None:
            self.datasets.set_modality(None)
            self._update_start()
            return
        self.description.setText(f"{plugin.description or plugin.name} — trains on {plugin.modality} data.")
        changed_kind = self.datasets.modality != plugin.modality
        self.datasets.set_modality(plugin.modality)
        chosen = self.chosen_dataset
        if changed_kind and chosen is not None and dataset_modality(chosen)[0] == plugin.modality:
            self.datasets.select(chosen)  # back to a model for the selected dataset: that dataset again
        self._update_start()
        self._fit_width()

    def _fit_width(self) -> None:
        """The panel never gets narrower than its (wrapped) form and the scroll bar beside it."""
        bar = self.scroll.verticalScrollBar().sizeHint().width()
        self.scroll.setMinimumWidth(self.body.minimumSizeHint().width() + bar + 2 * self.scroll.frameWidth())

    def reload_datasets(self) -> None:
        proj = self.ctx.project
        folders = [proj.resolve(ref) for ref in proj.datasets] if proj else []
        extra = [f for f in self.datasets.folders if all(f.resolve() != g.resolve() for g in folders)]
        self.datasets.set_folders(folders + extra)
        self._update_start()

    def browse_dataset(self) -> None:
        start = str(self.ctx.project.datasets_dir) if self.ctx.project else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Choose a dataset folder", start)
        if folder:
            self.use_dataset(folder)

    def use_dataset(self, folder: str | Path) -> bool:
        _modality, problem = dataset_modality(folder)
        if problem:
            QMessageBox.warning(self, "Not a usable dataset", problem)
            return False
        self.datasets.add_folder(folder, select=True)
        self._update_start()
        return True

    def _on_length_kind(self) -> None:
        minutes = self.length_kind.currentData() == "minutes"
        self.length.setValue(30 if minutes else 2000)
        self.length.setToolTip("Minutes of training (pauses excluded)" if minutes else "Optimisation steps")

    def _update_start(self, *_):
        problem = self.start_problem()
        self.start_btn.setEnabled(not problem)
        self.why.setText(problem)

    def start_problem(self) -> str:
        if self.current_plugin() is None:
            return "Choose a model (none is available yet)." if not self.ctx.plugins else "Choose a working model."
        if self.datasets.current_folder() is None:
            m = self.current_plugin().modality
            return f"Choose a {m} dataset: import one in Datasets or Browse for a dataset folder."
        return self.run_on.problem()

    # -- start ----------------------------------------------------------------------------------
    def settings(self) -> dict:
        """What ``--set`` receives: only settings that differ from their defaults."""
        return self.forms.changed_values()

    def runs_base(self) -> Path:
        return self.ctx.project.runs_dir if self.ctx.project else paths.data_dir() / "runs"

    def start(self) -> Path | None:
        """Create the run folder, register it in the project, start the trainer; returns the run folder."""
        problem = self.start_problem()
        if problem:
            QMessageBox.information(self, "Cannot start yet", problem)
            return None
        plugin = self.current_plugin()
        dataset = self.datasets.current_folder()
        if not confirm_other_dataset(self, self.chosen_dataset, dataset):
            return None
        settings = self.settings()
        try:
            split_settings(plugin, settings)  # refuse bad values here, in words, before a process starts
        except ConfigError as exc:
            QMessageBox.warning(self, "A setting is not valid", str(exc))
            return None
        name = safe_name(self.run_name.text()) if self.run_name.text().strip() else default_run_name(plugin.id, dataset)
        kind = self.length_kind.currentData()
        bound = {"steps": self.length.value()} if kind == "steps" else {"minutes": float(self.length.value())}
        try:
            run_dir = new_run_dir(self.runs_base(), name)
            proc = self.procs.start(plugin.id, dataset, run_dir, device=self.devices.currentData() or "auto",
                                    settings={k: set_text(v) for k, v in settings.items()},
                                    run_on=self.run_on.choice(), **bound)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Could not start training", str(exc))
            return None
        self.last_run = run_dir
        proj = self.ctx.project
        if proj is not None:
            proj.add_run(run_dir)
            try:
                proj.save()
            except OSError as exc:
                log.error("could not save the project after adding %s: %s", run_dir, exc)
            self.ctx.project_changed.emit()
        log.info("started %s on %s (pid %s)", plugin.id, dataset.name, proc.pid)
        self.ctx.status_message.emit(f"Training {plugin.name} into {run_dir.name}")
        self.ctx.run_started.emit(str(run_dir))
        self.ctx.run_selected.emit(str(run_dir))
        self.run_name.clear()
        return run_dir
