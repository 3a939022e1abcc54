"""Mouse and keyboard on the latent grid: click selects, shift-click sets a corner, right-click asks for
the menu, a drag slides the map (or, in path mode, draws a path that stays shown), the wheel zooms.

``GridGestures`` keeps the state of a gesture in progress (where the press was, whether it became a drag)
and talks to the view only through its public methods and signals.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt

from studio.ui.panels.latent_overlays import DrawnPath

ZOOM_PER_NOTCH = 0.85   # wheel up one notch: 15 % smaller step (zoom in)
DRAG_THRESHOLD = 4      # pixels before a press becomes a drag rather than a click
ARROW_PANS = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}


class GridGestures(QObject):
    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.path_mode = False
        self.drawn = DrawnPath()
        self._press: QPointF | None = None
        self._last: QPointF | None = None
        self.dragging = False

    def eventFilter(self, obj, e) -> bool:  # noqa: N802 - Qt API: the view's input comes here first
        kind = e.type()
        handler = {QEvent.Type.MouseButtonPress: self.press, QEvent.Type.MouseMove: self.move,
                   QEvent.Type.MouseButtonRelease: self.release, QEvent.Type.Wheel: self.wheel,
                   QEvent.Type.Leave: lambda _e: self.view.set_hover(None)}.get(kind)
        if handler is not None:
            handler(e)
            return True
        return kind == QEvent.Type.KeyPress and self.key(e)

    def press(self, e) -> None:
        view, pos = self.view, e.position()
        key = view.key_at(pos)
        if e.button() == Qt.MouseButton.RightButton:
            if key is not None and view.plane is not None:
                view.context_requested.emit(key, view.vector_at(key), e.globalPosition().toPoint())
            return
        if e.button() != Qt.MouseButton.LeftButton:
            return
        self._press = self._last = pos
        self.dragging = False
        if self.path_mode and key is not None and view.plane is not None:
            self.drawn.start(view.plane, view.plane_coords(key))
            view.update()

    def move(self, e) -> None:
        view, pos = self.view, e.position()
        if self._press is None:
            view.set_hover(view.key_at(pos))
            return
        if self.path_mode:
            key = view.key_at(pos)
            if key is not None and self.drawn.drawing and self.drawn.add(view.plane_coords(key)):
                view.update()
            return
        if not self.dragging and (pos - self._press).manhattanLength() < DRAG_THRESHOLD:
            return
        self.dragging = True
        t = view.grid_rect()
        if t.isEmpty() or view.plane is None:
            return
        d = pos - self._last
        self._last = pos
        view.pan_cells(-d.x() / t.width() * view.cols, -d.y() / t.height() * view.rows)

    def release(self, e) -> None:
        if e.button() != Qt.MouseButton.LeftButton or self._press is None:
            return
        view = self.view
        was_drag = self.dragging
        self._press = self._last = None
        self.dragging = False
        if self.path_mode:
            if self.drawn.drawing:
                plane, points = self.drawn.plane, self.drawn.finish()   # stays shown; named once saved
                if len(points) >= 2:
                    view.path_drawn.emit(list(plane.points([a for a, _ in points], [b for _, b in points])))
            view.update()
            return
        key = view.key_at(e.position())
        if was_drag or key is None or view.plane is None:
            view.update()
            return
        vec = view.vector_at(key)
        if e.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            view.corner_requested.emit(key, vec)
        else:
            view.select(key)
            view.selected.emit(key, vec)
        view.update()

    def wheel(self, e) -> None:
        notches = e.angleDelta().y() / 120.0
        if notches and self.view.plane is not None:
            self.view.set_step(self.view.step * ZOOM_PER_NOTCH ** notches)

    def key(self, e) -> bool:
        """Arrow keys pan by a cell, +/- zoom; False when the key is not ours."""
        view = self.view
        if e.key() in ARROW_PANS and view.plane is not None:
            view.pan_cells(*ARROW_PANS[e.key()])
        elif e.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            view.set_step(view.step * ZOOM_PER_NOTCH)
        elif e.key() == Qt.Key.Key_Minus:
            view.set_step(view.step / ZOOM_PER_NOTCH)
        else:
            return False
        return True
