"""File > "Share-safe exports": the project setting behind ``--share`` (``"share_exports": true`` in
project.json). While it is on, every file the studio exports carries a recipe without local paths
(run id, checkpoint digest, seed and settings stay, so the generation can still be restored by digest)."""
from __future__ import annotations

import logging

from PySide6.QtGui import QAction

from studio.core.export.provenance import set_sharing
from studio.core.export.share_setting import KEY

log = logging.getLogger("studio.ui")


class ShareSetting:
    def __init__(self, window):
        self.ctx = window.ctx
        self.action = QAction("Share-safe exports (no local paths)", window, checkable=True)
        self.action.setToolTip("Exported files leave your folders' paths out of their recipes (run id, checkpoint "
                               "digest, seed and settings stay). Saved with the project.")
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
        set_sharing(on)

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
            log.error("could not save the share setting in %s: %s", proj.folder, exc)
        set_sharing(on)
        self.ctx.status_message.emit("Exports leave local paths out" if on else "Exports record where their run is")


def install_share_setting(window) -> ShareSetting:
    setting = ShareSetting(window)
    menu = window.file_menu
    actions = menu.actions()
    menu.insertAction(actions[-1] if actions else None, setting.action)  # above Quit
    # The File menu's other project switch, next to this one: File > Live TensorBoard log (issue 22)
    from studio.ui.tensorboard_setting import install_tensorboard_setting
    window.tensorboard_setting = install_tensorboard_setting(window)
    return setting
