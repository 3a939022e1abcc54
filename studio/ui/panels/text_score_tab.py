"""The Text panel's "How surprised?" tab: paste a text, measure how surprised the model is by it (perplexity)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QWidget

SCORE_TIP = "Perplexity: how surprised the model is by a text you paste"


def describe_score(r: dict) -> str:
    """A scoring result (``TokenStream.score``'s dict) in words, as rich text."""
    msg = (f"<b>Perplexity {r['perplexity']:.2f}</b> · {r['bits_per_char']:.3f} bits/char · "
           f"{r['nats_per_char']:.3f} nats/char over {int(r['chars'])} characters")
    if r.get("unknown"):
        msg += f"<br>Skipped {int(r['unknown'])} characters the model never saw ({r.get('unknown_chars', '')})"
    return msg + "<br><small>Lower is less surprised: 1 would mean the model predicts every character.</small>"


class ScoreTab(QWidget):
    """The pasted text, the Measure button (the panel connects it) and the result."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("Paste a text here to see how surprised the model is by it…")
        self.text.setToolTip("Any text: the lower the surprise, the more it reads like the training text")
        self.button = QPushButton("Measure surprise")
        self.button.setToolTip("Score the pasted text under the model (perplexity and bits per character)")
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addWidget(self.result, 1)
        form = QFormLayout(self)
        form.addRow(self.text)
        form.addRow(row)
