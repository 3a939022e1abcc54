"""One generated sample in the Text panel: a read-only view with the prime in bold colour, plus Copy/Save."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTextEdit, QVBoxLayout, QWidget

PRIME_COLOUR = QColor("#2a6fdb")


class SampleView(QWidget):
    """Streams characters into a read-only view; the prime stays visually distinct from the continuation."""

    save_requested = Signal(int)  # sample index

    def __init__(self, index: int, parent=None):
        super().__init__(parent)
        self.index = index
        self.seed = 0
        self.prime = ""
        self.generated = ""
        self.title = QLabel()
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy this sample (prime and continuation) to the clipboard")
        self.copy_button.clicked.connect(self.copy)
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Save this sample as a .txt file with its generation settings")
        self.save_button.clicked.connect(lambda: self.save_requested.emit(self.index))
        self.view = QTextEdit(readOnly=True)
        self.view.setAcceptRichText(False)
        self.view.setToolTip("Generated text; the prime you wrote is shown in bold blue")
        self.view.setPlaceholderText("Press Generate: the text appears here as the model writes it.")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.copy_button)
        top.addWidget(self.save_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        self._plain = QTextCharFormat()
        self._prime_fmt = QTextCharFormat()
        self._prime_fmt.setFontWeight(QFont.Weight.Bold)
        self._prime_fmt.setForeground(PRIME_COLOUR)
        self.set_seed(0)
        self._sync_buttons()

    def set_seed(self, seed: int) -> None:
        self.seed = seed
        self.title.setText(f"<b>Sample {self.index + 1}</b> · seed {seed}")
        self.title.setToolTip(f"Generated with seed {seed}: the same seed and settings give the same text")

    def start(self, prime: str, seed: int) -> None:
        self.set_seed(seed)
        self.prime, self.generated = prime, ""
        self.view.clear()
        if prime:
            self._insert(prime, self._prime_fmt)
        self._sync_buttons()

    def append(self, text: str) -> None:
        self.generated += text
        self._insert(text, self._plain)
        self._sync_buttons()

    def text(self) -> str:
        return self.prime + self.generated

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text())

    def _insert(self, text: str, fmt: QTextCharFormat) -> None:
        bar = self.view.verticalScrollBar()
        follow = bar.value() >= bar.maximum() - 4  # keep following the end unless the user scrolled up
        cursor = QTextCursor(self.view.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text, fmt)
        if follow:
            bar.setValue(bar.maximum())

    def _sync_buttons(self) -> None:
        has = bool(self.text())
        self.copy_button.setEnabled(has)
        self.save_button.setEnabled(bool(self.generated))
