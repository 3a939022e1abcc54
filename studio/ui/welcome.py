"""The central area: "Train your own" in four steps (import, train, explore, export), Lobe-style.

Each step has buttons that bring the relevant dock to the front, so the page
doubles as a map of the window. When the demo project is open a banner says
what already works without training. The panel reports its first paint
(``painted``), which the start-up sequence and benchmark rely on.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (QFrame, QGridLayout, QLabel, QPushButton, QScrollArea, QSizePolicy,
                               QVBoxLayout, QWidget)

from studio.ui.panels import PANELS

#: (number, title, text, dock keys the step's buttons raise)
STEPS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("1", "Import", "Drop a folder of pictures, MIDI/ABC songs or text files on <b>Datasets</b>, or use "
     "its <i>Import</i> button. Every file is checked; the report says what was skipped and why.", ("datasets",)),
    ("2", "Train", "Pick a model in <b>Models</b> (the defaults work) and press <i>Train</i>. Watch samples "
     "improve in <b>Training</b> and the loss fall in <b>Loss plot</b>. Pause or stop any time: a run "
     "resumes from its last checkpoint.", ("models", "training", "loss")),
    ("3", "Explore", "Drag through what an image or melody model learned in <b>Latent grid</b>; generate, "
     "edit and play tunes in <b>Melody</b>; prime and generate in <b>Text</b>.", ("latent", "melody", "text")),
    ("4", "Export", "Save a picture, a grid, a GIF or MP4 walk from the latent grid, melodies as MIDI or WAV, "
     "text as a file. <b>Runs</b> keeps every run, its curves and samples. Everything is labelled as "
     "AI-generated.", ("runs",)),
]
DEMO_TEXT = ("<b>The demo project is open.</b> Four small models, trained by the studio on its own demo "
             "data (shapes, Essen folk songs, Shakespeare's plays), work right now: drag across the "
             "<b>Latent grid</b>, press <i>Generate</i> then <i>Play</i> in <b>Melody</b>, press "
             "<i>Generate</i> in <b>Text</b>.")
NO_DEMO_TEXT = "Just looking? The demo project has small trained models to play with, no training needed."


def _specs() -> dict:
    return {s.key: s for s in PANELS}


class StepCard(QFrame):
    """One numbered step: title, explanation and buttons that raise docks."""

    def __init__(self, number: str, title: str, text: str, keys: tuple[str, ...],
                 show_panel: Callable[[str], None], parent=None):
        super().__init__(parent)
        self.setObjectName(f"welcome-step-{title.lower()}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        lay = QVBoxLayout(self)
        head = QLabel(f"<span style='font-size:20pt; font-weight:600'>{number}</span>"
                      f"&nbsp;&nbsp;<span style='font-size:13pt; font-weight:600'>{title}</span>")
        body = QLabel(text)
        body.setWordWrap(True)
        body.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(head)
        lay.addWidget(body, 1)
        row = QGridLayout()  # two buttons a row: a card stays narrow beside the docks
        specs = _specs()
        self.buttons: dict[str, QPushButton] = {}
        for key in keys:
            spec = specs.get(key)
            if spec is None:
                continue
            btn = QPushButton(spec.title)
            tip = f"Bring the {spec.title} panel to the front"
            if spec.shortcut:
                tip += f" ({spec.shortcut})"
            btn.setToolTip(f"{tip}. {spec.empty_state}")
            btn.setAccessibleName(f"{title}: open {spec.title}")
            btn.clicked.connect(lambda _=False, k=key: show_panel(k))
            row.addWidget(btn, len(self.buttons) // 2, len(self.buttons) % 2)
            self.buttons[key] = btn
        row.setColumnStretch(2, 1)
        lay.addLayout(row)


class WelcomePanel(QWidget):
    """Central welcome page; ``painted`` fires once, on the first paint (start-up timing)."""

    painted = Signal()
    panel_requested = Signal(str)  # dock key, after it was raised
    demo_requested = Signal()

    def __init__(self, ctx, parent=None, docks: dict | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._docks = docks
        self._painted = False
        self.setObjectName("welcome")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        # the page reflows (cards in one column, wrapped text): never a sideways scroll bar
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        page = QWidget()
        scroll.setWidget(page)
        # The scroll area and its (opaque) page cover this widget, so Qt may never paint it: watch them too.
        scroll.viewport().installEventFilter(self)
        page.installEventFilter(self)
        lay = QVBoxLayout(page)
        lay.setContentsMargins(24, 18, 24, 18)
        lay.setSpacing(12)

        title = QLabel("Generative Studio")
        f = QFont(title.font())
        f.setPointSizeF(f.pointSizeF() * 1.8)
        f.setBold(True)
        title.setFont(f)
        sub = QLabel("Train small generative models on your own images, melodies and text, on this computer, "
                     "offline.")
        sub.setWordWrap(True)
        lay.addWidget(title)
        lay.addWidget(sub)

        self.demo_box = QFrame()
        self.demo_box.setObjectName("welcome-demo")
        self.demo_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.demo_box.setAutoFillBackground(True)
        self.demo_box.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        demo_lay = QVBoxLayout(self.demo_box)
        self.demo_label = QLabel()
        self.demo_label.setWordWrap(True)
        demo_lay.addWidget(self.demo_label)
        demo_row = QGridLayout()  # two buttons a row: the page stays narrow beside the docks
        specs = _specs()
        self.demo_buttons: dict[str, QPushButton] = {}
        for i, key in enumerate(("latent", "melody", "text")):
            spec = specs[key]
            btn = QPushButton(f"Try {spec.title}")
            btn.setToolTip(f"Bring the {spec.title} panel with its demo model to the front ({spec.shortcut})")
            btn.clicked.connect(lambda _=False, k=key: self.show_panel(k))
            demo_row.addWidget(btn, i // 2, i % 2)
            self.demo_buttons[key] = btn
        self.open_demo_btn = QPushButton("Open the demo project")
        self.open_demo_btn.setToolTip("Open a project with small trained models for shapes, folk melodies and "
                                      "text (your current project is saved first)")
        self.open_demo_btn.clicked.connect(self.open_demo)
        demo_row.addWidget(self.open_demo_btn, 2, 0, 1, 2)
        demo_row.setColumnStretch(2, 1)
        demo_lay.addLayout(demo_row)
        lay.addWidget(self.demo_box)

        heading = QLabel("<span style='font-size:14pt; font-weight:600'>Train your own</span>")
        lay.addWidget(heading)
        self.grid = QGridLayout()
        self.grid.setSpacing(12)
        self.cards: list[StepCard] = [StepCard(num, name, text, keys, self.show_panel)
                                      for num, name, text, keys in STEPS]
        self.columns = 0
        self._arrange(2)
        lay.addLayout(self.grid)
        tips = QLabel("Panels are docks: drag them anywhere, or show and hide them from <i>View</i> "
                      "(Ctrl+1 … Ctrl+9). <i>Help › Keyboard shortcuts</i> lists the rest.")
        tips.setWordWrap(True)
        lay.addWidget(tips)
        lay.addStretch(1)
        self._scroll = scroll
        ctx.project_changed.connect(self.refresh)
        self.refresh()
        self._arrange(2)

    # -- state ---------------------------------------------------------------
    def is_demo(self) -> bool:
        project = getattr(self.ctx, "project", None)
        if project is not None:
            return "demo" in getattr(project, "extra", {})
        return False

    def refresh(self) -> None:
        demo = self.is_demo()
        self.demo_label.setText(DEMO_TEXT if demo else NO_DEMO_TEXT)
        for btn in self.demo_buttons.values():
            btn.setVisible(demo)
        self.open_demo_btn.setVisible(not demo)
        # Docks around the central area must leave the steps readable (one column, no sideways scrolling).
        widest = max([c.minimumSizeHint().width() for c in self.cards] + [self.demo_box.minimumSizeHint().width()])
        self.setMinimumWidth(widest + 2 * 24 + self._scroll.verticalScrollBar().sizeHint().width() + 12)

    def _arrange(self, columns: int) -> None:
        """Cards in a 2x2 grid, or one column when the central area is narrow (small screens)."""
        if columns == self.columns:
            return
        self.columns = columns
        for card in self.cards:
            self.grid.removeWidget(card)
        for i, card in enumerate(self.cards):
            self.grid.addWidget(card, i // columns, i % columns)
        for c in range(2):
            self.grid.setColumnStretch(c, 1 if c < columns else 0)

    def resizeEvent(self, event):  # noqa: N802 - Qt API
        super().resizeEvent(event)
        card = max(c.minimumSizeHint().width() for c in self.cards)
        margins = 2 * 24 + self.grid.spacing() + self._scroll.verticalScrollBar().sizeHint().width() + 8
        self._arrange(2 if event.size().width() >= 2 * card + margins else 1)

    # -- actions -------------------------------------------------------------
    def docks(self) -> dict:
        if self._docks is not None:
            return self._docks
        return getattr(self.window(), "docks", {}) or {}

    def show_panel(self, key: str) -> bool:
        """Show and raise the dock ``key`` (a tab brought to the front); False when there is none."""
        dock = self.docks().get(key)
        if dock is None:
            return False
        dock.show()
        dock.raise_()
        widget = dock.widget()
        if widget is not None:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)
        self.panel_requested.emit(key)
        return True

    def open_demo(self) -> None:
        self.demo_requested.emit()
        if self.ctx.project_actions is not None:
            self.ctx.project_actions.open_demo()

    def eventFilter(self, obj, event):  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Paint:
            self._mark_painted()
        return super().eventFilter(obj, event)

    def paintEvent(self, event):  # noqa: N802 - Qt API
        super().paintEvent(event)
        self._mark_painted()

    def _mark_painted(self) -> None:
        if not self._painted:
            self._painted = True
            self.painted.emit()
