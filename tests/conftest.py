"""Shared test set-up: headless Qt, isolated settings, a null sound card, and window fixtures."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

# Before Qt or sounddevice are imported anywhere.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_TMP = Path(tempfile.mkdtemp(prefix="studio-tests-"))
os.environ["STUDIO_CONFIG_DIR"] = str(_TMP / "config")
os.environ["STUDIO_DATA_DIR"] = str(_TMP / "data")
_alsa = _TMP / "asound-null.conf"
_alsa.write_text("pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
if Path("/usr/share/alsa/alsa.conf").exists():
    os.environ["ALSA_CONFIG_PATH"] = f"/usr/share/alsa/alsa.conf:{_alsa}"

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def make_studio_window(qtbot, tmp_path):
    """Build a studio main window (napari's make_napari_viewer idea); on teardown check nothing leaked."""
    from PySide6.QtWidgets import QApplication

    from studio.ui.context import StudioContext
    from studio.ui.main_window import MainWindow

    made = []
    before = {id(w) for w in QApplication.topLevelWidgets()}

    def factory(project=None, load_panels=True, discover=True):
        ctx = StudioContext(project=project)
        win = MainWindow(ctx)
        qtbot.addWidget(win)
        made.append(win)
        win.show()
        qtbot.waitExposed(win)
        if load_panels:
            win.load_panels()
            qtbot.waitUntil(lambda: win.panels_done, timeout=60_000)
        if discover:
            win.start_discovery()
            qtbot.waitUntil(lambda: win.discovery_done, timeout=120_000)
        return win

    yield factory
    for win in made:
        win.close()
    QApplication.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets()
              if id(w) not in before and w.isVisible() and w.objectName() != "" and not w.isHidden()]
    assert not leaked, f"windows left open after the test: {leaked}"
