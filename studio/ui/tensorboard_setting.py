"""File > "Live TensorBoard log": the project setting behind ``studio train --tensorboard``
(``"tensorboard_live": true`` in project.json). While it is on, every run the window trains also writes its
metrics and previews to ``RUN/tensorboard/`` as they come, for ``tensorboard --logdir`` (off by default)."""
from __future__ import annotations

import logging

from PySide6.QtGui import QAction

from studio.core.training.tensorboard_live import KEY, set_live_default

log = logging.getLogger("studio.ui")


class TensorBoardSetting:
    def __init__(self, window):
        self.ctx = window.ctx
        self.action = QAction("Live TensorBoard log while training", window, checkable=True)
        self.action.setToolTip("Runs trained from now on also write their losses and previews to a tensorboard "
                               "folder inside the run, for `tensorboard --logdir`. Saved with the project.")
        self.action.toggled.connect(self.set)
        self.ctx.project_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        proj = self.ctx.project
        on = bool(proj is not None and proj.extra.get(KEY) is True)
        self.action.blockSignals(True)
        self.action.setChecked(on)
        self.action.setEnabled(proj is not None)
        self.action.blockSignals(False)
        set_live_default(on)

    def set(self, on: bool) -> None:
        proj = self.ctx.project
        if proj is None:
            return
        if on:
            proj.extra[KEY] = True
        else:
            proj.extra.pop(KEY, None)
        try:
            proj.save()
        except OSError as exc:
            log.error("could not save the TensorBoard setting in %s: %s", proj.folder, exc)
        set_live_default(on)
        self.ctx.status_message.emit("Runs trained from now on write a live TensorBoard log" if on
                                     else "Runs trained from now on write no TensorBoard log")


def install_tensorboard_setting(window, before=None) -> TensorBoardSetting:
    setting = TensorBoardSetting(window)
    menu = window.file_menu
    if before is None:
        actions = menu.actions()
        before = actions[-1] if actions else None  # above Quit
    menu.insertAction(before, setting.action)
    return setting
