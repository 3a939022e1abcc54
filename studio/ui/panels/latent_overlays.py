"""What the latent grid draws over its cells: the hovered cell, the selection, the four corner marks
and the path being drawn (or the last one drawn, which stays shown after the mouse is released)."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen

CORNER_LABELS = ("TL", "TR", "BL", "BR")


class DrawnPath:
    """A path drawn across the grid, kept in plane coordinates so it stays on the same latent points
    while the view pans or zooms. It is shown until another is drawn, the plane changes, or the saved
    path it became is removed (or its adding undone)."""

    def __init__(self):
        self.plane = None
        self.points: list[tuple[float, float]] = []   # plane coordinates (a, b) of the cells crossed
        self.name = ""          # the saved path it became ("" while drawing or when it was refused)
        self.hidden = False     # its saved path is gone (e.g. undone); redo shows it again
        self.drawing = False

    def start(self, plane, point: tuple[float, float]) -> None:
        self.plane, self.points, self.name, self.hidden, self.drawing = plane, [point], "", False, True

    def add(self, point: tuple[float, float]) -> bool:
        if self.points and self.points[-1] == point:
            return False
        self.points.append(point)
        return True

    def finish(self) -> list[tuple[float, float]]:
        self.drawing = False
        if len(self.points) < 2:
            self.clear()
        return list(self.points)

    def clear(self) -> None:
        self.plane, self.points, self.name, self.hidden, self.drawing = None, [], "", False, False

    def shown_on(self, plane) -> bool:
        return plane is not None and plane is self.plane and len(self.points) > 1 and not self.hidden


def paint_overlays(p: QPainter, view, drawn: DrawnPath, dragging: bool) -> None:
    """Hover frame, selection, corner marks and the drawn path, clipped to the grid."""
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setClipRect(view.grid_rect())
    if view.hover_key is not None and not dragging:
        p.setPen(QPen(QColor(255, 255, 255, 110), 1))
        p.drawRect(view.cell_rect(view.hover_key).adjusted(1, 1, -1, -1))
    if view.selection is not None and view.selection[0] == view.generation:
        p.setPen(QPen(QColor(255, 196, 0), 3))
        p.drawRect(view.cell_rect(view.selection[1]).adjusted(1.5, 1.5, -1.5, -1.5))
    font = QFont(view.font())
    font.setBold(True)
    p.setFont(font)
    for slot, (gen, key) in view.corner_marks.items():
        if gen != view.generation:
            continue
        r = view.cell_rect(key)
        p.setPen(QPen(QColor(80, 200, 255), 2))
        p.drawRect(r.adjusted(3, 3, -3, -3))
        p.fillRect(QRectF(r.x() + 3, r.y() + 3, 22, 15), QColor(20, 60, 90, 220))
        p.drawText(QRectF(r.x() + 3, r.y() + 3, 22, 15), Qt.AlignmentFlag.AlignCenter, CORNER_LABELS[slot])
    if drawn.shown_on(view.plane):
        _paint_path(p, [view.plane_point_pos(a, b) for a, b in drawn.points], drawn.drawing)
    p.setClipping(False)


def _paint_path(p: QPainter, pts: list[QPointF], drawing: bool) -> None:
    # a finished path is drawn slightly thinner, with dots where its points are
    p.setPen(QPen(QColor(255, 90, 120), 3 if drawing else 2.5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    for a, b in zip(pts, pts[1:]):
        p.drawLine(a, b)
    if not drawing:
        p.setBrush(QColor(255, 90, 120))
        for pt in pts:
            p.drawEllipse(pt, 3.5, 3.5)
        p.setBrush(Qt.BrushStyle.NoBrush)
