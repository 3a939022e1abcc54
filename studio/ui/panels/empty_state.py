"""The placeholder every dock shows before (or instead of) its panel."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class EmptyState(QWidget):
    def __init__(self, title: str, text: str, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        label = QLabel(f"<h3>{title}</h3><p>{text}</p>")
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setStyleSheet("color: palette(placeholder-text); padding: 12px;")
        label.setToolTip(text)
        lay.addWidget(label)
        self.label = label
