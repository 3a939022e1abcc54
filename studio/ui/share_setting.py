"""The File menu's project switches, each a key in project.json (off unless ``true``), applied to the
process when the project opens or the switch is flipped:

* "Share-safe exports (no local paths)" (``"share_exports"``): the setting behind ``--share``; every file
  the studio exports carries a recipe without local paths (run id, checkpoint digest, seed and settings
  stay, so the generation can still be restored by digest).
* "Live TensorBoard log while training" (``"tensorboard_live"``): the setting behind
  ``studio train --tensorboard``; runs the window trains also write their metrics and previews to
  ``RUN/tensorboard/`` as they come, for ``tensorboard --logdir`` (issue 22).
"""
from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtGui import QAction

from studio.core.export.provenance import set_sharing
from studio.core.export.share_setting import KEY as SHARE_KEY
from studio.core.training.tensorboard_live import KEY as TENSORBOARD_KEY, set_live_default

log = logging.getLogger("studio.ui")


class ProjectSwitch:
    """A checkable File-menu action kept in the open project's ``extra[key]`` (greyed without a project)."""

    def __init__(self, window, key: str, label: str, tip: str, apply: Callable[[bool], None],
                 said: tuple[str, str]):
        self.ctx, self.key, self.apply, self.said = window.ctx, key, apply, said
        self.action = QAction(label, window, checkable=True)
        self.action.setToolTip(tip)
        self.action.toggled.connect(self.set)
        self.ctx.project_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        proj = self.ctx.project
        on = bool(proj is not None and proj.extra.get(self.key) is True)
        self.action.blockSignals(True)
        self.action.setChecked(on)
        self.action.setEnabled(proj is not None)
        self.action.blockSignals(False)
        self.apply(on)

    def set(self, on: bool) -> None:
        proj = self.ctx.project
        if proj is None:
            return
        if on:
            proj.extra[self.key] = True
        else:
            proj.extra.pop(self.key, None)
        try:
            proj.save()
        except OSError as exc:
            log.error("could not save the %s setting in %s: %s", self.key, proj.folder, exc)
        self.apply(on)
        self.ctx.status_message.emit(self.said[0] if on else self.said[1])


def install_share_setting(window) -> ProjectSwitch:
    """Both switches, above Quit; the TensorBoard one is ``window.tensorboard_setting``."""
    share = ProjectSwitch(
        window, SHARE_KEY, "Share-safe exports (no local paths)",
        "Exported files leave your folders' paths out of their recipes (run id, checkpoint digest, seed and "
        "settings stay). Saved with the project.", set_sharing,
        ("Exports leave local paths out", "Exports record where their run is"))
    window.tensorboard_setting = ProjectSwitch(
        window, TENSORBOARD_KEY, "Live TensorBoard log while training",
        "Runs trained from now on also write their losses and previews to a tensorboard folder inside the run, "
        "for `tensorboard --logdir`. Saved with the project.", set_live_default,
        ("Runs trained from now on write a live TensorBoard log", "Runs trained from now on write no TensorBoard log"))
    menu = window.file_menu
    actions = menu.actions()
    for switch in (share, window.tensorboard_setting):
        menu.insertAction(actions[-1] if actions else None, switch.action)  # above Quit
    return share
