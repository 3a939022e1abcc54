"""The Models panel's settings column: the chosen model's own form, the main engine settings and the
"More engine settings" box, each a ``ConfigForm`` generated from a Config's ``param()`` fields.

Rebuilt whenever the model changes (``show_plugin``); ``changed_values`` is what ``--set`` receives.
"""
from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QVBoxLayout, QWidget

from studio.core.plugins.api import config_params
from studio.core.training.settings import EngineSettings
from studio.ui.config_form import ConfigForm
from studio.ui.panels.train_choices import HIDDEN_ENGINE_KEYS, MAIN_ENGINE_KEYS


class ModelSettings(QWidget):
    """Three group boxes: Model settings, Training, More engine settings (collapsed until ticked)."""

    def __init__(self, on_resize=None, parent=None):
        super().__init__(parent)
        self._on_resize = on_resize or (lambda: None)   # the panel re-fits its width when a form appears
        self.plugin_form: ConfigForm | None = None
        self.engine_form: ConfigForm | None = None
        self.more_form: ConfigForm | None = None
        self.plugin_box = QGroupBox("Model settings")
        self.plugin_box.setToolTip("The chosen model's own hyperparameters; hover a setting for help")
        self.engine_box = QGroupBox("Training")
        self.engine_box.setToolTip("How the engine trains: length, learning rate, batch, optimizer, checkpoints")
        self.more_box = QGroupBox("More engine settings")
        self.more_box.setCheckable(True)
        self.more_box.setChecked(False)
        self.more_box.setToolTip("Schedules, warm-up, clipping, validation, early stopping, precision, seed…")
        self.more_box.toggled.connect(self._show_more)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for box in (self.plugin_box, self.engine_box, self.more_box):
            QVBoxLayout(box)
            lay.addWidget(box)

    def forms(self) -> list[ConfigForm]:
        return [f for f in (self.plugin_form, self.engine_form, self.more_form) if f is not None]

    def show_plugin(self, plugin) -> None:
        """The forms of ``plugin`` (None: empty boxes). The engine forms show the model's preferred lr,
        batch... (``engine_defaults``) as their defaults."""
        for form in self.forms():
            form.setParent(None)
            form.deleteLater()
        self.plugin_form = self.engine_form = self.more_form = None
        if plugin is None:
            return
        self.plugin_form = ConfigForm(config_params(plugin.Config))
        specs = [s for s in config_params(EngineSettings) if s.name not in HIDDEN_ENGINE_KEYS]
        defaults = dict(plugin.engine_defaults or {})
        main = sorted((s for s in specs if s.name in MAIN_ENGINE_KEYS), key=lambda s: MAIN_ENGINE_KEYS.index(s.name))
        self.engine_form = ConfigForm(main, defaults)
        self.more_form = ConfigForm([s for s in specs if s.name not in MAIN_ENGINE_KEYS], defaults)
        self.more_form.setVisible(self.more_box.isChecked())
        for box, form in ((self.plugin_box, self.plugin_form), (self.engine_box, self.engine_form),
                          (self.more_box, self.more_form)):
            box.layout().addWidget(form)
        self.plugin_form.show()  # added to a visible panel: show now, not at the next event-loop turn
        self.engine_form.show()

    def _show_more(self, on: bool) -> None:
        if self.more_form is not None:
            self.more_form.setVisible(on)
            self._on_resize()

    def reset(self) -> None:
        for form in self.forms():
            form.reset()

    def changed_values(self) -> dict:
        """What ``--set`` receives: only settings that differ from their defaults."""
        out: dict = {}
        for form in (self.engine_form, self.more_form, self.plugin_form):
            if form is not None:
                out.update(form.changed_values())
        return out
