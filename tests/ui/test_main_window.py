"""The main window: a dock per panel, View menu, persisted layout, device in the status bar."""
from PySide6.QtCore import Qt

from studio.ui.panels import PANELS
from tests.ui.screens import save_widget


def test_window_has_a_dock_per_panel_with_view_actions(make_studio_window):
    win = make_studio_window()
    assert set(win.docks) == {p.key for p in PANELS}
    titles = [a.text() for a in win.view_menu.actions()]
    for spec in PANELS:
        assert spec.title in titles
    assert "Device:" in win.device_label.text()
    save_widget(win, "main-window")


def test_view_menu_hides_and_reset_layout_restores(make_studio_window, qtbot):
    win = make_studio_window(discover=False)
    dock = win.docks["log"]
    dock.toggleViewAction().trigger()
    assert dock.isHidden()
    win.reset_layout()
    assert not dock.isHidden()


def test_layout_persists_across_launches(make_studio_window, qtbot):
    win = make_studio_window(load_panels=False, discover=False)
    win.removeDockWidget(win.docks["runs"])
    win.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, win.docks["runs"])
    win.docks["runs"].setFloating(False)
    win.docks["text"].hide()
    win.close()
    again = make_studio_window(load_panels=False, discover=False)
    assert again.dockWidgetArea(again.docks["runs"]) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert again.docks["text"].isHidden()
    again.reset_layout()


def test_broken_plugin_is_logged_and_window_still_opens(make_studio_window, tmp_path, monkeypatch):
    from studio.core.plugins import registry
    from tests.fixtures.external_plugin import RAISING_PLUGIN, write_distribution

    monkeypatch.syspath_prepend(str(write_distribution(tmp_path / "site", "studio-bad", {"exploding": RAISING_PLUGIN})))
    registry.discover(refresh=True)
    try:
        win = make_studio_window()
        assert win.isVisible()
        assert any("exploding" in msg and "deliberately broken" in msg for _lvl, msg in win.ctx.log.history)
        assert not win.ctx.plugins["exploding"].ok
    finally:
        registry.discover(refresh=True)


def test_every_dock_shows_its_panel_once_loaded(make_studio_window):
    from studio.ui.panels.empty_state import EmptyState

    win = make_studio_window(discover=False)
    placeholders = [key for key, dock in win.docks.items() if isinstance(dock.widget(), EmptyState)]
    assert not placeholders, f"panels that failed to load: {placeholders}"
    assert set(win.panels) == set(win.docks)


_FIRST_LAUNCH_SCRIPT = r"""
import json, sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from studio.ui.context import StudioContext
from studio.ui.main_window import FIRST_SHARE, MainWindow

def window():
    win = MainWindow(StudioContext(project=None))
    win.show()
    app.processEvents()
    return win

win = window()
free = win.screen().availableGeometry()
first = {"size": [win.width(), win.height()], "free": [free.width(), free.height()],
         "hint": [win.minimumSizeHint().width(), win.minimumSizeHint().height()],
         "inside": free.contains(win.frameGeometry()),
         "centre_off": [abs(win.geometry().center().x() - free.center().x()),
                        abs(win.geometry().center().y() - free.center().y())], "share": FIRST_SHARE}
win.resize(free.width() * 3 // 4, free.height() * 3 // 4)
app.processEvents()
chosen = [win.width(), win.height()]
win.close()
again = window()
print(json.dumps({"first": first, "chosen": chosen, "restored": [again.width(), again.height()]}))
again.close()
"""


def test_first_launch_takes_a_share_of_the_screen_then_the_users_size_is_kept(tmp_path):
    """In a fresh process (Qt's dock layout keeps minimums of panels other tests loaded)."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", STUDIO_CONFIG_DIR=str(tmp_path / "config"),
               STUDIO_DATA_DIR=str(tmp_path / "data"))
    res = subprocess.run([sys.executable, "-c", _FIRST_LAUNCH_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    first, share = out["first"], out["first"]["share"]
    assert first["inside"]
    want = [max(int(f * share), h) for f, h in zip(first["free"], first["hint"])]
    assert first["size"] == want
    assert max(first["centre_off"]) <= 2  # centred, not in a corner
    assert out["restored"] == out["chosen"]  # the user's size, from the studio's settings (STUDIO_CONFIG_DIR)
