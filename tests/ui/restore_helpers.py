"""Dropping files on the window as a file manager does, and answering the recipe dialog that opens:
shared by the drop-to-restore tests."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from tests.ui.screens import save_widget


def dialog_rows(dialog) -> dict[str, str]:
    """The recipe dialog's rows as {label: text}."""
    form = dialog.form
    return {form.itemAt(i, form.ItemRole.LabelRole).widget().text().rstrip(":"):
            form.itemAt(i, form.ItemRole.FieldRole).widget().text() for i in range(form.rowCount())}


def drop(qtbot, win, path: Path) -> None:
    """What a file manager does: drag enter, then drop, on the window (outside the Datasets panel)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(win.width() / 2, 12)
    enter = QDragEnterEvent(QPoint(int(pos.x()), int(pos.y())), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(win, enter)
    assert enter.isAccepted(), f"the window refused {path.name}"
    ev = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(win, ev)
    assert ev.isAccepted()


@pytest.fixture
def answer(monkeypatch):
    """Answer the recipe dialog by clicking its buttons; keep what it showed; screenshot the first."""
    from studio.ui.restore_dialog import RestoreDialog

    seen: list[dict] = []
    plan = {"buttons": ["restore"]}

    def fake_exec(dialog):
        if dialog.check is not None:  # Content Credentials are checked off the UI thread: wait for the answer
            dialog.check.thread.join(30)
            for _ in range(3):
                QApplication.processEvents()
        dialog.adjustSize()
        seen.append({"rows": dialog_rows(dialog), "restore_text": dialog.restore_btn.text(),
                     "choose_visible": not dialog.choose_btn.isHidden()})
        if len(seen) == 1:
            save_widget(dialog, "restore_dialog_" + dialog.restore.path.suffix.lstrip("."), min_colours=16)
        for name in plan["buttons"]:
            {"restore": dialog.restore_btn, "choose": dialog.choose_btn}[name].click()
        return dialog.result()

    monkeypatch.setattr(RestoreDialog, "exec", fake_exec)
    return type("Answer", (), {"seen": seen, "plan": plan})
