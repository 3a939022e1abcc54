"""The Text panel's samples: each a read-only view with the prime in bold colour, plus Copy/Save;
``SampleColumns`` shows the first n side by side (stacked when the dock is too narrow for them) and
puts streamed text into them on a clock."""
from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QTextEdit, QToolButton, QVBoxLayout, QWidget

PRIME_COLOUR = QColor("#2a6fdb")
#: streamed text reaches the views at most once per this many ms (~30 Hz): text that arrives
#: sooner, or piles up while the window is busy, goes in together, one insert (and relayout) per view
PAINT_MS = 33


def _small_button(text: str, tip: str) -> QToolButton:
    b = QToolButton()  # as wide as its text (a push button is at least 80 px): the title keeps the room
    b.setText(text)
    b.setToolTip(tip)
    b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return b


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
        self.title.setWordWrap(True)  # "Sample 1 · seed 7" wraps in a narrow column instead of being cut
        self.copy_button = _small_button("Copy", "Copy this sample (prime and continuation) to the clipboard")
        self.copy_button.clicked.connect(self.copy)
        self.save_button = _small_button("Save…", "Save this sample as a .txt file with its generation settings")
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


class SampleColumns(QSplitter):
    """The first ``count`` sample views, side by side when the width allows, else one under another;
    streamed text is buffered and written into the views at most every ``PAINT_MS``."""

    save_requested = Signal(int)  # sample index
    flushed = Signal()            # the views were just written (the panel shows its progress with them)

    def __init__(self, n: int, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.views = [SampleView(i) for i in range(n)]
        for v in self.views:
            v.save_requested.connect(self.save_requested)
            self.addWidget(v)
        self.count = 1
        self._pending: dict[int, list[str]] = {}         # sample index -> chunks not shown yet
        self._paint = QTimer(self, singleShot=True)
        self._paint.timeout.connect(self.flush)
        self._painted = QElapsedTimer()                  # since the views were last written
        self._painted.start()

    def show_count(self, count: int) -> None:
        self.count = count
        for i, v in enumerate(self.views):
            v.setVisible(i < count)
        self._orient(self.width())

    def _orient(self, width: int) -> None:
        need = self.count * self.views[0].minimumSizeHint().width() + (self.count - 1) * self.handleWidth()
        self.setOrientation(Qt.Orientation.Horizontal if width >= need else Qt.Orientation.Vertical)

    def minimumSizeHint(self):
        hint = super().minimumSizeHint()
        hint.setWidth(self.views[0].minimumSizeHint().width())  # one column: stacked when narrow
        return hint

    def resizeEvent(self, event) -> None:
        self._orient(event.size().width())
        super().resizeEvent(event)

    def start(self, prime: str, seed: int) -> None:
        self._pending = {}
        for i, v in enumerate(self.views[:self.count]):
            v.start(prime, seed + i)

    def add(self, texts: list) -> None:
        """New characters per sample; written at once if the last write was long enough ago, else soon."""
        for index, text in enumerate(texts[:len(self.views)]):
            if text:
                self._pending.setdefault(index, []).append(text)
        wait = PAINT_MS - self._painted.elapsed()
        if wait <= 0:  # shown at once, so the usual batch costs no second wake-up of this thread
            self.flush()
        elif not self._paint.isActive():
            self._paint.start(wait)

    def flush(self) -> None:
        """Put the text that arrived since the views were last written into them, one insert per view."""
        self._paint.stop()
        self._painted.restart()
        pending, self._pending = self._pending, {}
        for index, parts in pending.items():
            self.views[index].append("".join(parts))
        self.flushed.emit()
