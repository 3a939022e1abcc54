"""Every control in every panel says what it does when hovered (issue 12: tooltips on every control)."""
from PySide6.QtWidgets import (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit, QScrollBar,
                               QTabBar)

CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QAbstractSlider, QLineEdit)


def _is_internal(widget) -> bool:
    """Parts Qt builds inside other controls (spin box editors, scroll bars, dock title buttons, tab arrows)."""
    name = widget.objectName()
    if name.startswith("qt_"):
        return True
    if isinstance(widget, (QScrollBar,)):
        return True
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, (QAbstractSpinBox, QComboBox, QTabBar)):
            return True
        parent = parent.parentWidget()
    return False


def test_every_control_in_every_panel_has_a_tooltip(make_studio_window):
    win = make_studio_window()
    missing, checked = [], 0
    for key, dock in win.docks.items():
        for widget in dock.widget().findChildren(object):
            if not isinstance(widget, CONTROLS) or _is_internal(widget):
                continue
            checked += 1
            if not widget.toolTip():
                text = widget.text() if hasattr(widget, "text") else ""
                missing.append(f"{key}: {type(widget).__name__} {text!r}")
    assert checked > 100, f"only {checked} controls found: are the panels loaded?"
    assert not missing, "controls without a tooltip:\n" + "\n".join(missing)
