"""Piano roll: notes as bars on a pitch x time grid, a playhead, mouse editing with undo.

Gestures: click an empty cell to add a note (and hear it); click a note to
select and hear it; drag a note to move it; drag its right edge to lengthen
or shorten it; right-click or Delete removes it; Shift+click picks the bar
to continue from. Every gesture is one undo step (QUndoStack). The melody is
monophonic, as the event encoding is: overlapping notes are cut on commit.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QPainter, QPen, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsScene, QGraphicsView

from studio.core.audio.events import (MAX_PITCH, MIN_PITCH, STEPS_PER_BAR, Note, events_to_notes, note_name,
                                      notes_to_events)
from studio.ui.theme import follow

STEP_W = 14.0   # pixels per 16th step
ROW_H = 9.0     # pixels per semitone
EDGE = 5.0      # grab zone of a note's right edge, pixels
BLACK_KEYS = {1, 3, 6, 8, 10}
#: grid colours by theme (dark?): background, black-key rows, octave line, octave label, bar line, beat line
GRID_COLOURS = {False: ("#fbfbfb", "#eceff1", "#b0bec5", "#78909c", "#607d8b", "#cfd8dc"),
                True: ("#1e1f22", "#27292d", "#4a5058", "#8f9aa3", "#7d8b96", "#34373c")}


def normalise(notes: list[Note], n_steps: int) -> list[Note]:
    """What will actually sound: monophonic, inside the melody, on the grid."""
    return events_to_notes(notes_to_events([n for n in notes if 0 <= n.start < n_steps], n_steps))


class SnapshotCommand(QUndoCommand):
    """One edit, stored as the note lists before and after (small melodies: snapshots are cheap)."""

    def __init__(self, roll: "PianoRoll", before: list[Note], after: list[Note], text: str):
        super().__init__(text)
        self.roll, self.before, self.after = roll, list(before), list(after)

    def redo(self) -> None:
        self.roll._set_notes(self.after)

    def undo(self) -> None:
        self.roll._set_notes(self.before)


class PianoRoll(QGraphicsView):
    notes_changed = Signal()
    audition = Signal(int)        # MIDI pitch to hear
    bar_selected = Signal(int)    # bar index (0-based)

    def __init__(self, parent=None, low: int = 48, high: int = 84, n_steps: int = 64):
        super().__init__(parent)
        self.low, self.high, self.n_steps = low, high, n_steps
        self.notes: list[Note] = []
        self.selected: Note | None = None
        self.selected_bar = 0
        self.undo_stack = QUndoStack(self)
        self._drag = None  # (mode, note, press_step, press_pitch, before)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setToolTip("Piano roll: click to add or hear a note, drag to move, drag the right edge to lengthen, "
                        "right-click or Delete to remove, Shift+click to pick the bar to continue from")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._items: list[QGraphicsRectItem] = []
        self._bar_item = self.scene().addRect(QRectF(), QPen(Qt.PenStyle.NoPen), QBrush(QColor(255, 200, 60, 45)))
        self._bar_item.setZValue(1)
        self._playhead = self.scene().addLine(0, 0, 0, 1, QPen(QColor("#e74c3c"), 2))
        self._playhead.setZValue(10)
        self._playhead.hide()
        self._grid = GRID_COLOURS[False]
        self._layout_scene()
        follow(self.apply_theme)  # light/dark grid: now and on every change

    # -- geometry ------------------------------------------------------------
    def _layout_scene(self) -> None:
        h = (self.high - self.low + 1) * ROW_H
        self.scene().setSceneRect(0, 0, self.n_steps * STEP_W, h)
        self._playhead.setLine(0, 0, 0, h)
        self._place_bar()
        self._redraw()

    def set_range(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self._layout_scene()

    def set_length(self, n_steps: int) -> None:
        self.n_steps = max(STEPS_PER_BAR, int(n_steps))
        self._layout_scene()

    def y_of(self, pitch: int) -> float:
        return (self.high - pitch) * ROW_H

    def cell_at(self, pos) -> tuple[int, int]:
        p = self.mapToScene(pos)
        return int(p.x() // STEP_W), self.high - int(p.y() // ROW_H)

    def note_at(self, step: int, pitch: int) -> Note | None:
        for n in self.notes:
            if n.pitch == pitch and n.start <= step < n.start + n.duration:
                return n
        return None

    # -- content -------------------------------------------------------------
    def events(self, min_pitch: int = MIN_PITCH, max_pitch: int = MAX_PITCH) -> list[int]:
        return notes_to_events(self.notes, self.n_steps, min_pitch, max_pitch)

    def set_events(self, events, text: str = "Load melody", min_pitch: int = MIN_PITCH) -> None:
        """Replace the melody (one undo step); the roll grows to fit."""
        events = [int(e) for e in events]
        if len(events) > self.n_steps:
            self.set_length(len(events))
        self.apply(events_to_notes(events, min_pitch), text)

    def apply(self, notes: list[Note], text: str) -> None:
        after = normalise(notes, self.n_steps)
        if after != self.notes:
            self.undo_stack.push(SnapshotCommand(self, self.notes, after, text))

    def _set_notes(self, notes: list[Note]) -> None:
        self.notes = list(notes)
        if self.selected not in self.notes:
            self.selected = None
        pitches = [n.pitch for n in self.notes]
        if pitches and (min(pitches) < self.low or max(pitches) > self.high):
            self.set_range(min(self.low, min(pitches) - 2), max(self.high, max(pitches) + 2))
        self._redraw()
        self.notes_changed.emit()

    def _redraw(self) -> None:
        for item in self._items:
            self.scene().removeItem(item)
        self._items = []
        for n in self.notes:
            sel = n == self.selected
            item = self.scene().addRect(QRectF(n.start * STEP_W + 1, self.y_of(n.pitch) + 1,
                                               n.duration * STEP_W - 2, ROW_H - 2),
                                        QPen(QColor("#1b4f72") if not sel else QColor("#f39c12"), 1.5),
                                        QBrush(QColor("#3498db") if not sel else QColor("#f5b041")))
            item.setZValue(5)
            item.setToolTip(f"{note_name(n.pitch)}  bar {n.start // 16 + 1}, "
                            f"step {n.start % 16 + 1}, {n.duration} sixteenth(s)")
            self._items.append(item)

    def select_bar(self, bar: int) -> None:
        self.selected_bar = max(0, min(int(bar), self.n_steps // STEPS_PER_BAR - 1))
        self._place_bar()
        self.bar_selected.emit(self.selected_bar)

    def _place_bar(self) -> None:
        h = (self.high - self.low + 1) * ROW_H
        self._bar_item.setRect(QRectF(self.selected_bar * STEPS_PER_BAR * STEP_W, 0, STEPS_PER_BAR * STEP_W, h))

    def set_playhead(self, step: float | None) -> None:
        if step is None:
            self._playhead.hide()
            return
        x = float(step) * STEP_W
        self._playhead.setPos(x, 0)
        self._playhead.show()
        self.ensureVisible(x, self.mapToScene(self.viewport().rect().center()).y(), 1, 1, 60, 0)

    # -- painting ------------------------------------------------------------
    def apply_theme(self, dark: bool) -> None:
        self._grid = GRID_COLOURS[dark]
        self.resetCachedContent()
        self.viewport().update()

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        scene = self.sceneRect()
        bg, black_row, octave, octave_text, bar_line, beat_line = self._grid
        painter.fillRect(rect, QColor(bg))
        for pitch in range(self.low, self.high + 1):
            if pitch % 12 in BLACK_KEYS:
                painter.fillRect(QRectF(0, self.y_of(pitch), scene.width(), ROW_H), QColor(black_row))
            if pitch % 12 == 0:
                painter.setPen(QPen(QColor(octave), 1))
                painter.drawLine(0, self.y_of(pitch) + ROW_H, scene.width(), self.y_of(pitch) + ROW_H)
                painter.setPen(QColor(octave_text))
                painter.drawText(QRectF(2, self.y_of(pitch) - 1, 30, ROW_H + 2), f"C{pitch // 12 - 1}")
        for step in range(0, self.n_steps + 1):
            if step % STEPS_PER_BAR == 0:
                painter.setPen(QPen(QColor(bar_line), 1.5))
            elif step % 4 == 0:
                painter.setPen(QPen(QColor(beat_line), 1))
            else:
                continue
            painter.drawLine(step * STEP_W, 0, step * STEP_W, scene.height())

    # -- gestures ------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        step, pitch = self.cell_at(event.position().toPoint())
        if not (0 <= step < self.n_steps and self.low <= pitch <= self.high):
            return super().mousePressEvent(event)
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.select_bar(step // STEPS_PER_BAR)
            return
        hit = self.note_at(step, pitch)
        if event.button() == Qt.MouseButton.RightButton:
            if hit is not None:
                self.apply([n for n in self.notes if n != hit], "Delete note")
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        before = list(self.notes)
        if hit is None:
            hit = Note(pitch, step, 4)
            self.notes = normalise(self.notes + [hit], self.n_steps)
            hit = self.note_at(step, pitch) or hit
            mode = "add"
        else:
            x = self.mapToScene(event.position().toPoint()).x()
            mode = "resize" if (hit.start + hit.duration) * STEP_W - x <= EDGE else "move"
        self.selected = hit
        self._drag = (mode, hit, step, pitch, before)
        self._redraw()
        self.audition.emit(hit.pitch)

    def mouseMoveEvent(self, event) -> None:
        if self._drag is None:
            x = self.mapToScene(event.position().toPoint()).x()
            step, pitch = self.cell_at(event.position().toPoint())
            n = self.note_at(step, pitch)
            edge = n is not None and (n.start + n.duration) * STEP_W - x <= EDGE
            self.viewport().setCursor(Qt.CursorShape.SizeHorCursor if edge else Qt.CursorShape.ArrowCursor)
            return super().mouseMoveEvent(event)
        mode, note, step0, pitch0, before = self._drag
        step, pitch = self.cell_at(event.position().toPoint())
        if mode == "resize":
            moved = Note(note.pitch, note.start, max(1, min(step - note.start + 1, self.n_steps - note.start)))
        else:
            start = max(0, min(note.start + step - step0, self.n_steps - note.duration))
            moved = Note(max(self.low, min(self.high, note.pitch + pitch - pitch0)), start, note.duration)
        base = [n for n in before if n != note] if mode != "add" else [n for n in before]
        if moved.pitch != self.selected.pitch:
            self.audition.emit(moved.pitch)
        self.selected = moved
        self.notes = sorted(base + [moved], key=lambda n: n.start)
        self._redraw()

    def mouseReleaseEvent(self, event) -> None:
        if self._drag is None:
            return super().mouseReleaseEvent(event)
        mode, _, _, _, before = self._drag
        self._drag = None
        after = normalise(self.notes, self.n_steps)
        self.notes = list(before)
        text = {"add": "Add note", "move": "Move note", "resize": "Change note length"}[mode]
        if after != before:
            self.undo_stack.push(SnapshotCommand(self, before, after, text))
            self.selected = self.selected if self.selected in after else None
        self._redraw()

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.selected is not None:
            self.apply([n for n in self.notes if n != self.selected], "Delete note")
        elif event.matches(QKeySequence.StandardKey.Undo):
            self.undo_stack.undo()
        elif event.matches(QKeySequence.StandardKey.Redo):
            self.undo_stack.redo()
        else:
            super().keyPressEvent(event)
