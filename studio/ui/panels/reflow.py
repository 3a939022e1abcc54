"""A splitter that puts a side column beside the main area when there is room, and under it when not.

Panels in a dock on a 1366×768 laptop get ~600 px; side by side they would ask more and push the
window off the screen. ``ReflowSplit`` asks only the stacked arrangement's width as its minimum and
switches arrangement as it is resized; a side whose layout is a ``QBoxLayout`` turns from a column
into a row when it moves under the main area, and ``arranged(narrow)`` lets the owner re-lay the rest
(e.g. a form in two columns).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtWidgets import QBoxLayout, QSplitter, QWidget

SLACK = 40  # px above the side-by-side minimum before going side by side (no squeezed controls)


def settle(root: QWidget) -> None:
    """Re-lay ``root``'s nested layouts now, innermost first, so sizes are right in this very pass
    (left to events, each nesting level would take one more turn of the event loop)."""
    widgets = [w for w in root.findChildren(QWidget) if w.layout() is not None]
    depth = {}
    for w in widgets:
        d, p = 0, w
        while p is not None and p is not root:
            d, p = d + 1, p.parentWidget()
        depth[w] = d
    for w in sorted(widgets, key=depth.get, reverse=True):
        w.layout().activate()


class ReflowSplit(QSplitter):
    arranged = Signal(bool)  # True: the side is under the main area

    def __init__(self, main: QWidget, side: QWidget, stretch: tuple[int, int] = (3, 1), parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setChildrenCollapsible(False)
        self.addWidget(main)
        self.addWidget(side)
        self.setStretchFactor(0, stretch[0])
        self.setStretchFactor(1, stretch[1])
        self.stretch = stretch
        self.narrow = False
        self.wide_width = 0                     # below this width the side goes under (set by measure)
        self._stacked_min: QSize | None = None
        self._polished = False                  # measured with the style's real sizes (after the first show)

    def measure(self) -> None:
        """Find both arrangements' minimum widths (call once the contents are built)."""
        was = self.narrow
        self.arrange(False)
        self.wide_width = super().minimumSizeHint().width() + SLACK
        self.arrange(True)
        self._stacked_min = super().minimumSizeHint()
        self.arrange(was)
        self.updateGeometry()

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        if self._stacked_min is None:
            return hint
        return QSize(self._stacked_min.width(), hint.height())

    def arrange(self, narrow: bool, size: QSize | None = None) -> None:
        if narrow == self.narrow:
            return
        self.narrow = narrow
        self.setOrientation(Qt.Orientation.Vertical if narrow else Qt.Orientation.Horizontal)
        side = self.widget(1)
        if isinstance(side.layout(), QBoxLayout):
            side.layout().setDirection(QBoxLayout.Direction.LeftToRight if narrow
                                       else QBoxLayout.Direction.TopToBottom)
        self.arranged.emit(narrow)
        settle(self)
        size = size or self.size()
        if narrow:  # the main area keeps what the side does not need, and takes any extra height
            need = side.minimumSizeHint().height()
            self.setStretchFactor(1, 0)
            self.setSizes([max(1, size.height() - need), need])
        else:
            self.setStretchFactor(1, self.stretch[1])
            total = sum(self.stretch)
            self.setSizes([size.width() * self.stretch[0] // total, size.width() * self.stretch[1] // total])

    def showEvent(self, event) -> None:
        if not self._polished:  # sizes before the first show do not have the style's margins yet
            self._polished = True
            self.measure()
        super().showEvent(event)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if self._polished and event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self.measure()

    def resizeEvent(self, event) -> None:
        if self._stacked_min is not None:
            self.arrange(event.size().width() < self.wide_width, event.size())
        super().resizeEvent(event)
