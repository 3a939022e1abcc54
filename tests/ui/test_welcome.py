"""The welcome page: a user clicks through import -> train -> explore -> export and each dock comes forward."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QScrollArea

from studio.core.project import Project
from studio.ui.welcome import STEPS, WelcomePanel
from tests.ui.screens import save_widget


def _window(make_studio_window, project=None):
    return make_studio_window(project=project, load_panels=False, discover=False)


def test_is_the_central_area_and_reports_first_paint(make_studio_window, qtbot):
    win = _window(make_studio_window)
    assert isinstance(win.welcome, WelcomePanel)
    assert win.centralWidget() is win.welcome
    qtbot.waitUntil(lambda: win.first_paint_at is not None, timeout=10_000)


def test_step_buttons_raise_their_docks(make_studio_window, qtbot):
    win = _window(make_studio_window)
    page = win.welcome
    assert [c.objectName() for c in page.cards] == [f"welcome-step-{s[1].lower()}" for s in STEPS]
    keys = [k for card in page.cards for k in card.buttons]
    assert {"datasets", "models", "training", "latent", "melody", "text", "runs"} <= set(keys)
    for card in page.cards:
        for key, btn in card.buttons.items():
            win.docks[key].hide()
            with qtbot.waitSignal(page.panel_requested, timeout=2000) as sig:
                qtbot.mouseClick(btn, Qt.MouseButton.LeftButton)
            assert sig.args == [key]
            dock = win.docks[key]
            assert dock.isVisible(), f"{key} dock stayed hidden"
            qtbot.waitUntil(lambda d=dock: not d.visibleRegion().isEmpty(), timeout=2000)
    # tabified docks: raising one hides its siblings' content, so the last one clicked is in front
    assert not win.docks["runs"].visibleRegion().isEmpty()


def test_demo_banner_follows_the_project(make_studio_window, qtbot, tmp_path):
    win = _window(make_studio_window)
    page = win.welcome
    assert page.open_demo_btn.isVisible() and not page.demo_buttons["latent"].isVisible()
    demo = Project.create(tmp_path / "demo", "Demo project")
    demo.extra["demo"] = {"runs": [], "datasets": {}}
    win.ctx.set_project(demo)
    assert page.is_demo()
    assert not page.open_demo_btn.isVisible()
    assert all(b.isVisible() for b in page.demo_buttons.values())
    qtbot.mouseClick(page.demo_buttons["text"], Qt.MouseButton.LeftButton)
    assert not win.docks["text"].visibleRegion().isEmpty()
    win.ctx.set_project(Project.create(tmp_path / "mine", "Mine"))
    assert page.open_demo_btn.isVisible()


def test_open_demo_button_asks_the_project_actions(make_studio_window, qtbot):
    win = _window(make_studio_window)
    calls = []
    win.ctx.project_actions.open_demo = lambda: calls.append(1) or True
    with qtbot.waitSignal(win.welcome.demo_requested, timeout=2000):
        qtbot.mouseClick(win.welcome.open_demo_btn, Qt.MouseButton.LeftButton)
    assert calls == [1]


def test_every_control_has_a_tooltip_and_small_screens_fit(qtbot):
    from studio.ui.context import StudioContext

    page = WelcomePanel(StudioContext(), docks={})
    qtbot.addWidget(page)
    page.resize(380, 420)  # a small central area on a 1366x768 screen with docks around it
    page.show()
    qtbot.waitExposed(page)
    buttons = page.findChildren(QPushButton)
    assert buttons and all(b.toolTip() for b in buttons), [b.text() for b in buttons if not b.toolTip()]
    assert not page.show_panel("latent")  # no window around it: nothing to raise, no crash
    qtbot.waitUntil(lambda: page.columns == 1, timeout=2000)  # narrow: the steps stack
    scroll = page.findChild(QScrollArea)
    assert not scroll.horizontalScrollBar().isVisible(), "text would be cut off on the right"
    page.resize(1100, 700)
    qtbot.waitUntil(lambda: page.columns == 2, timeout=2000)


def test_screenshot(make_studio_window, qtbot, tmp_path):
    win = _window(make_studio_window)
    win.reset_layout()  # not a layout an earlier test saved
    win.resize(1366, 768)
    qtbot.wait(50)
    save_widget(win.welcome, "welcome", min_colours=12)
    demo = Project.create(tmp_path / "demo", "Demo project")
    demo.extra["demo"] = {"runs": [], "datasets": {}}
    win.ctx.set_project(demo)
    qtbot.wait(50)
    save_widget(win.welcome, "welcome-demo", min_colours=12)
    scroll = win.welcome.findChild(QScrollArea)
    assert not scroll.horizontalScrollBar().isVisible(), \
        f"text would be cut off on the right ({win.welcome.width()} px wide, minimum {win.welcome.minimumWidth()})"
