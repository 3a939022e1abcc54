"""Start the studio window: paint first, then load panels, then import torch off the UI thread."""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger("studio.ui")


APP_ID = "io.github.generativestudio.GenerativeStudio"  # reverse-DNS: the .desktop file and AppStream id


def app_icon():
    """The window icon: the installed theme icon when there is one, else the SVG inside the package."""
    from PySide6.QtGui import QIcon

    from studio.core import paths

    return QIcon.fromTheme("generative-studio", QIcon(str(paths.resources_dir() / "icons" / "generative-studio.svg")))


def identify(app) -> None:
    """Name, desktop entry and icon, so docks and task bars show the studio rather than "python3"
    (Wayland matches the window to ``<APP_ID>.desktop`` by this name)."""
    app.setApplicationName("Generative Studio")
    app.setOrganizationName("generative-studio")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())


def run_gui(project_dir: str | None = None, demo: bool = False, screenshot: str | None = None,
            report: dict | None = None) -> int:
    """The window; ``report`` (when given) receives the project opened and the log file, for --json."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from studio.core.log_file import log_path
    from studio.ui.context import StudioContext
    from studio.ui.error_dialog import install_gui_excepthook
    from studio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    identify(app)
    if log_path() is not None:  # the real program (not a test): uncaught errors get a dialog
        install_gui_excepthook()
    from studio.ui import theme
    theme.install(app)  # before the first paint: the stored light/dark choice, following the system
    ctx = StudioContext(demo=demo)
    window = MainWindow(ctx)
    # Locks the project, offers crash recovery / a backup in words; never raises.
    window.project_actions.open_at_start(project_dir, demo)

    paint_file = os.environ.get("STUDIO_FIRST_PAINT_FILE")

    def first_paint():
        if paint_file:
            Path(paint_file).write_text(f"{time.time():.6f}\n{int('torch' in sys.modules)}\n")
        window.start_discovery()

    window.welcome.painted.connect(first_paint)
    state = {"panels": False, "discovery": False}

    def maybe_shoot():
        if screenshot and all(state.values()):
            QTimer.singleShot(400, when_settled)

    waited = [0]

    def when_settled():
        # Panels opening a model (the demo's runs) report loading(); wait for them, up to 60 s.
        busy = [k for k, p in window.panels.items() if callable(getattr(p, "loading", None)) and p.loading()]
        if busy and waited[0] < 600:
            waited[0] += 1
            QTimer.singleShot(100, when_settled)
            return
        QTimer.singleShot(300, take)

    def take():
        app.processEvents()
        ok = window.grab().save(screenshot)
        if not ok:
            print(f"studio gui: could not write screenshot {screenshot}", file=sys.stderr)
        window.close()
        app.exit(0 if ok else 1)

    def mark(key):
        state[key] = True
        maybe_shoot()

    window.panels_loaded.connect(lambda: mark("panels"))
    window.discovery_finished.connect(lambda: mark("discovery"))
    if screenshot:
        QTimer.singleShot(120_000, lambda: (print("studio gui: timed out before the screenshot", file=sys.stderr), app.exit(1)))
    window.show()
    code = app.exec()
    if report is not None:
        folder = ctx.project_folder()
        report.update(project=str(folder) if folder else None, log_file=str(log_path()) if log_path() else None)
    return code
