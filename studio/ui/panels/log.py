"""Log panel: warnings, plugin errors and studio messages."""
from __future__ import annotations

from PySide6.QtGui import QColor, QTextCharFormat
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
COLORS = {"WARNING": QColor("#b8860b"), "ERROR": QColor("#c0392b"), "CRITICAL": QColor("#c0392b")}


class LogPanel(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.view = QPlainTextEdit(readOnly=True)
        self.view.setMaximumBlockCount(5000)
        self.view.setPlaceholderText("Warnings, plugin errors and studio messages appear here.")
        self.view.setToolTip("Messages from the studio, newest at the bottom")
        self.level = QComboBox()
        self.level.addItems(LEVELS[1:])
        self.level.setToolTip("Show messages of this level and above")
        self.level.currentTextChanged.connect(self._refill)
        clear = QPushButton("Clear")
        clear.setToolTip("Clear the log view (the messages stay in the history)")
        clear.clicked.connect(self.view.clear)
        top = QHBoxLayout()
        top.addWidget(self.level)
        top.addStretch(1)
        top.addWidget(clear)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.view)
        ctx.log.record.connect(self.append)
        self._refill()

    def _visible(self, level: str) -> bool:
        return LEVELS.index(level) >= LEVELS.index(self.level.currentText()) if level in LEVELS else True

    def _refill(self) -> None:
        self.view.clear()
        for level, msg in self.ctx.log.history:
            self.append(level, msg)

    def append(self, level: str, msg: str) -> None:
        if not self._visible(level):
            return
        fmt = QTextCharFormat()
        if level in COLORS:
            fmt.setForeground(COLORS[level])
        cursor = self.view.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(msg + "\n", fmt)
        self.view.ensureCursorVisible()
