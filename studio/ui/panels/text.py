"""Text panel: write with a trained text model (char-rnn, tiny-gpt or any text plugin), streaming as it writes.

A prime, the sampling controls (length, temperature, top-k, top-p, repetition penalty, seed) with
presets, Generate/Stop, several samples side by side (seeds seed, seed+1, ...), Copy and Save per
sample, and "how surprised is the model by this text?" (perplexity of a pasted text).
The model comes from the run selected anywhere in the studio (``ctx.run_selected``); the panel uses it
through a :class:`studio.core.session.TokenStream`, offering what the plugin declares ("continue",
and "score" for the perplexity tab). The controls are built in ``text_controls``; the settings wrap
into as many columns as the dock's width allows, and the samples stack when it is narrow.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QInputDialog, QLabel, QMessageBox, QTabWidget, QVBoxLayout

from studio.core.session import NotATextModel, TokenStream
from studio.ui.panels.generation_panel import GenerationPanel
from studio.ui.panels.text_controls import (MAX_SAMPLES, SAVE_PLACEMENTS, build_generate_row, build_presets,
                                            build_prime, build_sampling)
from studio.ui.panels.text_presets import CONTROL_KEYS, PresetStore
from studio.ui.panels.text_recipe import sample_recipe
from studio.ui.panels.text_sample_view import PAINT_MS, SampleColumns  # noqa: F401 - PAINT_MS: the views' clock
from studio.ui.panels.text_score_tab import SCORE_TIP, ScoreTab, describe_score
from studio.ui.panels.text_worker import TextJobs, TextRequest
from studio.ui.restore_request import RestoreRequest

log = logging.getLogger(__name__)
NO_MODEL = ("<b>No text model yet.</b> Train char-rnn or tiny-gpt on a text dataset, then select the run "
            "in <i>Runs</i> or <i>Training</i>: it opens here.")


class TextPanel(GenerationPanel):
    modality = "text"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, TextJobs(), parent)
        self.stream: TokenStream | None = None  # the model through the plugin API (None: no model)
        self.plugin = None
        self.run_dir = ""
        self.last_request: TextRequest | None = None
        self.presets = PresetStore(ctx.settings)
        self._pending_progress: tuple[int, int] | None = None
        self._build()
        self.jobs.written.connect(self._on_written)
        self.jobs.finished.connect(self._on_finished)
        self.jobs.failed.connect(self._on_failed)
        self.jobs.scored.connect(lambda r: self._set_score(describe_score(r)))
        self.jobs.score_failed.connect(lambda msg: self._set_score(f"<span style='color:#c0392b'>{msg}</span>"))
        self.jobs.model_loaded.connect(self._on_model_loaded)
        self.jobs.model_failed.connect(self._on_model_failed)
        self.samples.valueChanged.connect(self._show_columns)
        self._start_following()
        self._refresh_presets()
        self._show_columns()
        self._sync()

    def _build(self) -> None:
        self.model_label = QLabel(NO_MODEL)
        self.model_label.setWordWrap(True)
        self.model_label.setToolTip("The text model generating here; select a text run elsewhere to change it")
        self.seed.setToolTip("Random seed: the same seed and settings give the same text")
        self.columns = SampleColumns(MAX_SAMPLES)
        self.views = self.columns.views
        self.columns.save_requested.connect(self._ask_save)
        self.columns.flushed.connect(self._show_progress)
        self.score_tab = ScoreTab()
        self.score_text, self.score_button, self.score_result = (self.score_tab.text, self.score_tab.button,
                                                                 self.score_tab.result)
        self.score_button.clicked.connect(self.score)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)  # no Fusion pane: its Button-made grey stands out in the dark theme
        self.tabs.addTab(self.columns, "Samples")
        self.tabs.addTab(self.score_tab, "How surprised?")
        self.tabs.setTabToolTip(1, SCORE_TIP)
        self.progress.setToolTip("Characters written so far")
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m characters")
        self.progress.setMinimumWidth(220)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        for w in (self.model_label, build_prime(self), build_sampling(self)):
            lay.addWidget(w)
        lay.addLayout(build_presets(self))
        lay.addLayout(build_generate_row(self))
        lay.addWidget(self.tabs, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress)
        bottom.addWidget(self.status, 1)
        lay.addLayout(bottom)

    # -- model ----------------------------------------------------------------
    def set_model(self, model, name: str = "", plugin=None) -> None:
        """Use ``model`` for generation (and scoring) as its ``plugin`` declares: "continue" writes,
        "score" measures surprise. Without a plugin, the model's own methods decide."""
        if self.jobs.busy:
            self.jobs.cancel()
            self.jobs.wait(5.0)
        stream = None
        if model is not None:
            try:
                stream = TokenStream.for_model(model, plugin)
            except NotATextModel as exc:
                self.status.setText(str(exc))
                model = plugin = None
        self.model, self.stream = model, stream
        self.plugin = plugin
        self.model_name = (name or type(model).__name__) if model is not None else ""
        self.source = self.checkpoint_step = None  # a model given directly: set again by a run's load
        self.model_label.setText(f"<b>Model:</b> {self.model_name}" if model is not None else NO_MODEL)
        self._sync_score_tab()
        self._sync()

    def _sync_score_tab(self) -> None:
        """The "How surprised?" tab is there for models that declare "score"; otherwise it says why not."""
        why = self.stream.score_unavailable if self.stream is not None else ""
        self.tabs.setTabEnabled(1, not why)
        self.tabs.setTabToolTip(1, why or SCORE_TIP)
        if why and self.tabs.currentIndex() == 1:
            self.tabs.setCurrentIndex(0)

    def _say(self, text: str) -> None:
        self.status.setText(text)

    def _on_model_loaded(self, token: int, model, plugin, description: str, source) -> None:
        if not self.loader.is_current(token):
            return  # replaced by a newer request (e.g. the checkpoint a restored file names)
        self.set_model(model, description, plugin)
        self.source = source
        self.run_dir = (source or {}).get("run_path") or self._wanted_run
        self.checkpoint_step = (source or {}).get("checkpoint_step")
        self.model_label.setText(f"<b>Model:</b> {self.model_name} ({self.which_checkpoint()})")
        self.model_label.setToolTip(f"{(source or {}).get('checkpoint_path') or description}: the text model "
                                    "generating here; select a text run elsewhere to change it")
        self.status.setText("")
        self._sync_when_idle()  # the load's thread may still be ending: Generate turns on when it has

    def _on_model_failed(self, token: int, message: str) -> None:
        if not self.loader.is_current(token):
            return
        # another modality's run is simply not ours to show; keep the current model
        self.status.setText(message)
        log.info("text panel: %s", message)
        self._sync_when_idle()

    # -- controls ----------------------------------------------------------------
    def request(self) -> TextRequest:
        return TextRequest(prime=self.prime.toPlainText(), length=self.length.value(),
                           samples=self.samples.value(), temperature=self.temperature.value(),
                           top_k=self.top_k.value(), top_p=self.top_p.value(),
                           repetition_penalty=self.repetition.value(), seed=self.seed.value())

    def restore_settings(self, request: RestoreRequest) -> None:
        """A dropped file's prime, seed (as the only sample) and sampling settings."""
        if request.prime is not None:
            self.prime.setPlainText(request.prime)
        self._set_controls(request.sampling)
        if request.seed is not None:
            self.seed.setValue(int(request.seed))
            self.samples.setValue(1)
        self._sync()

    def _set_controls(self, values: dict) -> None:
        boxes = {"length": (self.length, int), "temperature": (self.temperature, float), "top_k": (self.top_k, int),
                 "top_p": (self.top_p, float), "repetition_penalty": (self.repetition, float)}
        for key, (box, kind) in boxes.items():
            if values.get(key) is not None:
                box.setValue(kind(values[key]))

    def control_values(self) -> dict:
        r = self.request().to_dict()
        return {k: r[k] for k in CONTROL_KEYS}

    def apply_preset(self, name: str) -> None:
        values = self.presets.all().get(name)
        if not values:
            return
        self._set_controls(values)
        self.preset.setCurrentText(name)
        self._sync()

    def save_preset(self, name: str) -> None:
        self.presets.save(name, self.control_values())
        self._refresh_presets()
        self.preset.setCurrentText(name.strip())
        self._sync()

    def delete_preset(self, name: str) -> None:
        self.presets.delete(name)
        self._refresh_presets()

    def ask_preset_name(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Name for these settings:")
        if ok and name.strip():
            try:
                self.save_preset(name)
            except ValueError as exc:
                QMessageBox.warning(self, "Save preset", str(exc))

    def _refresh_presets(self) -> None:
        current = self.preset.currentText()
        self.preset.clear()
        self.preset.addItems(list(self.presets.all()))
        if current:
            self.preset.setCurrentText(current)

    def _show_columns(self) -> None:
        self.columns.show_count(self.samples.value())

    def _sync(self) -> None:
        busy = self.jobs.busy or self.loader.waiting
        has = self.stream is not None
        self.generate_button.setEnabled(has and not busy)
        self.score_button.setEnabled(has and self.stream.can_score and not busy)
        self.stop_button.setEnabled(busy)
        self.delete_preset_button.setEnabled(not self.presets.is_built_in(self.preset.currentText()))
        if not has:
            self.generate_button.setToolTip("Select a text run first (char-rnn or tiny-gpt)")
        else:
            self.generate_button.setToolTip("Write the samples (Ctrl+Return)")

    # -- generation ----------------------------------------------------------------
    def generate(self) -> None:
        if self.stream is None or self.jobs.busy:
            return
        req = self.request()
        unknown = self.stream.unknown(req.prime)
        self.last_request = req
        self.tabs.setCurrentIndex(0)
        self.columns.start(req.prime, req.seed)
        self._pending_progress = None
        self.progress.setRange(0, req.length * req.samples)
        self.progress.setValue(0)
        self.status.setText("Writing…" + (f" (skipping characters the model never saw: {''.join(unknown[:10])})"
                                          if unknown else ""))
        self.jobs.generate(self.stream, req)
        self._sync()

    def stop(self) -> None:
        self.jobs.cancel()

    def _on_written(self, texts: list, done: int, total: int) -> None:
        self._pending_progress = (done, total)
        self.columns.add(texts)

    def _show_progress(self) -> None:
        if self._pending_progress is not None:
            done, total = self._pending_progress
            self._pending_progress = None
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(done)

    def _on_finished(self, stopped: bool) -> None:
        self.columns.flush()  # the last characters are on screen before "Done."
        if not self.status.text().startswith("generation failed"):
            self.status.setText("Stopped." if stopped else "Done.")
        self._sync_when_idle()

    def _on_failed(self, message: str) -> None:
        self.status.setText(message)

    # -- saving ----------------------------------------------------------------
    def recipe(self, index: int) -> dict:
        return sample_recipe(self.last_request or self.request(), index, self.views[index].seed, self.model_name,
                             self.source, self.run_dir, self.plugin)

    def save_sample(self, index: int, path: str | Path, placement: str = "header") -> Path:
        """Write sample ``index`` to ``path`` with its settings in a comment or a sidecar JSON."""
        from studio.core.export.text import save_text

        return save_text(self.views[index].text(), path, self.recipe(index), placement=placement, overwrite=True)

    def _ask_save(self, index: int) -> None:
        start = str(Path.home() / f"sample-seed{self.views[index].seed}.txt")
        path, _ = QFileDialog.getSaveFileName(self, "Save sample", start, "Text (*.txt)")
        if not path:
            return
        try:
            saved = self.save_sample(index, path, SAVE_PLACEMENTS[self.placement.currentText()])
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Save sample", f"{path}: {exc}")
            return
        self.status.setText(f"Saved {saved}")

    # -- scoring ----------------------------------------------------------------
    def score(self) -> None:
        if self.stream is None or not self.stream.can_score or self.jobs.busy:
            return
        text = self.score_text.toPlainText()
        if len(text) < 2:
            self._set_score("Paste at least a few characters first.")
            return
        self._set_score("Measuring…")
        self.jobs.score(self.stream, text)
        self._sync()

    def _set_score(self, html: str) -> None:
        self.score_result.setText(html)
        self._sync()
