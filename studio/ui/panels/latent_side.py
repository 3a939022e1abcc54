"""The latent grid's side widgets: a large preview (image, melody with playhead, or animated walk),
direction sliders, and the bookmark / path lists with thumbnails."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QGridLayout, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget)

from studio.core.latent.bookmarks import thumbnail_bytes
from studio.ui.panels.latent_render import melody_tiles, qimage_from_rgb

SLIDER_RANGE = 100     # slider ticks each side of zero
SLIDER_SPAN = 3.0      # +-3 standard deviations (PCA) or units (random directions)


class LatentPreview(QWidget):
    """A large view of one sample; melodies get a playhead; walks animate frame by frame."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._img = None
        self._playhead: float | None = None
        self._frames: list[np.ndarray] = []
        self._frame = 0
        self.caption = ""
        self.note, self._note_warns = "", False   # "closest training image: …, similarity 0.93"
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._next_frame)
        self.setMinimumSize(160, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Large preview of the cell under the mouse, the selected cell, or a playing walk")

    def show_tile(self, tile: np.ndarray | None, caption: str = "") -> None:
        self.stop()
        self._img = None if tile is None else qimage_from_rgb(tile)
        self.caption = caption
        self._playhead = None
        self.update()

    def show_melody(self, events: np.ndarray, caption: str = "") -> None:
        self.show_tile(melody_tiles(np.asarray(events).reshape(1, -1), tile=(144, 288))[0], caption)

    def set_note(self, text: str, warn: bool = False) -> None:
        """A second line under the caption (the originality check); ``warn`` shows it in amber."""
        self.note, self._note_warns = text, warn
        self.setToolTip(text or "Large preview of the cell under the mouse, the selected cell, or a playing walk")
        self.update()

    def set_playhead(self, fraction: float | None) -> None:
        self._playhead = fraction
        self.update()

    def play_frames(self, frames: list[np.ndarray], fps: float = 12.0, caption: str = "") -> None:
        self.stop()
        self._frames, self._frame, self.caption = list(frames), 0, caption
        self.note = ""  # a walk has no single closest training item
        if self._frames:
            self._img = qimage_from_rgb(self._frames[0])
            self._timer.start(max(10, int(1000 / fps)))
        self.update()

    def playing(self) -> bool:
        return self._timer.isActive()

    def frames_shown(self) -> int:
        return self._frame

    def stop(self) -> None:
        self._timer.stop()
        self._frames = []

    def _next_frame(self) -> None:
        if not self._frames:
            self._timer.stop()
            return
        self._frame += 1
        self._img = qimage_from_rgb(self._frames[self._frame % len(self._frames)])
        self.update()

    def paintEvent(self, e):  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(30, 31, 36))
        if self._img is None:
            p.setPen(QColor(150, 150, 160))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       "Hover over a cell to see it large\n(or hear it, for melodies)")
            p.end()
            return
        area = self.rect().adjusted(6, 6, -6, -40 if self.note else -22)
        s = min(area.width() / self._img.width(), area.height() / self._img.height())
        w, h = self._img.width() * s, self._img.height() * s
        target = QRectF(area.x() + (area.width() - w) / 2, area.y() + (area.height() - h) / 2, w, h)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, s < 4)
        p.drawImage(target, self._img)
        if self._playhead is not None:
            x = target.x() + target.width() * float(np.clip(self._playhead, 0.0, 1.0))
            p.setPen(QPen(QColor(255, 210, 60), 2))
            p.drawLine(int(x), int(target.top()), int(x), int(target.bottom()))
        p.setPen(QColor(200, 200, 210))
        bottom = Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter
        p.drawText(self.rect().adjusted(6, 0, -6, -22 if self.note else -4), bottom, self.caption)
        if self.note:
            p.setPen(QColor(240, 180, 60) if self._note_warns else QColor(150, 170, 190))
            p.drawText(self.rect().adjusted(6, 0, -6, -4), bottom, self.note)
        p.end()


class DirectionSliders(QWidget):
    """One slider per direction (top PCA directions or random orthogonal ones), applied live."""

    changed = Signal()
    centre_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sliders: list[QSlider] = []
        self.directions = np.zeros((0, 0), np.float32)
        self.scales = np.zeros(0, np.float32)
        self._grid = QGridLayout()
        self.note = QLabel("Select a cell, then move these sliders to push it along each direction.")
        self.note.setWordWrap(True)
        reset = QPushButton("Reset")
        reset.setToolTip("Put every slider back to zero")
        reset.clicked.connect(self.reset)
        centre = QPushButton("Centre grid here")
        centre.setToolTip("Move the grid so the edited point is in its middle")
        centre.clicked.connect(self.centre_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(reset)
        buttons.addWidget(centre)
        lay = QVBoxLayout(self)
        lay.addWidget(self.note)
        lay.addLayout(self._grid)
        lay.addLayout(buttons)
        lay.addStretch(1)

    def set_directions(self, directions: np.ndarray, scales: np.ndarray, label: str) -> None:
        for s in self.sliders:
            s.deleteLater()
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.sliders = []
        self.directions = np.asarray(directions, np.float32)
        self.scales = np.asarray(scales, np.float32)
        for k in range(len(self.directions)):
            name = QLabel(f"{label} {k + 1}")
            s = QSlider(Qt.Orientation.Horizontal)
            s.setRange(-SLIDER_RANGE, SLIDER_RANGE)
            s.setToolTip(f"Move the selected point along {label.lower()} direction {k + 1} "
                         f"(±{SLIDER_SPAN:g} {'standard deviations' if label == 'PCA' else 'units'})")
            s.valueChanged.connect(self.changed)
            self._grid.addWidget(name, k, 0)
            self._grid.addWidget(s, k, 1)
            self.sliders.append(s)

    def set_for_model(self, lm) -> None:
        """The top PCA directions of the model's encoded training data, else random orthogonal ones."""
        from studio.core.latent import orthonormal_directions

        if lm.pca is not None:
            k = min(6, len(lm.pca.directions))
            self.set_directions(lm.pca.directions[:k], lm.pca.std[:k], "PCA")
            note = "Top principal directions of the encoded training data."
        else:
            k = min(6, lm.latent_dim)
            self.set_directions(orthonormal_directions(lm.latent_dim, k, seed=1000), np.ones(k), "Random")
            note = (lm.pca_note + ". " if lm.pca_note else "") + "Random orthogonal directions."
        self.note.setText(note + " Select a cell, then move a slider.")

    def values(self) -> np.ndarray:
        return np.array([s.value() / SLIDER_RANGE * SLIDER_SPAN for s in self.sliders], np.float32)

    def offset(self) -> np.ndarray:
        if not self.sliders:
            return np.zeros(self.directions.shape[1] if self.directions.ndim == 2 else 0, np.float32)
        return ((self.values() * self.scales)[:, None] * self.directions).sum(axis=0).astype(np.float32)

    def active(self) -> bool:
        return any(s.value() for s in self.sliders)

    def reset(self) -> None:
        for s in self.sliders:
            s.blockSignals(True)
            s.setValue(0)
            s.blockSignals(False)
        self.changed.emit()


class NamedList(QWidget):
    """Bookmarks or paths: a list with thumbnails and a row of buttons."""

    activated = Signal(str)

    def __init__(self, empty: str, buttons: list[tuple[str, str]], parent=None):
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setIconSize(QSize(40, 40))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.itemDoubleClicked.connect(lambda it: self.activated.emit(it.data(Qt.ItemDataRole.UserRole)))
        self.empty = QLabel(empty)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: palette(placeholder-text);")
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for text, tip in buttons:
            b = QPushButton(text)
            b.setToolTip(tip)
            row.addWidget(b)
            self.buttons[text] = b
        lay = QVBoxLayout(self)
        lay.addWidget(self.empty)
        lay.addWidget(self.list, 1)
        lay.addLayout(row)

    def set_items(self, items: list[dict]) -> None:
        self.list.clear()
        for d in items:
            it = QListWidgetItem(d.get("name", "?"))
            it.setData(Qt.ItemDataRole.UserRole, d.get("name"))
            tip = f"{d.get('plugin', '')} · {d.get('checkpoint', '')}"
            if "points" in d:
                tip += f" · {len(d['points'])} points, {d.get('method', '')}, {d.get('steps', '')} steps per segment"
            made_from = [f.get("name") for f in ([d.get("from_file")] + list(d.get("from_files") or []))
                         if isinstance(f, dict)]
            if made_from:  # exports from it name these files in their Content Credentials
                tip += "\nfrom your file" + ("s " if len(made_from) > 1 else " ") + ", ".join(map(str, made_from))
            it.setToolTip(tip)
            data = thumbnail_bytes(d)
            if data:
                pm = QPixmap()
                if pm.loadFromData(data, "PNG"):
                    it.setIcon(QIcon(pm))
            self.list.addItem(it)
        self.empty.setVisible(not items)

    def selected_names(self) -> list[str]:
        return [it.data(Qt.ItemDataRole.UserRole) for it in self.list.selectedItems()]
