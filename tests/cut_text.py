"""Which texts in a widget tree are cut: a label, button or combo box whose one line of text is wider
than the room its widget gives it (used by the window-fit probe and the panel reflow tests).

A label's room is its contents rect minus margin and indent; a button's need is its text, icon, padding
and menu arrow (not the style's minimum width: Fusion asks 80 px for any text button); a combo box
needs its current text plus its frame and arrow. A widget partly outside its ancestors (a dock edge, a
scroll viewport) counts only what is shown.
"""
from __future__ import annotations

COMBO_CHROME = 30  # a combo box's frame, padding and drop-down arrow


def _label_room(w) -> int:
    from PySide6.QtWidgets import QLabel

    room = w.contentsRect().width()
    if isinstance(w, QLabel):
        m = w.margin() * 2
        indent = w.indent() if w.indent() > 0 else (w.fontMetrics().horizontalAdvance("x") // 2 if w.frameWidth() else 0)
        room -= m + max(indent, 0)
    return room


def _button_need(w, text: str) -> int:
    """The width a button's text (and icon) needs: its sizeHint, except a push button's style minimum
    width (Fusion asks 80 px for any text button) is not a cut text."""
    from PySide6.QtWidgets import QPushButton, QStyle

    if not isinstance(w, QPushButton):
        return w.sizeHint().width()
    icon = w.iconSize().width() + 4 if not w.icon().isNull() else 0
    margin = w.style().pixelMetric(QStyle.PixelMetric.PM_ButtonMargin, None, w)
    menu = w.style().pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator, None, w) if w.menu() else 0
    return w.fontMetrics().horizontalAdvance(text) + icon + 2 * margin + menu


def _shown_width(w) -> int:
    """How much of ``w``'s width is on screen: its rect clipped by every ancestor's."""
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtWidgets import QWidget

    rect = QRect(w.mapToGlobal(QPoint(0, 0)), QWidget.size(w))  # (a panel may name a child "size")
    p = w.parentWidget()
    while p is not None:
        rect = rect.intersected(QRect(p.mapToGlobal(QPoint(0, 0)), QWidget.size(p)))
        p = p.parentWidget()
    if rect.height() <= 0:
        return QWidget.width(w)  # scrolled out of view vertically: reachable by scrolling, not cut
    return max(rect.width(), 0)


def cut_texts(root) -> list[dict]:
    """Every visible single-line QLabel / QAbstractButton / QComboBox under ``root`` whose text is wider
    than its widget (as ``{"class", "name", "text", "need", "room"}``)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import Qt as GuiQt  # Qt.mightBeRichText lives in QtGui's Qt namespace
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QTabBar

    out = []
    for w in root.findChildren(QComboBox):
        if w.isVisibleTo(root.window()) and w.isVisible() and w.width() > 1 and w.currentText():
            need = w.fontMetrics().horizontalAdvance(w.currentText()) + COMBO_CHROME
            room = min(w.width(), _shown_width(w))
            if need > room + 1:
                out.append({"class": "QComboBox", "name": w.objectName(), "text": w.currentText()[:60],
                            "need": need, "room": room})
    for w in root.findChildren(QLabel) + root.findChildren(QAbstractButton):
        if not w.isVisibleTo(root.window()) or not w.isVisible() or w.width() <= 1:
            continue
        text = w.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
        if not text or "\n" in text:
            continue
        if isinstance(w, QLabel):
            if w.wordWrap() or w.textFormat() == Qt.TextFormat.RichText or GuiQt.mightBeRichText(text) \
                    or w.pixmap() is not None and not w.pixmap().isNull():
                continue
            need = w.fontMetrics().horizontalAdvance(text)
            room = _label_room(w)
        else:
            if isinstance(w.parent(), QTabBar):
                continue
            need = _button_need(w, text)
            room = w.width()
        room = min(room, _shown_width(w))  # a scroll viewport or a dock edge may hide part of it
        if need > room + 1:
            out.append({"class": type(w).__name__, "name": w.objectName(), "text": text[:60],
                        "need": need, "room": room})
    return out
