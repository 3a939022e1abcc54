"""A layout that places its items left to right and wraps to a new row when the width runs out.

Controls in a narrow dock reflow instead of forcing the dock (and the window) wider or cutting labels.
The layout reports its height for a given width, so the rows below it move down as it wraps.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QWidget, QWidgetItem


class FlowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, spacing: int = 6):
        super().__init__(parent)
        self._items: list[QWidgetItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    # -- QLayout API ------------------------------------------------------
    def addItem(self, item) -> None:  # noqa: N802 - Qt API
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        """All items on one row."""
        widths = [i.sizeHint().width() for i in self._items if not i.isEmpty()]
        height = max((i.sizeHint().height() for i in self._items if not i.isEmpty()), default=0)
        m = self.contentsMargins()
        return QSize(sum(widths) + self._spacing * max(len(widths) - 1, 0) + m.left() + m.right(),
                     height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:  # noqa: N802
        """The widest single item: anything wider wraps."""
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    # -- placing ----------------------------------------------------------
    def _place(self, rect: QRect, move: bool) -> int:
        """Fill rows left to right, each item centred vertically in its row; the height used."""
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        rows: list[list] = [[]]
        x = area.x()
        for item in (i for i in self._items if not i.isEmpty()):
            w = item.sizeHint().width()
            if rows[-1] and x + w > area.right() + 1:
                rows.append([])   # wrap
                x = area.x()
            rows[-1].append(item)
            x += w + self._spacing
        y = area.y()
        for row in rows:
            row_h = max((i.sizeHint().height() for i in row), default=0)
            x = area.x()
            for item in row:
                hint = item.sizeHint()
                if move:
                    item.setGeometry(QRect(QPoint(x, y + (row_h - hint.height()) // 2),
                                           QSize(min(hint.width(), area.width()), hint.height())))
                x += hint.width() + self._spacing
            y += row_h + self._spacing
        return y - self._spacing - rect.y() + m.bottom()
