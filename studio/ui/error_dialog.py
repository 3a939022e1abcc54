"""The window's last-resort error hook: an error nobody caught is logged in full and shown in a dialog
that says where the log file is (under pythonw on Windows there is no console where it could go).

One dialog at a time (a failing paint would otherwise stack hundreds); further errors while it is open
are only logged. With no screen to show it on (offscreen screenshots, tests) the user gets the CLI's
one line on stderr instead.
"""
from __future__ import annotations

import sys
import traceback

from studio.core.log_file import log_path, log_uncaught, one_line, where_to_look

_state = {"open": False}


def can_show() -> bool:
    """A screen to show a dialog on (not the offscreen platform screenshots and tests use)."""
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() is not None and QGuiApplication.platformName() not in ("offscreen", "minimal")


def show_error(exc: BaseException, tb_text: str) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QApplication, QMessageBox

    if not can_show():
        if sys.stderr is not None:
            print(f"studio gui: internal error ({one_line(exc)}); {where_to_look()}", file=sys.stderr)
        return
    if _state["open"]:
        return
    _state["open"] = True
    try:
        box = QMessageBox(QApplication.activeWindow())
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("Generative Studio: something went wrong")
        box.setText(f"Something went wrong, and the studio carries on.\n\n{one_line(exc)}")
        path = log_path()
        box.setInformativeText(f"The details are in the log file:\n{path}" if path
                               else "No log file could be written; the details are below.")
        box.setDetailedText(tb_text)
        open_folder = box.addButton("Open log folder", QMessageBox.ButtonRole.ActionRole) if path else None
        box.addButton(QMessageBox.StandardButton.Close)
        box.exec()
        if open_folder is not None and box.clickedButton() is open_folder:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))
    finally:
        _state["open"] = False


def install_gui_excepthook() -> None:
    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log_uncaught(exc_type, exc, tb, "the window")
        try:
            show_error(exc, "".join(traceback.format_exception(exc_type, exc, tb)))
        except Exception:  # noqa: BLE001 - the hook itself must never raise
            pass

    sys.excepthook = hook
