"""The piano roll as an artist reads it: a keyboard column with note names, the view opening on the
melody's range and showing the whole phrase (or gliding with the playhead), and a note moved onto another
moving that one aside instead of deleting it, with undo restoring exactly."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from studio.core.audio.events import Note, notes_to_events
from studio.ui.panels.piano_roll import KEYS_W, ROW_H, STEP_W, PianoRoll, make_room
from tests.ui.screens import save_widget


@pytest.fixture
def roll(qtbot):
    r = PianoRoll(low=36, high=96, n_steps=64)
    qtbot.addWidget(r)
    r.resize(760, 260)
    r.show()
    qtbot.waitExposed(r)
    return r


def at(roll, step, pitch, dx=STEP_W / 2):
    return roll.mapFromScene(step * STEP_W + dx, roll.y_of(pitch) + ROW_H / 2)


def drag(qtbot, roll, start, end):
    qtbot.mousePress(roll.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(roll.viewport(), end)
    qtbot.mouseRelease(roll.viewport(), Qt.MouseButton.LeftButton, pos=end)


PHRASE = [Note(60, 0, 4), Note(62, 4, 4), Note(64, 8, 8), Note(65, 16, 4), Note(67, 20, 4), Note(64, 24, 8),
          Note(60, 32, 8), Note(62, 40, 4), Note(59, 44, 4), Note(60, 48, 16)]


def test_opens_on_the_melody_whole_phrase_with_named_keys(qtbot, roll):
    roll.set_events(notes_to_events(PHRASE, 64), min_pitch=36)
    low, high = roll.visible_pitches()
    assert low <= 59 and high >= 67, (low, high)  # C4 melody in view, not C5-C6
    left, right = roll.visible_steps()
    assert left <= 0.01 and right >= 63.5, (left, right)  # all four bars
    assert roll.horizontalScrollBar().maximum() == 0
    # the keyboard column sits left of the notes and names the pitch under the mouse
    assert roll.keys.isVisible() and roll.keys.width() == KEYS_W
    assert roll.viewport().geometry().left() >= KEYS_W
    heard = []
    roll.audition.connect(heard.append)
    y = roll.mapFromScene(0, roll.y_of(60) + ROW_H / 2).y()
    qtbot.mouseClick(roll.keys, Qt.MouseButton.LeftButton, pos=QPoint(KEYS_W // 2, y))
    assert heard == [60]
    save_widget(roll, "piano-roll")


def test_a_long_melody_scrolls_with_the_playhead(qtbot, roll):
    roll.set_length(256)  # 16 bars do not fit at a readable scale: scroll instead
    assert roll.horizontalScrollBar().maximum() > 0
    seen = []
    for step in range(0, 256, 8):
        roll.set_playhead(step)
        left, right = roll.visible_steps()
        assert left - 0.5 <= step <= right + 0.5
        seen.append(roll.horizontalScrollBar().value())
    assert seen == sorted(seen) and len(set(seen)) > 10  # glides forward, not in page jumps


def test_moving_a_note_onto_another_moves_that_one_aside_and_undo_restores(qtbot, roll):
    roll.apply([Note(60, 0, 4), Note(64, 8, 4), Note(67, 16, 4)], "three notes")
    before = list(roll.notes)
    drag(qtbot, roll, at(roll, 0, 60), at(roll, 8, 62))  # C4 dragged onto E4's place, a step lower
    assert Note(62, 8, 4) in roll.notes
    assert len(roll.notes) == 3  # nothing deleted
    moved_aside = [n for n in roll.notes if n.pitch == 64]
    assert moved_aside and moved_aside[0].start != 8 and moved_aside[0].duration == 4
    starts = sorted((n.start, n.start + n.duration) for n in roll.notes)
    assert all(a_end <= b_start for (_a, a_end), (b_start, _b) in zip(starts, starts[1:]))  # monophonic
    roll.undo_stack.undo()
    assert roll.notes == before
    roll.undo_stack.redo()
    assert Note(62, 8, 4) in roll.notes and len(roll.notes) == 3


def test_make_room_keeps_every_note():
    notes = [Note(60, 0, 8), Note(62, 8, 4), Note(64, 12, 4)]
    moved = Note(70, 6, 4)  # over the end of the first and the start of the second
    out = make_room(notes[1:] + [notes[0]] + [moved], moved, 16)
    assert Note(60, 0, 6) in out and moved in out  # the earlier note ends where the moved one starts
    assert {n.pitch for n in out} == {60, 62, 64, 70}  # 62 went to a free place
    assert len(out) == 4


def test_an_empty_roll_opens_around_middle_c(qtbot):
    r = PianoRoll(low=24, high=108, n_steps=64)
    qtbot.addWidget(r)
    r.resize(600, 200)
    r.show()
    qtbot.waitExposed(r)
    low, high = r.visible_pitches()
    assert low <= 60 <= high and low <= 72 <= high, (low, high)
