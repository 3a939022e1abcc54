"""The grid itself: a lattice of decoded cells over a latent plane, moved with the mouse like a map.

Cell ``(i, j)`` shows the plane point ``(i * step, j * step)``. Dragging slides the lattice under
the mouse pixel by pixel, so a drag paints at once from cells already decoded and only the cells
that scroll in are decoded (off the UI thread). The wheel changes ``step`` (zoom), which starts a
new lattice ("generation"). All cells are composed into one numpy canvas and painted as one QImage.
Mouse and keys are handled by ``GridGestures`` (latent_gestures.py); overlays by latent_overlays.py.
"""
from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.core.latent.planes import Plane
from studio.ui.panels.latent_cells import DecodedCells
from studio.ui.panels.latent_gestures import GridGestures
from studio.ui.panels.latent_overlays import paint_overlays
from studio.ui.panels.latent_render import BACKGROUND, MELODY_TILE, compose_cells, qimage_from_rgb

GUTTER = 2


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
        self.cache = DecodedCells()
        self.modality = "image"
        self.tile_shape = (64, 64)
        self.quick_pass = True
        self.selection: tuple[int, tuple[int, int], np.ndarray] | None = None
        self.corner_marks: dict[int, tuple[int, tuple[int, int]]] = {}
        self.hover_key: tuple[int, int] | None = None
        self.empty_text = "Open a trained model with a latent space to explore it here."
        self.gestures = GridGestures(self)   # mouse and keys reach it first (an event filter)
        self.installEventFilter(self.gestures)
        self._canvas_img = None
        self._stale_img = None
        self._dirty = True
        self._target = QRectF()
        # input-to-paint bookkeeping (the benchmark reads these)
        self.input_seq = 0         # counts pans and zooms; each paint logs the newest it shows
        self.paint_log: list[tuple[float, int, bool]] = []   # (time, newest input seq, complete)
        self.setMouseTracking(True)
        self.setMinimumSize(240, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("Drag to move through latent space, wheel to zoom, click to select, "
                        "shift-click to set a corner, right-click for more")

    # -- state ------------------------------------------------------------
    @property
    def path_mode(self) -> bool:
        return self.gestures.path_mode

    def set_path_mode(self, on: bool) -> None:
        """Dragging draws a path (on) or slides the map (off)."""
        self.gestures.path_mode = bool(on)
        self.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)

    @property
    def drawn_path(self):
        """The path being drawn, or the last one drawn (a ``DrawnPath``)."""
        return self.gestures.drawn

    def show_drawn_path(self, visible: bool) -> None:
        self.gestures.drawn.hidden = not visible
        self.update()

    def set_quick_pass(self, on: bool) -> None:
        self.quick_pass = bool(on)
        self._dirty = True
        self.update()

    def set_plane(self, plane: Plane | None, modality: str = "image", keep_view: bool = False,
                  step: float | None = None) -> None:
        """Show ``plane``: at its default view, at the current view (``keep_view``), or with its origin
        in the middle cell at ``step`` (centring on a point, breeding, restoring)."""
        if plane is not self.plane and not self.gestures.drawn.drawing:
            self.gestures.drawn.clear()   # the drawn path belongs to the plane it was drawn on
        self.plane = plane
        self.modality = modality
        if modality == "melody":
            self.tile_shape = MELODY_TILE
        if plane is not None and step is not None:
            self.step, ca, cb = float(step), 0.0, 0.0
        elif plane is not None and not keep_view:
            ca, cb, self.step = plane.default_view(self.cols)
        if plane is not None and (step is not None or not keep_view):
            self.centre = self._snapped(ca / self.step, self.cols), self._snapped(cb / self.step, self.rows)
        self.new_generation()

    def select(self, key) -> None:
        self.selection = (self.generation, tuple(key), self.vector_at(key))
        self.update()

    def set_hover(self, key) -> None:
        if key != self.hover_key:
            self.hover_key = key
            self.hovered.emit(key)
            self.update()

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
        self.input_seq += 1
        self.new_generation()
        self.view_changed.emit()

    def pan_cells(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) cells (positive: content moves left/up)."""
        self.centre = (self.centre[0] + dx, self.centre[1] + dy)
        self.input_seq += 1
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

    def grid_rect(self) -> QRectF:
        """Where the cells are painted in the widget (the grid keeps its aspect ratio)."""
        return QRectF(self._target)

    def plane_coords(self, key) -> tuple[float, float]:
        return key[0] * self.step, key[1] * self.step

    def plane_point_pos(self, a: float, b: float) -> QPointF:
        """The widget position of plane point (a, b) at the current step and centre."""
        return self.cell_rect((a / self.step, b / self.step)).center()

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
    def request_decode(self) -> None:
        if self.plane is None or self.worker.decoder is None:
            return
        keys = self.cache.missing(self.visible_keys(), self.centre, self.quick_pass)
        if keys:
            self.worker.submit("grid", self.generation, keys, self.vectors_at(keys))

    def _on_decoded(self, tag, token, keys, tiles, raw) -> None:
        if tag != "grid" or token != self.generation:
            return
        self.tile_shape = tuple(tiles.shape[1:3])
        self.cache.store(keys, tiles, raw)
        dropped = self.cache.evict(len(self.visible_keys()), self.centre)
        if dropped:
            self.worker.forget(self.generation, dropped)
        self._dirty = True
        self.update()

    def complete(self) -> bool:
        return self.plane is not None and all(k in self.cache for k in self.visible_keys())

    # -- painting ---------------------------------------------------------
    def compose(self, size=None) -> np.ndarray:
        """The whole visible grid as one (H, W, 3) uint8 array. ``size`` (an ``ExportSize``, for export)
        enlarges each cell on its own and the gaps with them, so smooth cells never blur into the gaps."""
        return compose_cells(self.cache, self.visible_keys(), self.origin(), (self.rows, self.cols), self.pitch(),
                             self.tile_shape, GUTTER, self.quick_pass, size)

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
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not self.gestures.dragging)
        p.drawImage(self._target, self._canvas_img)
        paint_overlays(p, self, self.gestures.drawn, self.gestures.dragging)
        p.end()
        self.paint_log.append((time.perf_counter(), self.input_seq, self.complete()))
        del self.paint_log[:-4096]

    def resizeEvent(self, e):  # noqa: N802
        self._target = self._fit_target()
        super().resizeEvent(e)
