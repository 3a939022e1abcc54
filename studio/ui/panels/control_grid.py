"""Label/box pairs in as many columns as the width allows (a form that wraps instead of scrolling sideways).

Fixed columns: ``set_columns(n)``; with ``auto=True`` the grid picks the column count from its width
on every resize and asks only one column's width as its minimum, so a dock can be narrow.
"""
from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QWidget


class ControlGrid(QWidget):
    def __init__(self, pairs: list[tuple[str, QWidget]], columns: int = 1, auto: bool = False,
                 max_columns: int = 4, parent=None):
        super().__init__(parent)
        self.pairs = []
        for text, box in pairs:
            label = QLabel(text)
            label.setToolTip(box.toolTip())
            label.setBuddy(box)
            self.pairs.append((label, box))
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.auto, self.max_columns = auto, max_columns
        self.columns = 0
        self.set_columns(columns)
        if auto:
            self.setMinimumWidth(self._pair_width())  # one column: the grid itself never forces the dock wider

    def _pair_width(self) -> int:
        label = max(lab.sizeHint().width() for lab, _ in self.pairs)
        box = max(b.minimumSizeHint().width() for _, b in self.pairs)
        return label + box + self.grid.horizontalSpacing() + 2

    def set_columns(self, n: int) -> None:
        """Lay the pairs out in ``n`` label/box column pairs."""
        n = max(1, min(n, len(self.pairs)))
        if n == self.columns:
            return
        self.columns = n
        for i, (label, box) in enumerate(self.pairs):
            self.grid.addWidget(label, i // n, (i % n) * 2)  # re-adding moves the widget to its new cell
            self.grid.addWidget(box, i // n, (i % n) * 2 + 1)
        for c in range(2 * self.max_columns):
            self.grid.setColumnStretch(c, 1 if c % 2 and c < 2 * n else 0)

    def resizeEvent(self, event) -> None:
        if self.auto:
            fits = event.size().width() // (self._pair_width() + 2 * self.grid.horizontalSpacing())
            self.set_columns(min(self.max_columns, fits))
        super().resizeEvent(event)
