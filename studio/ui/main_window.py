"""The main window: one QDockWidget per panel, a View menu, persisted layout, device in the status bar."""
from __future__ import annotations

import importlib
import logging
import time

from PySide6.QtCore import QByteArray, QObject, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QWidget

from studio import __version__
from studio.ui.context import StudioContext
from studio.ui.panels import PANELS, PanelSpec
from studio.ui.panels.empty_state import EmptyState
from studio.ui.shorten import shorten

log = logging.getLogger("studio.ui")
LAYOUT_VERSION = 1  # bump when the dock set changes so old saved layouts are ignored
FIRST_SHARE = 0.9  # first launch: this share of the screen's free area, centred
DEVICE_LABEL_CHARS = 44  # the status bar keeps room for messages; the full name is in the tooltip


class _Discovery(QObject):
    """Imports torch and discovers plugins/devices off the UI thread."""

    done = Signal(dict, list)

    def run(self) -> None:
        from studio.core import devices
        from studio.core.plugins.registry import discover

        plugins = discover()
        try:
            found = devices.detect()
        except Exception as exc:  # noqa: BLE001
            log.warning("accelerator detection failed: %s", exc)
            found = []
        self.done.emit(plugins, found)


class MainWindow(QMainWindow):
    panels_loaded = Signal()
    discovery_finished = Signal()

    def __init__(self, ctx: StudioContext):
        super().__init__()
        self.ctx = ctx
        root = logging.getLogger()
        root.addHandler(ctx.log)  # the Log panel sees warnings and plugin errors
        root.setLevel(min(root.level or logging.INFO, logging.INFO))
        self.setWindowTitle(self._title())
        self.setDockNestingEnabled(True)
        from studio.ui.welcome import WelcomePanel
        self.welcome = WelcomePanel(ctx)  # "Train your own"; its first paint starts the panel loading
        self.setCentralWidget(self.welcome)
        self.docks: dict[str, QDockWidget] = {}
        self.panels: dict[str, QWidget] = {}
        self.first_paint_at: float | None = None
        self._panels_started = False
        self.panels_done = False
        self.discovery_done = False
        self._shown_once = False
        self.welcome.painted.connect(self._on_first_paint)
        self.device_label = QLabel("Detecting accelerators…")
        self.device_label.setToolTip("The device training will use by default")
        self.statusBar().addPermanentWidget(self.device_label)
        ctx.status_message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        ctx.project_changed.connect(lambda: self.setWindowTitle(self._title()))
        self._build_docks()
        self._build_menus()
        from studio.ui.project_actions import install_project_actions
        self.project_actions = install_project_actions(self)  # File > New/Open/Recent/Save, Edit > Undo/Redo
        from studio.ui.restore_drop import install_restore_drop
        self.restore_drop = install_restore_drop(self)  # drop an exported file: restore how it was made
        from studio.ui.share_setting import install_share_setting
        self.share_setting = install_share_setting(self)  # File > Share-safe exports (project setting)
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._first_launch_size()
        self._restore_layout()
        self._thread: QThread | None = None

    def _title(self) -> str:
        proj = self.ctx.project
        return f"{proj.name} — Generative Studio" if proj else f"Generative Studio {__version__}"

    # -- docks ------------------------------------------------------------
    def _build_docks(self) -> None:
        by_area: dict = {}
        for spec in PANELS:
            dock = QDockWidget(spec.title, self)
            dock.setObjectName(f"dock-{spec.key}")
            dock.setWidget(EmptyState(spec.title, spec.empty_state))
            dock.setToolTip(spec.empty_state)
            self.addDockWidget(spec.area, dock)
            self.docks[spec.key] = dock
            by_area.setdefault(spec.area, []).append(dock)
        # Tabs keep a 1366x768 screen usable; each area shows its first panel.
        for docks in by_area.values():
            for other in docks[1:]:
                self.tabifyDockWidget(docks[0], other)
            docks[0].raise_()

    def load_panels(self) -> None:
        """Import and build the panels one per event-loop turn, after the first paint (idempotent)."""
        if self._panels_started:
            return
        self._panels_started = True
        pending = list(PANELS)

        def next_panel():
            if not pending:
                self.panels_done = True
                self._fit_to_screen()  # the panels' minimum sizes may have grown the window past an edge
                self.panels_loaded.emit()
                return
            self._load_panel(pending.pop(0))
            QTimer.singleShot(0, self, next_panel)  # tied to self: stops if the window goes away

        QTimer.singleShot(0, self, next_panel)

    def _load_panel(self, spec: PanelSpec) -> None:
        module_name, cls_name = spec.target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return  # not built yet: the empty state stays
            log.error("panel %s failed to load: %s", spec.title, exc)
            return
        except Exception as exc:  # noqa: BLE001 - a panel bug must not stop the window
            log.error("panel %s failed to load: %s", spec.title, exc)
            return
        try:
            panel = getattr(module, cls_name)(self.ctx)
        except Exception as exc:  # noqa: BLE001
            log.exception("panel %s failed to start: %s", spec.title, exc)
            return
        self.panels[spec.key] = panel
        self.docks[spec.key].setWidget(panel)

    # -- background discovery ----------------------------------------------
    def start_discovery(self) -> None:
        if self._thread is not None:
            return
        self._thread = QThread(self)
        self._worker = _Discovery()
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.done.connect(self._on_discovered)
        self._worker.done.connect(self._thread.quit)
        self._thread.start()

    def _on_discovered(self, plugins: dict, devices: list) -> None:
        for entry in plugins.values():
            if not entry.ok:
                log.warning("plugin %s is broken: %s", entry.id, entry.error)
        if devices:
            self.device_label.setText(shorten(f"Device: {devices[0].label}", DEVICE_LABEL_CHARS))
            self.device_label.setToolTip("Detected: " + "; ".join(d.label for d in devices))
        self.ctx.set_devices(devices)
        self.ctx.set_plugins(plugins)
        self.discovery_done = True
        self.discovery_finished.emit()

    def _on_first_paint(self) -> None:
        self.first_paint_at = time.time()
        self.load_panels()

    # -- menus ------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.close)
        quit_action.setToolTip("Close the studio (the project is saved)")
        prefs = QAction("&Preferences…", self, shortcut=QKeySequence.StandardKey.Preferences,
                        triggered=self.show_preferences)
        prefs.setToolTip("The SoundFont melodies play with")
        self.file_menu.addAction(prefs)
        self.file_menu.addAction(quit_action)
        self.view_menu = bar.addMenu("&View")
        for spec in PANELS:
            act = self.docks[spec.key].toggleViewAction()
            if spec.shortcut:
                act.setShortcut(QKeySequence(spec.shortcut))
            act.setToolTip(f"Show or hide the {spec.title} panel")
            self.view_menu.addAction(act)
        self.view_menu.addSeparator()
        reset = QAction("&Reset layout", self, triggered=self.reset_layout)
        reset.setToolTip("Put every panel back where it started")
        self.view_menu.addAction(reset)
        from studio.ui.theme import install_theme_menu
        self.theme_menu = install_theme_menu(self, self.view_menu)  # Follow system / Light / Dark
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(QAction("&Keyboard shortcuts", self, triggered=self._show_shortcuts))
        help_menu.addAction(QAction("&About", self, triggered=self._about))

    def show_preferences(self):
        from studio.ui.preferences import PreferencesDialog
        dialog = PreferencesDialog(self)
        dialog.open()  # window-modal, returns at once (tests drive it, then close it)
        return dialog

    def _shortcuts_text(self) -> str:
        rows = [f"<tr><td><b>{s.shortcut}</b></td><td>show/hide {s.title}</td></tr>" for s in PANELS if s.shortcut]
        for menu in (self.file_menu,):
            for act in menu.actions():
                if not act.shortcut().isEmpty():
                    rows.append(f"<tr><td><b>{act.shortcut().toString()}</b></td><td>{act.text().replace('&', '')}</td></tr>")
        return "<table>" + "".join(rows) + "</table>"

    def _show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", self._shortcuts_text())

    def _about(self) -> None:
        QMessageBox.about(self, "Generative Studio", f"<b>Generative Studio {__version__}</b><br>"
                          "Train and explore small generative models offline.<br>"
                          "Everything it makes is labelled as AI-generated.")

    # -- window size --------------------------------------------------------------------------
    def _first_launch_size(self) -> None:
        """A share of the screen the window opens on, centred (the saved size, if any, replaces it)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(1280, 720)
            return
        free = screen.availableGeometry()
        w = max(min(int(free.width() * FIRST_SHARE), free.width()), 1)
        h = max(min(int(free.height() * FIRST_SHARE), free.height()), 1)
        self.resize(w, h)
        self.move(free.x() + (free.width() - w) // 2, free.y() + (free.height() - h) // 2)
        # the working panels get the room; the welcome page in the middle keeps the rest (about a fifth)
        left = [d for k, d in self.docks.items() if k in ("datasets", "models")]
        right = [d for k, d in self.docks.items() if k in ("training", "loss", "latent", "melody", "text")]
        if left and right:
            self.resizeDocks([left[0], right[0]], [int(w * 0.27), int(w * 0.5)], Qt.Orientation.Horizontal)

    def _fit_to_screen(self) -> None:
        """A size saved on a bigger screen is shrunk onto this one (never off its edges)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        free = screen.availableGeometry()
        frame = self.frameGeometry()
        if free.contains(frame):
            return
        extra_w = frame.width() - self.width()
        extra_h = frame.height() - self.height()
        w = min(self.width(), free.width() - extra_w)
        h = min(self.height(), free.height() - extra_h)
        self.resize(max(w, 1), max(h, 1))
        x = min(max(frame.x(), free.x()), free.right() + 1 - w - extra_w)
        y = min(max(frame.y(), free.y()), free.bottom() + 1 - h - extra_h)
        self.move(x, y)

    # -- layout persistence -------------------------------------------------
    def reset_layout(self) -> None:
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.show()

    def _restore_layout(self) -> None:
        s = self.ctx.settings
        geom = s.value("window/geometry")
        state = s.value("window/state")
        if isinstance(geom, QByteArray):
            self.restoreGeometry(geom)
            self._fit_to_screen()
        if isinstance(state, QByteArray) and not self.restoreState(state, LAYOUT_VERSION):
            log.info("saved window layout is from another version; using the default")

    def save_layout(self) -> None:
        s = self.ctx.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(LAYOUT_VERSION))
        s.sync()

    # -- drops outside the panels: exported files restore their generation -------------------
    def dragEnterEvent(self, event):  # noqa: N802 - Qt API
        if not self.restore_drop.drag_enter(event):
            super().dragEnterEvent(event)

    def dropEvent(self, event):  # noqa: N802 - Qt API
        if not self.restore_drop.drop(event):
            super().dropEvent(event)

    def showEvent(self, event):  # noqa: N802 - Qt API
        super().showEvent(event)
        if not self._shown_once:  # once laid out, keep the whole window on the screen
            self._shown_once = True
            QTimer.singleShot(0, self, self._fit_to_screen)

    def closeEvent(self, event):  # noqa: N802 - Qt API
        for panel in self.panels.values():
            shutdown = getattr(panel, "shutdown", None)
            if callable(shutdown):
                try:
                    shutdown()
                except Exception as exc:  # noqa: BLE001
                    log.warning("panel shutdown failed: %s", exc)
        self.project_actions.shutdown()  # clean exit: save, remove the autosave and the lock
        self.save_layout()
        logging.getLogger().removeHandler(self.ctx.log)
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait(5000)
        super().closeEvent(event)
