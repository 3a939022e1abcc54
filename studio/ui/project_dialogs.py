"""Questions the project actions ask: buttons that say what they do (easy to answer from tests too)."""
from __future__ import annotations

import html

from PySide6.QtWidgets import QMessageBox

from studio.core.project_store import ProjectSession


def ask(parent, title: str, text: str, accept: str, reject: str, informative: str = "",
        icon=QMessageBox.Icon.Question) -> bool:
    """A question with buttons that say what they do; True when ``accept`` is chosen."""
    box = build_question(parent, title, text, accept, reject, informative, icon)
    box.exec()
    return accepted(box)


def accepted(box: QMessageBox) -> bool:
    clicked = box.clickedButton()
    return clicked is not None and box.buttonRole(clicked) == QMessageBox.ButtonRole.AcceptRole


def build_question(parent, title, text, accept, reject, informative="", icon=QMessageBox.Icon.Question) -> QMessageBox:
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.NoButton, parent)
    if informative:
        box.setInformativeText(informative)
    yes = box.addButton(accept, QMessageBox.ButtonRole.AcceptRole)
    no = box.addButton(reject, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(yes)
    box.setEscapeButton(no)
    return box


def recovery_question(parent, session: ProjectSession) -> QMessageBox:
    info = session.recovery
    return build_question(
        parent, "Recover unsaved changes?", f"<b>{html.escape(session.project.name)}</b>: {html.escape(info.describe())}",
        "Restore autosave", "Keep last save",
        "Restore brings back the autosaved changes (save to keep them). Keep last save opens the "
        "project as it was last saved; the autosave is kept in .backups in case you change your mind.")
