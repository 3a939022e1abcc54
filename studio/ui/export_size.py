"""The export size choice: radio items in an Export menu (``4× — 256×256 px``; Smooth / Crisp pixels).

Menu items rather than combos: panels are docked side by side on a 1366-pixel screen and the
choice is wanted exactly when exporting. The choice belongs to the project
(``project.ui["export_size"]``, see ``studio.core.export.scale``): changing it is an undoable
project edit, so it is autosaved and comes back when the project is reopened. Without a project
it lasts until the studio closes.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from studio.core.export.scale import DEFAULT, RESAMPLES, SCALES, SETTING_KEY, ExportSize

RESAMPLE_TEXT = {"smooth": "Smooth (Lanczos)", "nearest": "Crisp pixels (nearest)"}
RESAMPLE_TIPS = {"smooth": "Soft, painterly edges when enlarging",
                 "nearest": "Every model pixel becomes a sharp square block (pixel art)"}


class ExportSizeChoice(QObject):
    """Scale and resampling for exported pictures as two groups of radio actions, kept in the project."""

    changed = Signal(object)  # ExportSize

    def __init__(self, ctx=None, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.picture: tuple[int, int] | None = None  # (width, height) the model makes
        self._local = DEFAULT                         # the choice when no project is open
        self.scales: dict[int, QAction] = {}
        self.resamples: dict[str, QAction] = {}
        groups = (QActionGroup(self), QActionGroup(self))
        for s in SCALES:
            act = self.scales[s] = QAction(f"{s}×", self, checkable=True)
            act.setToolTip(f"Enlarge every exported picture, grid cell and walk frame {s} times")
            groups[0].addAction(act)
        for name in RESAMPLES[::-1]:
            act = self.resamples[name] = QAction(RESAMPLE_TEXT[name], self, checkable=True)
            act.setToolTip(RESAMPLE_TIPS[name])
            groups[1].addAction(act)
        self._show(self.stored())
        for act in (*self.scales.values(), *self.resamples.values()):
            act.triggered.connect(self._picked)
        if ctx is not None:
            ctx.project_changed.connect(lambda: self._show(self.stored()))  # another project, or undo

    def add_to(self, menu: QMenu) -> None:
        """Append the choice to an Export menu under two plain headings."""
        menu.setToolTipsVisible(True)
        for title, actions in (("Size of exported pictures", self.scales.values()),
                               ("Enlarge with", self.resamples.values())):
            menu.addSeparator()
            menu.addAction(title).setEnabled(False)  # a heading every style shows
            for act in actions:
                menu.addAction(act)

    # -- the value ------------------------------------------------------------
    def value(self) -> ExportSize:
        scale = next(s for s, a in self.scales.items() if a.isChecked())
        return ExportSize(scale, next(r for r, a in self.resamples.items() if a.isChecked()))

    def stored(self) -> ExportSize:
        project = getattr(self.ctx, "project", None)
        return self._local if project is None else ExportSize.from_settings(project.ui)

    def set_picture_size(self, width: int | None, height: int | None) -> None:
        """Label each scale with the pixel size it gives for the model's pictures."""
        picture = (int(width), int(height)) if width and height else None
        if picture == self.picture:
            return  # called on every decoded chunk: relabel only when the size changes
        self.picture = picture
        for s, act in self.scales.items():
            act.setText(ExportSize(s).label(*(picture or (None, None))))

    def label(self) -> str:
        """``"8× — 512×512 px, crisp pixels"``: the whole choice in words."""
        size = self.value()
        return f"{size.label(*(self.picture or (None, None)))}, {RESAMPLE_TEXT[size.resample].split(' (')[0].lower()}"

    # -- internals ------------------------------------------------------------
    def _show(self, size: ExportSize) -> None:
        self.scales[size.scale].setChecked(True)
        self.resamples[size.resample].setChecked(True)

    def _picked(self) -> None:
        size = self.value()
        project = getattr(self.ctx, "project", None)
        if project is None:
            self._local = size
        elif size != ExportSize.from_settings(project.ui):
            from studio.core.project_edits import SetSetting
            from studio.ui.project_actions import push_edit

            edit = SetSetting(SETTING_KEY, size.to_dict(), f"Export size {self.label()}")
            if not push_edit(self.ctx, edit):
                self._show(self.stored())  # refused: show what is really kept
                return
        self.changed.emit(size)
