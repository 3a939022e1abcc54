"""Start the studio window: paint first, then load panels, then import torch off the UI thread."""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger("studio.ui")


def run_gui(project_dir: str | None = None, demo: bool = False, screenshot: str | None = None) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from studio.ui.context import StudioContext
    from studio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Generative Studio")
    app.setOrganizationName("generative-studio")
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
    return app.exec()
