"""Light/dark theme: follow the system colour scheme, or the user's choice (View › Theme).

The choice ("system" | "light" | "dark") is kept in the studio's settings file (the one
``StudioContext.settings`` uses, so ``STUDIO_CONFIG_DIR`` isolates it). Both themes use the
Fusion style: its standard palette for light, :func:`dark_palette` for dark, so every
platform looks the same and the dark one is complete (disabled text, links, tooltips).

Widgets that paint their own colours call ``follow(self.apply_theme)``: it calls
``apply_theme(dark)`` now and again on every change. Cheap enough for start-up (no torch,
a few ms): ``install`` runs before the window is shown.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QMenu

log = logging.getLogger("studio.ui.theme")

CHOICES = ("system", "light", "dark")
LABELS = {"system": "Follow &system", "light": "&Light", "dark": "&Dark"}
TIPS = {"system": "Use the light or dark setting of your desktop, and switch when it does",
        "light": "Always use the light theme",
        "dark": "Always use the dark theme (easier on the eyes in a dark room)"}
SETTINGS_KEY = "ui/theme"

#: canvas colours for widgets that draw their own (plots, piano roll): (background, foreground)
CANVAS = {False: ("#ffffff", "#282828"), True: ("#1e1f22", "#d0d2d6")}


def settings() -> QSettings:
    """The studio's settings file (same file as ``StudioContext.settings``)."""
    from studio.core import paths

    return QSettings(str(paths.config_dir() / "settings.ini"), QSettings.Format.IniFormat)


def system_is_dark() -> bool:
    """True when the platform reports a dark colour scheme; Unknown counts as light."""
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    """A complete dark palette for Fusion: every role, and readable disabled variants."""
    pal = QPalette()
    G, A, D = QPalette.ColorGroup.All, QPalette.ColorGroup.Active, QPalette.ColorGroup.Disabled
    R = QPalette.ColorRole
    roles = {
        R.Window: "#2b2d31", R.WindowText: "#e6e7e9", R.Base: "#1e1f22", R.AlternateBase: "#26282c",
        R.ToolTipBase: "#3a3d42", R.ToolTipText: "#f2f2f2", R.PlaceholderText: "#8e9297",
        R.Text: "#e6e7e9", R.Button: "#34363b", R.ButtonText: "#e6e7e9", R.BrightText: "#ff6b6b",
        R.Light: "#4a4d53", R.Midlight: "#3e4046", R.Mid: "#5a5d63", R.Dark: "#1a1b1e", R.Shadow: "#0c0c0d",
        R.Highlight: "#3d7bd9", R.HighlightedText: "#ffffff", R.Link: "#6cb4ff", R.LinkVisited: "#b79cff",
        R.Accent: "#3d7bd9",
    }
    for role, colour in roles.items():
        pal.setColor(G, role, QColor(colour))
    # Disabled: dimmer but still legible on the dark window (contrast about 3:1).
    for role, colour in {R.WindowText: "#85888d", R.Text: "#85888d", R.ButtonText: "#85888d",
                         R.Base: "#242529", R.Button: "#2e3034", R.Highlight: "#4a4d53",
                         R.HighlightedText: "#b5b7ba", R.PlaceholderText: "#6b6e73", R.Link: "#5b7fa8"}.items():
        pal.setColor(D, role, QColor(colour))
    pal.setColor(A, R.Highlight, QColor("#3d7bd9"))
    return pal


def readable(colour: str | QColor, dark: bool | None = None) -> QColor:
    """``colour`` (chosen for a light background) made readable on the current background.

    On dark, dark text colours are lifted to a lightness that reads on ``#1e1f22`` keeping their hue.
    """
    c = QColor(colour)
    if not (manager().dark if dark is None else dark):
        return c
    h, s, l, a = c.getHsl()
    return QColor.fromHsl(h, s, max(l, 165), a) if l < 165 else c


class ThemeManager(QObject):
    """The current choice and whether the app is dark; ``theme_changed`` tells self-drawn widgets."""

    theme_changed = Signal(bool)   # dark
    choice_changed = Signal(str)   # "system" | "light" | "dark"

    def __init__(self):
        super().__init__()
        self.choice = load_choice()
        self.dark = False
        self._hooked = False
        self._applied: bool | None = None

    def install(self, app: QApplication | None = None) -> None:
        """Apply the stored choice and start following the system's scheme (idempotent)."""
        self._hook()
        self.apply(app)

    def _hook(self) -> None:
        if not self._hooked:
            QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_system_changed)
            self._hooked = True

    def set_choice(self, choice: str, save: bool = True) -> None:
        if choice not in CHOICES:
            raise ValueError(f"unknown theme {choice!r}: expected one of {', '.join(CHOICES)}")
        self._hook()
        self.choice = choice
        if save:
            s = settings()
            s.setValue(SETTINGS_KEY, choice)
            s.sync()
        self._request_scheme(choice)
        self.apply()
        self.choice_changed.emit(choice)

    def wants_dark(self) -> bool:
        return system_is_dark() if self.choice == "system" else self.choice == "dark"

    def apply(self, app: QApplication | None = None) -> None:
        app = app or QApplication.instance()
        if app is None:
            return
        dark = self.wants_dark()
        if app.style().name().lower() != "fusion":  # re-polishing every widget: only once
            app.setStyle("Fusion")
        app.setPalette(dark_palette() if dark else app.style().standardPalette())
        _repolish_style_sheets(app)
        self.dark = dark
        if self._applied != dark:
            self._applied = dark
            log.info("theme: %s (%s)", "dark" if dark else "light", self.choice)
            self.theme_changed.emit(dark)

    def _on_system_changed(self, *_):
        if self.choice == "system":
            self.apply()

    @staticmethod
    def _request_scheme(choice: str) -> None:
        # Tells the platform too (native dialogs, Windows title bars); Unknown gives it back to the system.
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "setColorScheme"):
            want = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(choice, Qt.ColorScheme.Unknown)
            hints.setColorScheme(want)


def _repolish_style_sheets(app: QApplication) -> None:
    # Style sheets resolve "palette(role)" when they are set: set them again so hints and
    # frames take the new palette's colours instead of keeping the old theme's.
    for w in app.allWidgets():
        sheet = w.styleSheet()
        if "palette(" in sheet:
            w.setStyleSheet("")
            w.setStyleSheet(sheet)


def load_choice() -> str:
    value = settings().value(SETTINGS_KEY, "system")
    if value not in CHOICES:
        log.warning("settings: unknown theme %r, following the system", value)
        return "system"
    return value


_manager: ThemeManager | None = None


def manager() -> ThemeManager:
    global _manager
    if _manager is None:
        _manager = ThemeManager()
    return _manager


def install(app: QApplication | None = None) -> ThemeManager:
    """At start-up, before the window is shown: apply the stored choice and follow the system."""
    m = manager()
    if m.choice != "system":
        m._request_scheme(m.choice)
    m.install(app)
    return m


def is_dark() -> bool:
    return manager().dark


def follow(slot) -> None:
    """Call ``slot(dark)`` now and on every theme change (connect a QObject's bound method)."""
    m = manager()
    m.theme_changed.connect(slot)
    slot(m.dark)


def install_theme_menu(parent, menu: QMenu) -> QMenu:
    """View › Theme: three exclusive checkable actions, kept in step with the current choice."""
    sub = menu.addMenu("&Theme")
    sub.setToolTipsVisible(True)
    sub.menuAction().setToolTip("Light, dark, or follow your desktop's setting")
    group = QActionGroup(parent)
    group.setExclusive(True)
    m = manager()
    actions = {}
    for choice in CHOICES:
        act = QAction(LABELS[choice], parent, checkable=True)
        act.setData(choice)
        act.setToolTip(TIPS[choice])
        act.setChecked(choice == m.choice)
        act.triggered.connect(lambda _=False, c=choice: manager().set_choice(c))
        group.addAction(act)
        sub.addAction(act)
        actions[choice] = act
    sub.theme_actions = actions  # for tests
    sync = _MenuSync(actions, sub)  # a child of the menu: the connection ends with it
    m.choice_changed.connect(sync.sync)
    return sub


class _MenuSync(QObject):
    """Checks the action of the current choice when it changes elsewhere (another window, a test)."""

    def __init__(self, actions: dict, parent: QObject):
        super().__init__(parent)
        self.actions = actions

    def sync(self, choice: str) -> None:
        if choice in self.actions:
            self.actions[choice].setChecked(True)
