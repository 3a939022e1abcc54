"""One sample preview of a run (``samples/step-*.png|.json|.txt``): an image grid, text, or melodies in words."""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from studio.core.audio.events import events_to_notes, note_name

MAX_TEXT = 20_000  # characters shown; a preview file is small, but a hostile one need not be


def melody_summary(path: Path, max_melodies: int = 4, max_notes: int = 16) -> str:
    """A melody preview in words: how many, their length, range, and the first notes of each."""
    with open(path, encoding="utf-8") as fh:
        doc = json.loads(fh.read(4 << 20))
    seqs = doc.get("events") or []
    lo = int(doc.get("min_pitch", 36))
    spq = int(doc.get("steps_per_quarter", 4)) or 4
    lines = [f"{len(seqs)} melodies"]
    for i, seq in enumerate(seqs[:max_melodies]):
        notes = events_to_notes(seq, lo)
        if not notes:
            lines.append(f"{i + 1}. (silence, {len(seq)} steps)")
            continue
        pitches = [n.pitch for n in notes]
        bars = len(seq) / (spq * 4)
        head = " ".join(note_name(p) for p in pitches[:max_notes]) + (" …" if len(notes) > max_notes else "")
        lines.append(f"{i + 1}. {len(notes)} notes over {bars:g} bars, {note_name(min(pitches))}–"
                     f"{note_name(max(pitches))}: {head}")
    return "\n".join(lines)


class ImageView(QLabel):
    """A pixmap scaled to fit, crisp (nearest neighbour) when enlarging tiny samples."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(64, 64)
        self.source: QPixmap | None = None

    def set_source(self, pix: QPixmap | None) -> None:
        self.source = pix
        self._rescale()

    def resizeEvent(self, event):  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self.source is None or self.source.isNull():
            self.clear()
            return
        size = self.size()
        mode = (Qt.TransformationMode.FastTransformation if self.source.width() * 2 <= size.width()
                else Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(self.source.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, mode))


class SamplePreview(QWidget):
    """Shows the newest preview file of a run; ``show_file(step, kind, path)``, ``clear(message)``."""

    def __init__(self, parent=None, empty_text: str = "No samples yet: previews appear while the model trains."):
        super().__init__(parent)
        self.empty_text = empty_text
        self.caption = QLabel()
        self.caption.setToolTip("The training step this sample preview was made at")
        self.stack = QStackedWidget()
        self.empty = QLabel(empty_text)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: palette(placeholder-text);")
        self.image = ImageView()
        self.image.setToolTip("Samples the model generated at this step (refreshes as new ones arrive)")
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setToolTip("Text the model generated at this step")
        self.melody = QLabel()
        self.melody.setWordWrap(True)
        self.melody.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.melody.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.melody.setToolTip("Melodies the model generated at this step, as notes (open the run in Melody to hear them)")
        for w in (self.empty, self.image, self.text, self.melody):
            self.stack.addWidget(w)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.originality = QLabel()
        self.originality.setWordWrap(True)
        self.originality.setToolTip("Each preview is compared with the training data (features, not raw pixels): "
                                    "how close the samples are to their closest training item, and how many "
                                    "are near copies. The Loss panel draws these figures over time.")
        lay.addWidget(self.caption)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.originality)
        self.step: int | None = None
        self.path: Path | None = None
        self.clear()

    def show_originality(self, latest: dict[str, float]) -> None:
        """The originality line under the samples, from the run's newest ``originality/*`` metrics."""
        rate, limit = latest.get("originality/copy_rate"), latest.get("originality/copy_limit")
        if rate is None:
            self.originality.setText("")
            return
        similarity = latest.get("originality/similarity")
        if similarity is not None:
            text = (f"Originality: closest training picture similarity {similarity:.2f} (median); "
                    f"{rate:.0%} of the samples are near copies")
        else:
            text = f"Originality: {rate:.0%} of the samples' 8-note figures come from the training tunes"
        copying = limit is not None and rate > limit
        if copying:
            text += (f" (over {limit:.0%}): the model starts to copy your data. Stop earlier, add more data, "
                     "or raise the augmentation.")
        self.originality.setText(text)
        self.originality.setStyleSheet("color: #b9770e; font-weight: bold;" if copying else "")

    def clear(self, message: str | None = None) -> None:
        self.step, self.path = None, None
        self.originality.setText("")
        self.caption.setText("")
        self.empty.setText(message or self.empty_text)
        self.stack.setCurrentWidget(self.empty)

    def show_file(self, step: int, kind: str, path: str | Path) -> None:
        path = Path(path)
        try:
            if kind == "image":
                pix = QPixmap(str(path))
                if pix.isNull():
                    raise ValueError("not a readable image")
                self.image.set_source(pix)
                self.stack.setCurrentWidget(self.image)
            elif kind == "text":
                with open(path, encoding="utf-8", errors="replace") as fh:
                    self.text.setPlainText(fh.read(MAX_TEXT))
                self.stack.setCurrentWidget(self.text)
            elif kind == "melody":
                self.melody.setText(melody_summary(path))
                self.stack.setCurrentWidget(self.melody)
            else:
                raise ValueError(f"unknown preview kind {kind!r}")
        except (OSError, ValueError) as exc:
            self.empty.setText(f"Cannot show {path.name}: {exc}")
            self.stack.setCurrentWidget(self.empty)
            return
        self.step, self.path = step, path
        self.caption.setText(f"Samples at step {step:,}")
