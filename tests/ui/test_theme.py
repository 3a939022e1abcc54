"""Light/dark theme: View › Theme, the system's colour scheme, persistence, and self-drawn panels restyling live."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from studio.ui import theme
from tests.ui.screens import SCREENS, distinct_colours


@pytest.fixture
def themed(qapp, monkeypatch, tmp_path):
    """A fresh theme manager with its own settings file; the app's palette and scheme restored after."""
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    saved = QPalette(qapp.palette())
    theme._manager = None
    yield theme
    m = theme._manager
    if m is not None:
        if m._hooked:
            QGuiApplication.styleHints().colorSchemeChanged.disconnect(m._on_system_changed)
        m.deleteLater()
    theme._manager = None
    QGuiApplication.styleHints().setColorScheme(Qt.ColorScheme.Unknown)
    qapp.setPalette(saved)


def window_lightness() -> int:
    return QApplication.palette().color(QPalette.ColorRole.Window).lightness()


def mean_brightness(path) -> float:
    from PIL import Image, ImageStat

    with Image.open(path) as im:
        return ImageStat.Stat(im.convert("L")).mean[0]


@pytest.fixture
def loss_panel(qtbot):
    from studio.ui.context import StudioContext
    from studio.ui.panels.loss_plot import LossPlotPanel

    w = LossPlotPanel(StudioContext())
    qtbot.addWidget(w)
    w.resize(700, 380)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def test_dark_then_light_restyles_palette_and_loss_plot(themed, loss_panel, qtbot):
    m = themed.manager()
    with qtbot.waitSignal(m.theme_changed, timeout=1000) as sig:
        m.set_choice("dark")
    assert sig.args == [True] and themed.is_dark()
    assert QApplication.style().name().lower() == "fusion"
    pal = QApplication.palette()
    assert window_lightness() < 80
    assert pal.color(QPalette.ColorRole.WindowText).lightness() > 200
    # disabled text and tooltips stay readable on the dark window
    disabled = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText).lightness()
    assert 40 < disabled - window_lightness() < pal.color(QPalette.ColorRole.WindowText).lightness()
    assert pal.color(QPalette.ColorRole.ToolTipText).lightness() - pal.color(QPalette.ColorRole.ToolTipBase).lightness() > 120
    assert pal.color(QPalette.ColorRole.Link).lightness() > 150
    plot = loss_panel.plot
    assert plot.backgroundBrush().color().lightness() < 60
    assert plot.getAxis("left").textPen().color().lightness() > 180
    assert loss_panel.legend.opts["labelTextColor"].lightness() > 180
    assert loss_panel.empty.color.lightness() > 120  # the empty-state hint reads on the dark plot
    img = plot.grab().toImage()
    corner = img.pixelColor(img.width() - 5, 5)
    assert corner.lightness() < 60, "the plot's background is still light"

    m.set_choice("light")
    assert not themed.is_dark()
    assert window_lightness() > 200
    assert plot.backgroundBrush().color().lightness() == 255
    assert plot.getAxis("left").textPen().color().lightness() < 80


def test_system_choice_follows_the_platform_scheme(themed, loss_panel, qtbot, monkeypatch):
    if QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Unknown:
        assert not themed.system_is_dark()  # an unknown scheme counts as light
    scheme = {"dark": False}
    monkeypatch.setattr(theme, "system_is_dark", lambda: scheme["dark"])
    m = themed.install()
    assert m.choice == "system" and not m.dark
    scheme["dark"] = True
    with qtbot.waitSignal(m.theme_changed, timeout=1000) as sig:
        QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert sig.args == [True]
    assert window_lightness() < 80
    assert loss_panel.plot.backgroundBrush().color().lightness() < 60
    scheme["dark"] = False
    QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert not m.dark and window_lightness() > 200
    # an explicit choice ignores the desktop
    m.set_choice("light")
    scheme["dark"] = True
    QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert not m.dark and window_lightness() > 200


def test_choice_persists_in_the_settings_file(themed, tmp_path):
    m = themed.manager()
    assert m.choice == "system"  # nothing stored yet
    m.set_choice("dark")
    stored = QSettings(str(tmp_path / "config" / "settings.ini"), QSettings.Format.IniFormat)
    assert stored.value(themed.SETTINGS_KEY) == "dark"
    themed._manager = None  # the next launch
    m.deleteLater()
    again = themed.install()
    assert again.choice == "dark" and again.dark and window_lightness() < 80
    with pytest.raises(ValueError, match="unknown theme 'blue'"):
        again.set_choice("blue")
    stored.setValue(themed.SETTINGS_KEY, "purple")
    stored.sync()
    assert themed.load_choice() == "system"  # a damaged value falls back, with a warning


def test_view_menu_has_three_exclusive_theme_actions(themed, make_studio_window):
    win = make_studio_window(load_panels=False, discover=False)
    assert win.theme_menu.menuAction() in win.view_menu.actions()
    acts = win.theme_menu.actions()
    assert [a.text().replace("&", "") for a in acts] == ["Follow system", "Light", "Dark"]
    assert all(a.isCheckable() and a.toolTip() for a in acts)
    assert [a.isChecked() for a in acts] == [True, False, False]
    acts[2].trigger()
    assert [a.isChecked() for a in acts] == [False, False, True]
    assert themed.is_dark() and window_lightness() < 80
    themed.manager().set_choice("light")  # chosen elsewhere: the menu follows
    assert [a.isChecked() for a in acts] == [False, True, False]


def test_self_drawn_widgets_restyle_and_a_deleted_one_is_forgotten(themed, qtbot):
    from shiboken6 import delete

    from studio.ui.panels.piano_roll import PianoRoll

    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(300, 200)

    def bg_lightness():
        img = roll.viewport().grab().toImage()
        return img.pixelColor(img.width() - 3, img.height() - 3).lightness()

    assert bg_lightness() > 230
    themed.manager().set_choice("dark")
    assert bg_lightness() < 60
    gone = PianoRoll()
    delete(gone)  # its connection must go with it: no call into a deleted object
    themed.manager().set_choice("light")
    assert bg_lightness() > 230
    assert themed.readable("#1f618d", dark=True).lightness() >= 165  # dark blue text lifted on dark
    assert themed.readable("#1f618d", dark=False).name() == "#1f618d"


def test_dark_window_screenshot_is_dark_and_not_blank(themed, make_studio_window, qtbot):
    win = make_studio_window(discover=False)
    SCREENS.mkdir(parents=True, exist_ok=True)
    light, dark = SCREENS / "theme_light.png", SCREENS / "theme_dark.png"
    assert win.grab().save(str(light))
    themed.manager().set_choice("dark")
    qtbot.wait(50)
    assert win.grab().save(str(dark))
    assert distinct_colours(dark) > 30, f"{dark} looks blank"
    assert mean_brightness(dark) < mean_brightness(light) - 60, (mean_brightness(dark), mean_brightness(light))
    # the melody panel's piano roll went dark too (no white box left)
    roll = win.panels["melody"].roll
    img = roll.viewport().grab().toImage()
    assert img.pixelColor(img.width() - 3, img.height() - 3).lightness() < 60


def test_runs_status_colours_follow_the_theme(themed, qtbot, tmp_path):
    from studio.ui.context import StudioContext
    from studio.ui.panels.runs import RunsPanel
    from tests.ui.train_helpers import write_fake_run

    panel = RunsPanel(StudioContext())
    qtbot.addWidget(panel)
    assert panel.attach(write_fake_run(tmp_path / "runs" / "r1", "created"))

    def status_lightness():
        return panel.table.item(0, 2).foreground().color().lightness()

    assert status_lightness() < 110  # grey text on a light table
    themed.manager().set_choice("dark")
    assert status_lightness() >= 165  # lifted: still grey, readable on the dark table
    themed.manager().set_choice("light")
    assert status_lightness() < 110
    panel.shutdown()


def test_datasets_preview_pane_follows_the_palette(themed, qtbot, tmp_path, monkeypatch):
    """The preview tab pane used to be Fusion's Button-derived mid grey on the dark window."""
    import studio.core.datasets.demo as demo
    from studio.core.project import Project
    from studio.ui.context import StudioContext
    from studio.ui.panels.datasets import DatasetsPanel
    from tests.ui.screens import save_widget

    panel = DatasetsPanel(StudioContext(project=Project.create(tmp_path / "proj", "Theme")))
    qtbot.addWidget(panel)
    panel.resize(700, 720)
    panel.show()
    qtbot.waitExposed(panel)

    def pane_lightness() -> tuple[int, int]:
        """(empty-page middle or a corner beside the pictures, the palette's Window) lightness."""
        qtbot.wait(20)  # the new palette reaches the widgets through the event loop
        img = panel.tabs.grab().toImage()
        return img.pixelColor(img.width() - 8, img.height() - 8).lightness(), window_lightness()

    themed.manager().set_choice("dark")
    pane, window = pane_lightness()
    assert pane < 60 and abs(pane - window) < 12, (pane, window)  # the empty preview page
    real = demo.import_demo
    monkeypatch.setattr(demo, "import_demo", lambda m, out, **kw: real(m, out, n=12, **kw))
    panel.size.setValue(32)
    with qtbot.waitSignal(panel.import_ended, timeout=120_000):
        panel.import_demo("image")
    assert panel.tabs.currentWidget() is panel.preview and panel.preview.picture.pixmap().width() > 100
    shot = save_widget(panel, "theme_dark_datasets", min_colours=30)
    pane, window = pane_lightness()
    assert pane < 60 and abs(pane - window) < 12, (pane, window, shot)  # beside the thumbnails too
    themed.manager().set_choice("light")
    pane, window = pane_lightness()
    assert pane > 200 and abs(pane - window) < 12, (pane, window)
    save_widget(panel, "theme_light_datasets", min_colours=30)
    panel.shutdown()


def test_dataset_thumbnails_and_melody_strips_are_drawn_in_the_theme(themed, qtbot, tmp_path, monkeypatch):
    """The thumbnail grid used to be filled with a fixed #2b2b2b: a dark block in the light theme."""
    import numpy as np

    import studio.core.datasets.demo as demo
    from studio.core.project import Project
    from studio.ui.context import StudioContext
    from studio.ui.panels.dataset_preview import piano_roll_strips
    from studio.ui.panels.datasets import DatasetsPanel
    from tests.ui.screens import save_widget

    themed.manager().set_choice("light")
    panel = DatasetsPanel(StudioContext(project=Project.create(tmp_path / "proj", "Thumbs")))
    qtbot.addWidget(panel)
    panel.resize(700, 720)
    panel.show()
    qtbot.waitExposed(panel)
    real = demo.import_demo
    monkeypatch.setattr(demo, "import_demo", lambda m, out, **kw: real(m, out, n=8, **kw))
    panel.size.setValue(32)
    with qtbot.waitSignal(panel.import_ended, timeout=120_000):
        panel.import_demo("image")
    assert panel.tabs.currentWidget() is panel.preview

    def grid_background() -> tuple[int, int]:
        """(the grid's margin and the free cells of its last row, the label text) lightness."""
        img = panel.preview.picture.pixmap().toImage()
        assert img.width() > 300
        margin = img.pixelColor(1, 1).lightness()
        assert img.pixelColor(img.width() - 4, img.height() - 4).lightness() == margin  # 8 of 12 cells: empty
        return margin, window_lightness()

    bg, window = grid_background()
    assert bg > 200 and abs(bg - window) < 3, (bg, window)
    save_widget(panel, "theme_light_dataset_thumbnails", min_colours=30)
    themed.manager().set_choice("dark")  # redrawn for the new palette, without reselecting
    bg, window = grid_background()
    assert bg < 60 and abs(bg - window) < 3, (bg, window)
    qtbot.wait(50)  # the widgets get the new palette through the event loop
    save_widget(panel, "theme_dark_dataset_thumbnails", min_colours=30)
    themed.manager().set_choice("light")
    assert grid_background()[0] > 200
    panel.shutdown()

    phrases = np.array([[62, 1, 64, 1, 65, 0, 67, 1] * 4], dtype=np.int64)  # notes, holds, a rest
    for dark in (False, True):
        themed.manager().set_choice("dark" if dark else "light")
        img = piano_roll_strips(phrases, 36)
        corner = img.pixelColor(img.width() - 1, img.height() - 1).lightness()
        assert (corner < 60) if dark else (corner > 200), (dark, corner)
