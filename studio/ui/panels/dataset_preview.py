"""Previews of a dataset: thumbnail grid (images), piano-roll strips (melodies), an excerpt (text).

The pictures are drawn in the palette's colours (the pane's Window colour around them) and
drawn again when the theme changes, so neither theme shows a block of the other one.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QScrollArea, QStackedWidget, QVBoxLayout, QWidget

from studio.core.audio.events import HOLD, events_to_notes
from studio.core.datasets.preview import DatasetPreview
from studio.ui.theme import follow

THUMB = 64
ROLL_HEIGHT = 56
#: piano-roll strip colours by theme (dark?): two bar shades, notes
ROLL_COLOURS = {False: ("#f6f7f9", "#e9ebef", "#1f77c4"), True: ("#2c313c", "#262a33", "#5fb3f9")}


def _palette(palette: QPalette | None) -> QPalette:
    return palette if palette is not None else QGuiApplication.palette()


def _is_dark(pal: QPalette) -> bool:
    return pal.color(QPalette.ColorRole.Window).lightness() < 128


def thumbnail_grid(images: np.ndarray, columns: int = 6, labels: list[str] | None = None,
                   palette: QPalette | None = None) -> QImage:
    """One image with the first pictures laid out in a grid (labels under each, when given),
    on ``palette``'s Window colour (default: the application's palette)."""
    pal = _palette(palette)
    n = len(images)
    rows = max(1, (n + columns - 1) // columns)
    label_h = 14 if labels else 0
    cell_w, cell_h = THUMB + 6, THUMB + 6 + label_h
    out = QImage(columns * cell_w, rows * cell_h, QImage.Format.Format_RGB32)
    out.fill(pal.color(QPalette.ColorRole.Window))
    p = QPainter(out)
    p.setFont(QFont("Sans", 7))
    p.setPen(pal.color(QPalette.ColorRole.WindowText))
    for i, img in enumerate(images):
        hwc = np.ascontiguousarray(np.transpose(img, (1, 2, 0)))
        if hwc.shape[2] == 1:
            hwc = np.ascontiguousarray(np.repeat(hwc, 3, axis=2))
        h, w = hwc.shape[:2]
        qi = QImage(hwc.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        x, y = (i % columns) * cell_w + 3, (i // columns) * cell_h + 3
        p.drawImage(QRectF(x, y, THUMB, THUMB), qi)
        if labels and i < len(labels):
            p.drawText(QRectF(x, y + THUMB, THUMB, label_h), Qt.AlignmentFlag.AlignCenter, labels[i][:12])
    p.end()
    return out


def piano_roll_strips(phrases: np.ndarray, min_pitch: int, palette: QPalette | None = None) -> QImage:
    """Each phrase as a strip: bars shaded, notes as bars at their pitch (range fitted per strip),
    in ``palette``'s colours (default: the application's palette)."""
    pal = _palette(palette)
    bar_a, bar_b, note_colour = (QColor(c) for c in ROLL_COLOURS[_is_dark(pal)])
    n, length = phrases.shape
    cell = max(3, min(16, 480 // max(1, length)))  # about 480 px wide whatever the phrase length
    width = length * cell + 8
    label_h = 13
    out = QImage(width, n * (ROLL_HEIGHT + label_h + 6) + 4, QImage.Format.Format_RGB32)
    out.fill(pal.color(QPalette.ColorRole.Window))
    p = QPainter(out)
    p.setFont(QFont("Sans", 7))
    for k, row in enumerate(phrases):
        caption_top = 4 + k * (ROLL_HEIGHT + label_h + 6)
        top = caption_top + label_h
        for bar in range(0, length, 16):  # alternate bar shading
            shade = bar_a if (bar // 16) % 2 == 0 else bar_b
            p.fillRect(QRectF(4 + bar * cell, top, 16 * cell, ROLL_HEIGHT), shade)
        notes = events_to_notes([int(e) for e in row], min_pitch)
        if not notes:
            continue
        lo, hi = min(n.pitch for n in notes), max(n.pitch for n in notes)
        span = max(hi - lo, 12)
        mid = (lo + hi) / 2
        lo = mid - span / 2
        for note in notes:
            y = top + ROLL_HEIGHT - 4 - (note.pitch - lo) / span * (ROLL_HEIGHT - 10)
            p.fillRect(QRectF(4 + note.start * cell, y - 3, max(2, note.duration * cell - 1), 5),
                       note_colour)
        p.setPen(QPen(pal.color(QPalette.ColorRole.WindowText)))
        holds = int((row == HOLD).sum())
        p.drawText(QRectF(6, caption_top, width - 12, label_h), Qt.AlignmentFlag.AlignLeft,
                   f"phrase {k + 1}: {len(notes)} notes, pitches {min(n.pitch for n in notes)}–"
                   f"{max(n.pitch for n in notes)}, {holds} held steps")
    p.end()
    return out


class DatasetPreviewView(QStackedWidget):
    """Shows whichever preview fits the dataset's modality; an empty state otherwise."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.empty = QLabel("Select a dataset to preview it, or import one.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: palette(placeholder-text);")
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.picture.setToolTip("The first items of the dataset, as the model will see them")
        scroll = QScrollArea()
        scroll.setWidget(self.picture)
        scroll.setWidgetResizable(True)
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setToolTip("The beginning of the text as it was imported (newlines normalised)")
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        holder = QWidget()
        lay = QVBoxLayout(holder)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.caption)
        self.body = QStackedWidget()
        self.body.addWidget(scroll)
        self.body.addWidget(self.text)
        lay.addWidget(self.body, 1)
        self.addWidget(self.empty)
        self.addWidget(holder)
        self._shown: DatasetPreview | None = None
        follow(self.apply_theme)  # the pictures are drawn in the palette's colours: redraw on a change

    def apply_theme(self, _dark: bool) -> None:
        if self._shown is not None and self.currentIndex() == 1:
            self.show_preview(self._shown)

    def clear(self, message: str = "Select a dataset to preview it, or import one.") -> None:
        self.empty.setText(message)
        self._shown = None
        self.setCurrentIndex(0)

    def show_preview(self, pv: DatasetPreview) -> None:
        spec = pv.manifest.get("spec", {})
        if pv.modality == "image" and pv.images is not None and len(pv.images):
            self.picture.setPixmap(QPixmap.fromImage(thumbnail_grid(pv.images, 6, pv.labels or None)))
            self.caption.setText(f"{pv.count:,} images, {spec.get('image_size')}×{spec.get('image_size')}, "
                                 f"{spec.get('channels')} channel(s); first {len(pv.images)} shown")
            self.body.setCurrentIndex(0)
        elif pv.modality == "melody" and pv.phrases is not None and len(pv.phrases):
            self.picture.setPixmap(QPixmap.fromImage(piano_roll_strips(pv.phrases, int(spec.get("min_pitch", 36)))))
            self.caption.setText(f"{pv.count:,} phrases of {spec.get('phrase_length')} sixteenth steps; "
                                 f"first {len(pv.phrases)} shown")
            self.body.setCurrentIndex(0)
        elif pv.modality == "text":
            self.text.setPlainText(pv.text)
            self.caption.setText(f"{pv.count:,} characters, vocabulary of {len(spec.get('vocab', []))} characters")
            self.body.setCurrentIndex(1)
        else:
            self.clear(f"{pv.title}: nothing to preview")
            return
        self._shown = pv
        self.setCurrentIndex(1)
