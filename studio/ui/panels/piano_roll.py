"""Piano roll: notes as bars on a pitch x time grid, a playhead, mouse editing with undo.

Gestures: click an empty cell to add a note (and hear it); click a note to
select and hear it; drag a note to move it; drag its right edge to lengthen
or shorten it; right-click or Delete removes it; Shift+click picks the bar
to continue from. Every gesture is one undo step (QUndoStack). The melody is
monophonic, as the event encoding is: a note moved onto others moves them
aside (to the nearest free place) rather than cutting them away.

A keyboard column on the left names the pitches (click a key to hear it). The
view opens on the melody's pitch range and shows the whole phrase when it fits
at a readable scale; otherwise it scrolls with the playhead.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QPainter, QPen, QTransform, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsScene, QGraphicsView, QWidget

from studio.core.audio.events import (MAX_PITCH, MIN_PITCH, STEPS_PER_BAR, Note, beat_steps, events_to_notes,
                                      note_name, notes_to_events, steps_per_bar)
from studio.ui.theme import follow

STEP_W = 14.0   # pixels per 16th step
ROW_H = 9.0     # pixels per semitone
EDGE = 5.0      # grab zone of a note's right edge, pixels
BLACK_KEYS = {1, 3, 6, 8, 10}
KEYS_W = 38     # the keyboard column, pixels
MIN_FIT = 0.45  # narrowest horizontal scale that still shows the whole phrase (else: scroll)
FOLLOW_AT = 1 / 3  # while scrolling, the playhead stays this far into the view
#: grid colours by theme (dark?): background, black-key rows, octave line, octave label, bar line, beat line
GRID_COLOURS = {False: ("#fbfbfb", "#eceff1", "#b0bec5", "#78909c", "#607d8b", "#cfd8dc"),
                True: ("#1e1f22", "#27292d", "#4a5058", "#8f9aa3", "#7d8b96", "#34373c")}


def normalise(notes: list[Note], n_steps: int) -> list[Note]:
    """What will actually sound: monophonic, inside the melody, on the grid."""
    return events_to_notes(notes_to_events([n for n in notes if 0 <= n.start < n_steps], n_steps))


def make_room(notes: list[Note], moved: Note, n_steps: int) -> list[Note]:
    """``notes`` with ``moved`` placed: a note sounding before it is shortened to end where it starts;
    notes starting under it move to the nearest free place (same length if it fits), never deleted."""
    end = moved.start + moved.duration
    kept, displaced = [], []
    for n in notes:
        if n == moved:
            continue
        if n.start + n.duration <= moved.start or n.start >= end:
            kept.append(n)
        elif n.start < moved.start:
            kept.append(Note(n.pitch, n.start, moved.start - n.start))
        else:
            displaced.append(n)
    kept.append(moved)
    for n in sorted(displaced, key=lambda n: n.start):
        busy = [False] * n_steps
        for k in kept:
            for t in range(max(k.start, 0), min(k.start + k.duration, n_steps)):
                busy[t] = True
        spot = _nearest_free(busy, n.start, n.duration)
        if spot is not None:
            kept.append(Note(n.pitch, *spot))
    return sorted(kept, key=lambda n: n.start)


def _nearest_free(busy: list[bool], want: int, duration: int) -> tuple[int, int] | None:
    """(start, duration) of the free run closest to ``want``, as long as possible up to ``duration``."""
    for length in range(duration, 0, -1):
        best = None
        for start in range(0, len(busy) - length + 1):
            if not any(busy[start:start + length]):
                if best is None or abs(start - want) < abs(best - want):
                    best = start
        if best is not None:
            return best, length
    return None


class KeyboardColumn(QWidget):
    """The piano keys beside the roll, scrolled with it: note names on the white keys, C's in bold."""

    def __init__(self, roll: "PianoRoll"):
        super().__init__(roll)
        self.roll = roll
        self.setToolTip("Pitches: click a key to hear it")

    def pitch_at(self, y: float) -> int:
        return self.roll.high - int(self.roll.mapToScene(0, int(y)).y() // ROW_H)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        roll = self.roll
        p = QPainter(self)
        bg, _black_row, octave, _octave_text, _bar, _beat = roll._grid
        p.fillRect(self.rect(), QColor(bg))
        font = p.font()
        font.setPixelSize(max(7, int(ROW_H)))
        p.setFont(font)
        dark = QColor(bg).lightness() < 128
        for pitch in range(roll.low, roll.high + 1):
            y = roll.mapFromScene(0, roll.y_of(pitch)).y()
            if y + ROW_H < 0 or y > self.height():
                continue
            black = pitch % 12 in BLACK_KEYS
            key = QColor("#30343a" if black else ("#d8dbe0" if dark else "#ffffff"))
            p.fillRect(QRectF(0, y, self.width() - (12 if black else 0), ROW_H), key)
            p.setPen(QPen(QColor(octave), 1))
            p.drawLine(0, int(y + ROW_H), self.width(), int(y + ROW_H))
            if not black:
                font.setBold(pitch % 12 == 0)
                p.setFont(font)
                p.setPen(QColor("#20242a"))
                p.drawText(QRectF(2, y - 1, self.width() - 4, ROW_H + 2),
                           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, note_name(pitch))
        p.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        pitch = self.pitch_at(event.position().y())
        if self.roll.low <= pitch <= self.roll.high:
            self.roll.audition.emit(pitch)


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
        self.time_signature = "4/4"
        self.bar_steps, self.beat_steps = STEPS_PER_BAR, 4   # 16th-note steps per bar and per felt beat
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
        self.keys = KeyboardColumn(self)
        self.setViewportMargins(KEYS_W, 0, 0, 0)
        self.fit_width = True  # the whole phrase in view when it fits at a readable scale
        self._placed = False
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
        self.keys.update()

    def set_meter(self, time_signature: str | None) -> None:
        """Bar and beat lines of ``time_signature`` (4/4 when None): 6/8 has bars of 12 steps, two beats."""
        self.time_signature = time_signature or "4/4"
        self.bar_steps, self.beat_steps = steps_per_bar(time_signature), beat_steps(time_signature)
        self.selected_bar = min(self.selected_bar, max(0, self.n_steps // self.bar_steps - 1))
        self._place_bar()
        self.resetCachedContent()
        self.viewport().update()

    def set_length(self, n_steps: int) -> None:
        self.n_steps = max(self.bar_steps, int(n_steps))
        self._layout_scene()
        self.fit()

    def x_scale(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        """Show every bar when that keeps a readable note width; else keep the natural scale (scrolling)."""
        room = self.viewport().width() - 2
        want = room / (self.n_steps * STEP_W) if self.n_steps else 1.0
        scale = min(1.0, want) if self.fit_width and want >= MIN_FIT else 1.0
        if abs(scale - self.x_scale()) > 1e-6:
            self.setTransform(QTransform.fromScale(scale, 1.0))

    def show_pitches(self, low: int, high: int) -> None:
        """Scroll so the pitches low..high are in view (centred when they fit)."""
        mid = (self.y_of(low) + self.y_of(high) + ROW_H) / 2
        bar = self.verticalScrollBar()
        bar.setValue(int(mid - self.viewport().height() / 2))
        self.keys.update()

    def visible_pitches(self) -> tuple[int, int]:
        """(lowest, highest) pitch wholly or partly in view."""
        top = self.mapToScene(0, 0).y()
        bottom = self.mapToScene(0, self.viewport().height() - 1).y()
        return self.high - int(bottom // ROW_H), self.high - int(top // ROW_H)

    def visible_steps(self) -> tuple[float, float]:
        left = self.mapToScene(0, 0).x() / STEP_W
        right = self.mapToScene(self.viewport().width() - 1, 0).x() / STEP_W
        return left, right

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        cr = self.contentsRect()
        self.keys.setGeometry(cr.x(), cr.y(), KEYS_W, self.viewport().height())
        self.fit()
        if not self._placed:  # first layout: around middle C, or on the melody
            self._placed = True
            pitches = [n.pitch for n in self.notes] or [60, 72]
            self.show_pitches(min(pitches), max(pitches))

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 - Qt API
        super().scrollContentsBy(dx, dy)
        if dy:
            self.keys.update()

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
        if self.notes:  # open on the melody: its pitches in view, the whole phrase when it fits
            self.fit()
            self.show_pitches(min(n.pitch for n in self.notes), max(n.pitch for n in self.notes))

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
            item.setToolTip(f"{note_name(n.pitch)}  bar {n.start // self.bar_steps + 1}, "
                            f"step {n.start % self.bar_steps + 1}, {n.duration} sixteenth(s)")
            self._items.append(item)

    def select_bar(self, bar: int) -> None:
        self.selected_bar = max(0, min(int(bar), self.n_steps // self.bar_steps - 1))
        self._place_bar()
        self.bar_selected.emit(self.selected_bar)

    def _place_bar(self) -> None:
        h = (self.high - self.low + 1) * ROW_H
        self._bar_item.setRect(QRectF(self.selected_bar * self.bar_steps * STEP_W, 0, self.bar_steps * STEP_W, h))

    def set_playhead(self, step: float | None) -> None:
        if step is None:
            self._playhead.hide()
            return
        x = float(step) * STEP_W
        self._playhead.setPos(x, 0)
        self._playhead.show()
        bar = self.horizontalScrollBar()
        if bar.maximum() > 0:  # scrolling: the view glides with the playhead (no page jumps)
            bar.setValue(int(x * self.x_scale() - self.viewport().width() * FOLLOW_AT))

    # -- painting ------------------------------------------------------------
    def apply_theme(self, dark: bool) -> None:
        self._grid = GRID_COLOURS[dark]
        self.resetCachedContent()
        self.viewport().update()
        self.keys.update()

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        scene = self.sceneRect()
        bg, black_row, octave, _octave_text, bar_line, beat_line = self._grid
        painter.fillRect(rect, QColor(bg))
        for pitch in range(self.low, self.high + 1):
            if pitch % 12 in BLACK_KEYS:
                painter.fillRect(QRectF(0, self.y_of(pitch), scene.width(), ROW_H), QColor(black_row))
            if pitch % 12 == 0:  # octave lines; the names are on the keyboard column
                painter.setPen(QPen(QColor(octave), 1))
                painter.drawLine(0, self.y_of(pitch) + ROW_H, scene.width(), self.y_of(pitch) + ROW_H)
        for step in range(0, self.n_steps + 1):
            if step % self.bar_steps == 0:
                painter.setPen(QPen(QColor(bar_line), 1.5))
            elif step % self.beat_steps == 0:
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
            self.select_bar(step // self.bar_steps)
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
        if mode == "move" and self.selected is not None:  # notes under the moved one step aside
            self.notes = make_room(self.notes, self.selected, self.n_steps)
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
