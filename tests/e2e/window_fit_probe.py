"""Run under a real X server (``DISPLAY`` set, ``QT_QPA_PLATFORM=xcb``): open the studio window on the demo
project as a first launch does, raise every dock in turn and report, as JSON on stdout, what does not fit.

Used by tests/e2e/test_window_fits.py (which starts Xvfb at 1366x768); also handy by hand:
``DISPLAY=:99 QT_QPA_PLATFORM=xcb python tests/e2e/window_fit_probe.py``.

A label or button is "cut" when it is visible, holds one line of plain text, and the text's advance in its
own font is wider than the room its widget gives it (contents rect minus margins/indent; a button's
icon and padding are allowed for through its sizeHint).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.cut_text import cut_texts  # noqa: E402 - after the path


def sideways_scrolling(root) -> list[str]:
    """Form scroll areas (QScrollArea) that scroll sideways: their content is wider than the panel."""
    from PySide6.QtWidgets import QScrollArea

    out = []
    for area in root.findChildren(QScrollArea):
        if area.isVisible() and area.horizontalScrollBar().maximum() > 0:
            inner = area.widget()
            out.append(f"{area.objectName() or type(inner).__name__}: content {inner.width() if inner else '?'} px "
                       f"in {area.viewport().width()} px")
    return out


def tab_bars_cut(root) -> list[dict]:
    """Tab bars showing scroll arrows or elided tab titles."""
    from PySide6.QtWidgets import QTabBar

    out = []
    for bar in root.findChildren(QTabBar):
        if not bar.isVisible() or bar.count() < 2:
            continue
        need = sum(bar.tabSizeHint(i).width() for i in range(bar.count()))
        if need > bar.width() + 1:
            out.append({"tabs": [bar.tabText(i) for i in range(bar.count())], "need": need, "room": bar.width()})
    return out


def probe(out_json: Path | None = None, narrow: bool = False) -> dict:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from studio.ui import theme
    from studio.ui.context import StudioContext
    from studio.ui.main_window import MainWindow

    theme.install(app)
    ctx = StudioContext(demo=True)
    win = MainWindow(ctx)
    win.project_actions.open_at_start(None, True)
    win.show()

    def pump(seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            if until is not None and until():
                return
            time.sleep(0.02)

    win.load_panels()
    win.start_discovery()
    pump(240, lambda: win.panels_done and win.discovery_done)
    pump(120, lambda: not any(p.loading() for p in win.panels.values() if callable(getattr(p, "loading", None))))
    pump(2)
    if narrow:  # the narrowest the window goes: every dock at its minimum
        win.resize(win.minimumSizeHint().width(), win.height())
        pump(1)
    screen = win.screen().availableGeometry()
    frame = win.frameGeometry()
    report: dict = {
        "screen": [screen.x(), screen.y(), screen.width(), screen.height()],
        "frame": [frame.x(), frame.y(), frame.width(), frame.height()],
        "minimum": [win.minimumSizeHint().width(), win.minimumSizeHint().height()],
        "window_fits": screen.contains(frame),
        "docks": {}, "cut": {}, "tabs": [], "sideways": {},
    }
    status_cut = cut_texts(win.statusBar())
    if status_cut:
        report["cut"]["status bar"] = status_cut
    report["tabs"] += tab_bars_cut(win)
    for key, dock in win.docks.items():
        dock.show()
        dock.raise_()
        pump(0.6)
        from PySide6.QtCore import QPoint, QRect
        from PySide6.QtWidgets import QWidget
        rect = QRect(dock.mapToGlobal(QPoint(0, 0)), QWidget.size(dock))
        inside = dock.width() > 0 and screen.contains(rect)
        report["docks"][key] = {"size": [dock.width(), dock.height()], "fits": inside,
                                "min": [dock.minimumSizeHint().width(), dock.minimumSizeHint().height()]}
        cut = cut_texts(dock.widget())
        if cut:
            report["cut"][key] = cut
        sideways = sideways_scrolling(dock.widget())
        if sideways:
            report.setdefault("sideways", {})[key] = sideways
        tabs = tab_bars_cut(dock.widget())
        if tabs:
            report["tabs"] += [dict(t, dock=key) for t in tabs]
    win.close()
    pump(0.5)
    if out_json:
        out_json.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    tmp = Path(tempfile.mkdtemp(prefix="studio-fit-"))
    os.environ.setdefault("STUDIO_CONFIG_DIR", str(tmp / "config"))
    os.environ.setdefault("STUDIO_DATA_DIR", str(tmp / "data"))
    print(json.dumps(probe(narrow="--narrow" in sys.argv), indent=1))
