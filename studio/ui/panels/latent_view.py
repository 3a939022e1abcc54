"""The grid itself: a lattice of decoded cells over a latent plane, moved with the mouse like a map.

Cell ``(i, j)`` shows the plane point ``(i * step, j * step)``. Dragging slides the lattice under
the mouse pixel by pixel, so a drag paints at once from cells already decoded and only the cells
that scroll in are decoded (off the UI thread). The wheel changes ``step`` (zoom), which starts a
new lattice ("generation"). All cells are composed into one numpy canvas and painted as one QImage.
"""
from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.core.export.scale import check_budget, scale_image
from studio.core.latent.planes import Plane
from studio.ui.panels.latent_render import BACKGROUND, MELODY_TILE, dim, paste, qimage_from_rgb

GUTTER = 2
ZOOM_PER_NOTCH = 0.85   # wheel up one notch: 15 % smaller step (zoom in)
DRAG_THRESHOLD = 4      # pixels before a press becomes a drag rather than a click
CORNER_LABELS = ("TL", "TR", "BL", "BR")


class LatentGridView(QWidget):
    selected = Signal(object, object)            # key (i, j), vector
    corner_requested = Signal(object, object)    # key, vector (shift-click)
    context_requested = Signal(object, object, QPoint)  # key, vector, global position
    hovered = Signal(object)                     # key or None
    path_drawn = Signal(list)                    # list of vectors
    view_changed = Signal()

    def __init__(self, worker, parent=None):
        super().__init__(parent)
        self.worker = worker
        worker.decoded.connect(self._on_decoded)
        self.rows = self.cols = 8
        self.plane: Plane | None = None
        self.step = 0.5
        self.centre = (0.0, 0.0)       # in lattice units (plane coordinate / step)
        self.generation = 0
        self.cache: dict[tuple[int, int], tuple[np.ndarray, object]] = {}
        self.modality = "image"
        self.tile_shape = (64, 64)
        self.quick_pass = True
        self.path_mode = False
        self.selection: tuple[int, tuple[int, int], np.ndarray] | None = None
        self.corner_marks: dict[int, tuple[int, tuple[int, int]]] = {}
        self.hover_key: tuple[int, int] | None = None
        self.empty_text = "Open a trained model with a latent space to explore it here."
        self._path_keys: list[tuple[int, int]] = []
        self._press: QPointF | None = None
        self._last: QPointF | None = None
        self._dragging = False
        self._canvas_img = None
        self._stale_img = None
        self._dirty = True
        self._target = QRectF()
        # input-to-paint bookkeeping (the benchmark reads these)
        self.input_seq = 0
        self._input_times: dict[int, float] = {}
        self.paint_log: list[tuple[float, int, bool]] = []   # (time, newest input seq, complete)
        self.setMouseTracking(True)
        self.setMinimumSize(240, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("Drag to move through latent space, wheel to zoom, click to select, "
                        "shift-click to set a corner, right-click for more")

    # -- state ------------------------------------------------------------
    def set_plane(self, plane: Plane | None, modality: str = "image", keep_view: bool = False) -> None:
        self.plane = plane
        self.modality = modality
        if modality == "melody":
            self.tile_shape = MELODY_TILE
        if plane is not None and not keep_view:
            ca, cb, step = plane.default_view(self.cols)
            self.step = step
            self.centre = self._snapped(ca / step, self.cols), self._snapped(cb / step, self.rows)
        self.new_generation()

    @staticmethod
    def _snapped(c: float, n: int) -> float:
        """A centre where whole cells fill the view (no half cells at the edges)."""
        return float(np.round(c - n / 2 + 0.5)) - 0.5 + n / 2

    def set_grid_size(self, rows: int, cols: int) -> None:
        self.rows, self.cols = max(1, int(rows)), max(1, int(cols))
        self._dirty = True
        self.request_decode()
        self.update()

    def new_generation(self) -> None:
        """Forget decoded cells (new plane, zoom or model) but keep the last frame until new ones come."""
        if self._canvas_img is not None:
            self._stale_img = self._canvas_img
        self.generation += 1
        self.cache.clear()
        self.selection = None if self.selection is None else (-1, self.selection[1], self.selection[2])
        self.corner_marks = {k: v for k, v in self.corner_marks.items() if v[0] == self.generation}
        self._dirty = True
        self.request_decode()
        self.update()

    def refresh_model(self) -> None:
        """The decoder changed (new checkpoint): same view, same selection, cells decoded again."""
        sel = self.selection
        self.new_generation()
        if sel is not None:
            self.selection = (self.generation, sel[1], self.vector_at(sel[1]))

    def set_step(self, step: float) -> None:
        step = float(np.clip(step, 1e-4, 1e4))
        if self.plane is None or math.isclose(step, self.step):
            return
        ratio = self.step / step    # keep the plane point at the centre where it is
        self.centre = (self.centre[0] * ratio, self.centre[1] * ratio)
        self.step = step
        self._mark_input()
        self.new_generation()
        self.view_changed.emit()

    def pan_cells(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) cells (positive: content moves left/up)."""
        self.centre = (self.centre[0] + dx, self.centre[1] + dy)
        self._mark_input()
        self._dirty = True
        self.request_decode()
        self.update()
        self.view_changed.emit()

    def plane_centre(self) -> tuple[float, float]:
        return self.centre[0] * self.step, self.centre[1] * self.step

    # -- geometry ---------------------------------------------------------
    def pitch(self) -> tuple[int, int]:
        h, w = self.tile_shape
        return w + GUTTER, h + GUTTER

    def origin(self) -> tuple[float, float]:
        """Lattice coordinate at the canvas's left/top edge."""
        return self.centre[0] - self.cols / 2, self.centre[1] - self.rows / 2

    def visible_keys(self) -> list[tuple[int, int]]:
        x0, y0 = self.origin()
        i0, j0 = math.floor(x0 + 0.5), math.floor(y0 + 0.5)
        i1, j1 = math.ceil(x0 + self.cols - 0.5), math.ceil(y0 + self.rows - 0.5)
        return [(i, j) for j in range(j0, j1 + 1) for i in range(i0, i1 + 1)]

    def vector_at(self, key) -> np.ndarray:
        return self.plane.point(key[0] * self.step, key[1] * self.step)

    def vectors_at(self, keys) -> np.ndarray:
        k = np.asarray(keys, dtype=np.float32).reshape(-1, 2)
        return self.plane.points(k[:, 0] * self.step, k[:, 1] * self.step)

    def key_at(self, pos: QPointF) -> tuple[int, int] | None:
        t = self._target
        if t.isEmpty() or not t.contains(pos):
            return None
        pw, ph = self.pitch()
        cx = (pos.x() - t.x()) / t.width() * self.cols * pw
        cy = (pos.y() - t.y()) / t.height() * self.rows * ph
        x0, y0 = self.origin()
        return math.floor(cx / pw + x0 + 0.5), math.floor(cy / ph + y0 + 0.5)

    def cell_rect(self, key) -> QRectF:
        """The widget rectangle of a cell."""
        t = self._target
        pw, ph = self.pitch()
        x0, y0 = self.origin()
        sx, sy = t.width() / (self.cols * pw), t.height() / (self.rows * ph)
        return QRectF(t.x() + (key[0] - 0.5 - x0) * pw * sx, t.y() + (key[1] - 0.5 - y0) * ph * sy, pw * sx, ph * sy)

    def _fit_target(self) -> QRectF:
        pw, ph = self.pitch()
        cw, ch = self.cols * pw, self.rows * ph
        s = min(self.width() / cw, self.height() / ch)
        return QRectF((self.width() - cw * s) / 2, (self.height() - ch * s) / 2, cw * s, ch * s)

    # -- decoding ---------------------------------------------------------
    def missing_keys(self) -> list[tuple[int, int]]:
        cx, cy = self.centre
        keys = [k for k in self.visible_keys() if k not in self.cache]
        coarse = (lambda k: 0 if (k[0] % 2 == 0 and k[1] % 2 == 0) else 1) if self.quick_pass else (lambda k: 0)
        keys.sort(key=lambda k: (coarse(k), (k[0] - cx) ** 2 + (k[1] - cy) ** 2))
        return keys

    def request_decode(self) -> None:
        if self.plane is None or self.worker.decoder is None:
            return
        keys = self.missing_keys()
        if keys:
            self.worker.submit("grid", self.generation, keys, self.vectors_at(keys))

    def _on_decoded(self, tag, token, keys, tiles, raw) -> None:
        if tag != "grid" or token != self.generation:
            return
        self.tile_shape = tuple(tiles.shape[1:3])
        for k, key in enumerate(keys):
            self.cache[tuple(key)] = (tiles[k], raw[k])
        self._evict()
        self._dirty = True
        self.update()

    def _evict(self) -> None:
        limit = max(6 * len(self.visible_keys()), 256)
        if len(self.cache) <= limit:
            return
        cx, cy = self.centre
        far = sorted(self.cache, key=lambda k: -((k[0] - cx) ** 2 + (k[1] - cy) ** 2))
        dropped = far[: len(self.cache) - limit]
        for k in dropped:
            del self.cache[k]
        self.worker.forget(self.generation, dropped)

    def complete(self) -> bool:
        return self.plane is not None and all(k in self.cache for k in self.visible_keys())

    # -- painting ---------------------------------------------------------
    def compose(self, size=None) -> np.ndarray:
        """The whole visible grid as one (H, W, 3) uint8 array. ``size`` (an ``ExportSize``, for export)
        enlarges each cell on its own and the gaps with them, so smooth cells never blur into the gaps."""
        k = size.scale if size is not None else 1
        pw, ph = self.pitch()
        check_budget(self.cols * pw * k, self.rows * ph * k, what=f"the grid at {k}×")
        canvas = np.empty((self.rows * ph * k, self.cols * pw * k, 3), np.uint8)
        canvas[:] = BACKGROUND
        x0, y0 = self.origin()
        g = GUTTER // 2
        for key in self.visible_keys():
            hit = self.cache.get(key)
            if hit is not None:
                tile = hit[0]
            elif self.quick_pass and (key[0] & ~1, key[1] & ~1) in self.cache:
                tile = dim(self.cache[(key[0] & ~1, key[1] & ~1)][0])  # coarse neighbour stands in
            else:
                continue
            if tile.shape[:2] != self.tile_shape:
                continue
            x = int(round((key[0] - 0.5 - x0) * pw)) + g
            y = int(round((key[1] - 0.5 - y0) * ph)) + g
            paste(canvas, scale_image(tile, size) if k > 1 else tile, x * k, y * k)
        return canvas

    def _mark_input(self) -> None:
        self.input_seq += 1
        self._input_times[self.input_seq] = time.perf_counter()
        if len(self._input_times) > 4096:
            for s in sorted(self._input_times)[:2048]:
                del self._input_times[s]

    def paintEvent(self, event):  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(*BACKGROUND))
        if self.plane is None:
            p.setPen(QColor(170, 170, 180))
            p.drawText(self.rect().adjusted(16, 16, -16, -16), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.empty_text)
            p.end()
            return
        self._target = self._fit_target()
        if self._dirty:
            if not self.cache and self._stale_img is not None:
                self._canvas_img = self._stale_img   # zoom: keep the last frame until cells arrive
            else:
                self._canvas_img = qimage_from_rgb(self.compose())
                self._stale_img = None
            self._dirty = False
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not self._dragging)
        p.drawImage(self._target, self._canvas_img)
        self._paint_overlays(p)
        p.end()
        self.paint_log.append((time.perf_counter(), self.input_seq, self.complete()))
        del self.paint_log[:-4096]

    def _paint_overlays(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setClipRect(self._target)
        if self.hover_key is not None and not self._dragging:
            p.setPen(QPen(QColor(255, 255, 255, 110), 1))
            p.drawRect(self.cell_rect(self.hover_key).adjusted(1, 1, -1, -1))
        if self.selection is not None and self.selection[0] == self.generation:
            p.setPen(QPen(QColor(255, 196, 0), 3))
            p.drawRect(self.cell_rect(self.selection[1]).adjusted(1.5, 1.5, -1.5, -1.5))
        font = QFont(self.font())
        font.setBold(True)
        p.setFont(font)
        for slot, (gen, key) in self.corner_marks.items():
            if gen != self.generation:
                continue
            r = self.cell_rect(key)
            p.setPen(QPen(QColor(80, 200, 255), 2))
            p.drawRect(r.adjusted(3, 3, -3, -3))
            p.fillRect(QRectF(r.x() + 3, r.y() + 3, 22, 15), QColor(20, 60, 90, 220))
            p.drawText(QRectF(r.x() + 3, r.y() + 3, 22, 15), Qt.AlignmentFlag.AlignCenter, CORNER_LABELS[slot])
        if len(self._path_keys) > 1:
            p.setPen(QPen(QColor(255, 90, 120), 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            pts = [self.cell_rect(k).center() for k in self._path_keys]
            for a, b in zip(pts, pts[1:]):
                p.drawLine(a, b)
        p.setClipping(False)

    # -- mouse ------------------------------------------------------------
    def mousePressEvent(self, e):  # noqa: N802
        pos = e.position()
        key = self.key_at(pos)
        if e.button() == Qt.MouseButton.RightButton:
            if key is not None and self.plane is not None:
                self.context_requested.emit(key, self.vector_at(key), e.globalPosition().toPoint())
            return
        if e.button() != Qt.MouseButton.LeftButton:
            return
        self._press = self._last = pos
        self._dragging = False
        if self.path_mode and key is not None:
            self._path_keys = [key]

    def mouseMoveEvent(self, e):  # noqa: N802
        pos = e.position()
        if self._press is None:
            key = self.key_at(pos)
            if key != self.hover_key:
                self.hover_key = key
                self.hovered.emit(key)
                self.update()
            return
        if self.path_mode:
            key = self.key_at(pos)
            if key is not None and (not self._path_keys or key != self._path_keys[-1]):
                self._path_keys.append(key)
                self.update()
            return
        if not self._dragging and (pos - self._press).manhattanLength() < DRAG_THRESHOLD:
            return
        self._dragging = True
        t = self._target
        if t.isEmpty() or self.plane is None:
            return
        pw, ph = self.pitch()
        d = pos - self._last
        self._last = pos
        self.pan_cells(-d.x() / t.width() * self.cols, -d.y() / t.height() * self.rows)

    def mouseReleaseEvent(self, e):  # noqa: N802
        if e.button() != Qt.MouseButton.LeftButton or self._press is None:
            return
        was_drag = self._dragging
        self._press = self._last = None
        self._dragging = False
        if self.path_mode:
            keys, self._path_keys = self._path_keys, []
            if len(keys) >= 2:
                self.path_drawn.emit([self.vector_at(k) for k in keys])
            self.update()
            return
        if was_drag:
            self.update()
            return
        key = self.key_at(e.position())
        if key is None or self.plane is None:
            return
        vec = self.vector_at(key)
        if e.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.corner_requested.emit(key, vec)
        else:
            self.selection = (self.generation, key, vec)
            self.selected.emit(key, vec)
        self.update()

    def leaveEvent(self, e):  # noqa: N802
        if self.hover_key is not None:
            self.hover_key = None
            self.hovered.emit(None)
            self.update()

    def wheelEvent(self, e):  # noqa: N802
        notches = e.angleDelta().y() / 120.0
        if notches and self.plane is not None:
            self.set_step(self.step * ZOOM_PER_NOTCH ** notches)

    def keyPressEvent(self, e):  # noqa: N802 - arrow keys pan by a cell, +/- zoom
        moves = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
        if e.key() in moves and self.plane is not None:
            self.pan_cells(*moves[e.key()])
        elif e.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.set_step(self.step * ZOOM_PER_NOTCH)
        elif e.key() == Qt.Key.Key_Minus:
            self.set_step(self.step / ZOOM_PER_NOTCH)
        else:
            super().keyPressEvent(e)

    def resizeEvent(self, e):  # noqa: N802
        self._target = self._fit_target()
        super().resizeEvent(e)
