"""Shared state and signals the panels use to talk to each other (views never call views)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, QSettings, Signal

from studio.core import paths
from studio.core.project import Project
from studio.ui.restore_request import RestoreRequest, RestoreTarget

if TYPE_CHECKING:  # types only: the services are attached by the window, not imported here
    from studio.ui.panels.train_processes import TrainingProcesses
    from studio.ui.project_actions import ProjectActions


class LogBridge(QObject, logging.Handler):
    """A logging handler that forwards records to the Log panel through a Qt signal."""

    record = Signal(str, str)  # level name, formatted message

    def __init__(self):
        QObject.__init__(self)
        logging.Handler.__init__(self, level=logging.INFO)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        self.history: list[tuple[str, str]] = []

    def emit(self, rec: logging.LogRecord) -> None:  # logging.Handler API
        try:
            msg = self.format(rec)
        except Exception:  # noqa: BLE001
            msg = rec.getMessage()
        self.history.append((rec.levelname, msg))
        del self.history[:-2000]
        self.record.emit(rec.levelname, msg)


class StudioContext(QObject):
    """What every panel receives: the open project, discovered plugins/devices, the window's services
    and app-wide signals. Everything a panel may read is declared here (no attributes added later)."""

    plugins_ready = Signal(dict)       # id -> PluginEntry
    devices_ready = Signal(list)       # list[Accelerator]
    project_changed = Signal()         # a project was opened / its content changed
    dataset_added = Signal(str)        # dataset folder
    dataset_selected = Signal(str)     # dataset folder
    run_started = Signal(str)          # run folder
    run_selected = Signal(str)         # run folder (open in training / latent / melody / text panels)
    runs_compared = Signal(list)       # run folders to overlay in the loss plot (Runs panel selection)
    status_message = Signal(str)
    #: put a dropped file's generation back: a RestoreRequest for the panel named by its ``target``
    restore_requested = Signal(RestoreRequest)

    def __init__(self, project: Project | None = None, demo: bool = False):
        super().__init__()
        self.project = project
        self.demo = demo
        self.plugins: dict = {}
        self.devices: list = []
        self.log = LogBridge()
        self.settings = QSettings(str(paths.config_dir() / "settings.ini"), QSettings.Format.IniFormat)
        # services the window provides (None in a panel built on its own, e.g. in a test)
        self.project_actions: ProjectActions | None = None        # undoable project edits (push_edit)
        self.training_processes: TrainingProcesses | None = None  # the child trainers (created on first use)
        self.restore_targets: set[RestoreTarget] = set()          # panels subscribed to restore_requested

    def subscribe_restore(self, target: RestoreTarget, slot: Callable[[RestoreRequest], None]) -> None:
        """Call ``slot`` with every restore request (a panel's bound method, so it goes with the panel);
        the slot takes those whose ``target`` is ``target`` (see ``GenerationPanel``)."""
        self.restore_targets.add(target)
        self.restore_requested.connect(slot)

    def set_plugins(self, plugins: dict) -> None:
        self.plugins = plugins
        self.plugins_ready.emit(plugins)

    def set_devices(self, devices: list) -> None:
        self.devices = devices
        self.devices_ready.emit(devices)

    def set_project(self, project: Project) -> None:
        self.project = project
        self.project_changed.emit()

    def project_folder(self) -> Path | None:
        return self.project.folder if self.project else None
