"""Pointer gestures on the Latent grid's view (press, move, release, click, drag) and a panel opened on a
tiny stand-in model: shared by the Latent grid tests."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

L, R, NB = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton, Qt.MouseButton.NoButton
NOMOD, SHIFT = Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier


def mouse(widget, kind, pos, button=L, buttons=None, mods=NOMOD):
    types = {"press": QEvent.Type.MouseButtonPress, "move": QEvent.Type.MouseMove,
             "release": QEvent.Type.MouseButtonRelease}
    pos = QPointF(pos)
    buttons = (button if kind != "release" else NB) if buttons is None else buttons
    ev = QMouseEvent(types[kind], pos, widget.mapToGlobal(pos), button if kind != "move" else NB, buttons, mods)
    QApplication.sendEvent(widget, ev)


def click(widget, pos, button=L, mods=NOMOD):
    mouse(widget, "press", pos, button, mods=mods)
    mouse(widget, "release", pos, button, mods=mods)


def drag(widget, start, end, steps=8):
    mouse(widget, "press", start)
    for k in range(1, steps + 1):
        p = QPointF(start) + (QPointF(end) - QPointF(start)) * (k / steps)
        mouse(widget, "move", p, NB, buttons=L)
    mouse(widget, "release", end)


def centre_of(view, key) -> QPointF:
    return view.cell_rect(key).center()


def make_panel(qtbot, ctx, model):
    from studio.ui.panels.latent_grid import LatentGridPanel

    panel = LatentGridPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(980, 620)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_model(model, plugin_id="tiny", run="runs/tiny", checkpoint="step-1.safetensors", backend="torch")
    qtbot.waitUntil(lambda: panel.ready() and panel.view.complete(), timeout=20_000)
    panel.view.repaint()
    return panel
