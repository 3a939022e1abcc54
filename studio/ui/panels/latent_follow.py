""""Follow latest checkpoint" for the latent grid: while a run trains, notice each newer checkpoint."""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.training.checkpoints import default_choice
from studio.ui.panels.latent_source import latest_checkpoint_path

FOLLOW_POLL_MS = 2000


class CheckpointFollower(QObject):
    """While on, polls the explored run and asks for a reload (keeping the view) when it has a newer checkpoint."""

    reload = Signal(str)    # the run folder

    def __init__(self, loader, parent=None):
        super().__init__(parent)
        self.loader, self.model = loader, None
        self.timer = QTimer(self, timeout=self.poll)

    def set_on(self, on: bool) -> None:
        if on:
            self.timer.start(FOLLOW_POLL_MS)
        else:
            self.timer.stop()

    def poll(self) -> None:
        lm = self.model
        if lm is None or not lm.run or self.loader.busy():
            return
        newest = latest_checkpoint_path(lm.run)
        # a run that stopped early opens on its best checkpoint: reloading would land there again, for ever
        if newest and newest != lm.checkpoint and default_choice(lm.run) != "best":
            self.reload.emit(lm.run)
