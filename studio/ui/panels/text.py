"""Text panel: write with a trained text model (char-rnn, tiny-gpt or any text plugin), streaming as it writes.

A prime, the sampling controls (length, temperature, top-k, top-p, repetition penalty, seed) with
presets, Generate/Stop, several samples side by side (seeds seed, seed+1, ...), Copy and Save per
sample, and "how surprised is the model by this text?" (perplexity of a pasted text).
The model comes from the run selected anywhere in the studio (``ctx.run_selected``); the panel uses it
through a :class:`studio.core.session.TokenStream`, offering what the plugin declares ("continue",
and "score" for the perplexity tab).
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout, QHBoxLayout,
                               QInputDialog, QLabel, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton,
                               QSpinBox, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from studio.core.session import NotATextModel, TokenStream
from studio.ui.background_jobs import LatestLoad
from studio.ui.run_filter import connect_matching_runs
from studio.ui.panels.text_presets import CONTROL_KEYS, PresetStore
from studio.ui.panels.text_sample_view import SampleView
from studio.ui.panels.text_worker import TextJobs, TextRequest

log = logging.getLogger(__name__)
MAX_SAMPLES = 4
#: streamed text reaches the views at most once per this many ms (~30 Hz): text that arrives
#: sooner, or piles up while the window is busy, goes in together, one insert (and relayout) per view
PAINT_MS = 33
SAVE_PLACEMENTS = {"Settings in a header comment": "header", "Settings in a sidecar .json": "sidecar",
                   "Settings in a footer comment": "footer"}
SCORE_TIP = "Perplexity: how surprised the model is by a text you paste"
NO_MODEL = ("<b>No text model yet.</b> Train char-rnn or tiny-gpt on a text dataset, then select the run "
            "in <i>Runs</i> or <i>Training</i>: it opens here.")


def _spin(lo, hi, value, tip, step=None, decimals=None, special=None):
    box = QDoubleSpinBox() if decimals is not None else QSpinBox()
    if decimals is not None:
        box.setDecimals(decimals)
    box.setRange(lo, hi)
    box.setValue(value)
    if step is not None:
        box.setSingleStep(step)
    if special:
        box.setSpecialValueText(special)
    box.setToolTip(tip)
    return box


class TextPanel(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.model = None
        self.stream: TokenStream | None = None  # the model through the plugin API (None: no model)
        self.plugin = None
        self.model_name = ""
        self.run_dir = ""
        self.source: dict | None = None      # run and checkpoint of the loaded model (for saved samples' recipes)
        self.checkpoint_step: int | None = None
        self._wanted: str | None = None      # the checkpoint asked for by the newest load (None: the newest)
        self._wanted_run = ""                # the run of the newest load
        self.last_request: TextRequest | None = None
        self.jobs = TextJobs(self)
        self.loader = LatestLoad(self.jobs, self.jobs.load_run, self)  # only the newest load request counts
        self.presets = PresetStore(ctx.settings)

        self.model_label = QLabel(NO_MODEL)
        self.model_label.setWordWrap(True)
        self.model_label.setToolTip("The text model generating here; select a text run elsewhere to change it")
        self.prime = QPlainTextEdit()
        self.prime.setPlaceholderText("Start the text here (optional): the model continues from it…")
        self.prime.setToolTip("Prime text: the model continues writing from here. Characters it never saw "
                              "in training are skipped.")
        self.prime.setFixedHeight(56)

        self.length = _spin(1, 100_000, 300, "How many characters to write per sample")
        self.temperature = _spin(0.0, 3.0, 0.8, "Randomness: 0 always takes the most likely character; "
                                 "higher is more surprising", step=0.05, decimals=2, special="0 (greedy)")
        self.top_k = _spin(0, 1000, 0, "Only choose among the k most likely characters (off: all)", special="off")
        self.top_p = _spin(0.01, 1.0, 0.95, "Nucleus: only choose among the most likely characters that together "
                           "reach this probability (1 = off)", step=0.05, decimals=2)
        self.repetition = _spin(1.0, 3.0, 1.0, "Penalise characters used in the last 64: above 1 repeats less",
                                step=0.05, decimals=2)
        self.seed = _spin(0, 2_147_483_647, 0, "Random seed: the same seed and settings give the same text")
        self.samples = _spin(1, MAX_SAMPLES, 2, "Samples written side by side, with seeds seed, seed+1, …")
        grid = QGridLayout()
        for i, (label, box) in enumerate([("Length", self.length), ("Temperature", self.temperature),
                                          ("Top-k", self.top_k), ("Top-p", self.top_p),
                                          ("Repetition penalty", self.repetition), ("Seed", self.seed),
                                          ("Samples", self.samples)]):
            lab = QLabel(label)
            lab.setToolTip(box.toolTip())
            grid.addWidget(lab, i // 4, (i % 4) * 2)
            grid.addWidget(box, i // 4, (i % 4) * 2 + 1)
        self.new_seed = QPushButton("New seed")
        self.new_seed.setToolTip("Pick a new seed (the next unused one)")
        self.new_seed.clicked.connect(lambda: self.seed.setValue(self.seed.value() + self.samples.value()))
        grid.addWidget(self.new_seed, 1, 7)

        self.preset = QComboBox()
        self.preset.setToolTip("Apply saved generation settings")
        self.preset.activated.connect(lambda _i: self.apply_preset(self.preset.currentText()))
        self.save_preset_button = QPushButton("Save preset…")
        self.save_preset_button.setToolTip("Keep the current settings under a name for later")
        self.save_preset_button.clicked.connect(self._ask_preset_name)
        self.delete_preset_button = QPushButton("Delete")
        self.delete_preset_button.setToolTip("Delete the selected preset (built-in presets stay)")
        self.delete_preset_button.clicked.connect(lambda: self.delete_preset(self.preset.currentText()))
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Write the samples (Ctrl+Return)")
        self.generate_button.setShortcut("Ctrl+Return")
        self.generate_button.clicked.connect(self.generate)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop writing; what was written so far stays")
        self.stop_button.clicked.connect(self.stop)
        self.placement = QComboBox()
        self.placement.addItems(list(SAVE_PLACEMENTS))
        self.placement.setToolTip("Where Save… records the generation settings: a comment in the .txt file "
                                  "or a .json file beside it")
        actions = QHBoxLayout()
        for w in (QLabel("Preset"), self.preset, self.save_preset_button, self.delete_preset_button):
            actions.addWidget(w)
        actions.addStretch(1)
        run_row = QHBoxLayout()  # a second row keeps the dock narrow enough for small screens
        run_row.addWidget(QLabel("Save settings"))
        self.placement.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.placement.setMinimumContentsLength(12)
        for w in (self.placement, self.generate_button, self.stop_button):
            run_row.addWidget(w)
        run_row.addStretch(0)

        self.views = [SampleView(i) for i in range(MAX_SAMPLES)]
        self.columns = QSplitter(Qt.Orientation.Horizontal)
        for v in self.views:
            v.save_requested.connect(self._ask_save)
            self.columns.addWidget(v)
        self.progress = QProgressBar()
        self.progress.setToolTip("Characters written so far")
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m characters")
        self.progress.setMinimumWidth(220)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)  # no Fusion pane: its Button-made grey stands out in the dark theme
        self.tabs.addTab(self.columns, "Samples")
        self.tabs.addTab(self._build_score_tab(), "How surprised?")
        self.tabs.setTabToolTip(1, SCORE_TIP)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.model_label)
        lay.addWidget(self.prime)
        lay.addLayout(grid)
        lay.addLayout(actions)
        lay.addLayout(run_row)
        lay.addWidget(self.tabs, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress)
        bottom.addWidget(self.status, 1)
        lay.addLayout(bottom)

        self._pending: dict[int, list[str]] = {}         # sample index -> chunks not shown yet
        self._pending_progress: tuple[int, int] | None = None
        self._paint = QTimer(self, singleShot=True)
        self._paint.timeout.connect(self._show_pending)
        self._painted = QElapsedTimer()                  # since the views were last written
        self._painted.start()
        self.jobs.written.connect(self._on_written)
        self.jobs.finished.connect(self._on_finished)
        self.jobs.failed.connect(self._on_failed)
        self.jobs.scored.connect(self._on_scored)
        self.jobs.score_failed.connect(lambda msg: self._set_score(f"<span style='color:#c0392b'>{msg}</span>"))
        self.jobs.model_loaded.connect(self._on_model_loaded)
        self.jobs.model_failed.connect(self._on_model_failed)
        self.samples.valueChanged.connect(self._show_columns)
        connect_matching_runs(ctx, self.open_run, modality="text")
        self._refresh_presets()
        self._show_columns()
        self._sync()

    def _build_score_tab(self) -> QWidget:
        tab = QWidget()
        self.score_text = QPlainTextEdit()
        self.score_text.setPlaceholderText("Paste a text here to see how surprised the model is by it…")
        self.score_text.setToolTip("Any text: the lower the surprise, the more it reads like the training text")
        self.score_button = QPushButton("Measure surprise")
        self.score_button.setToolTip("Score the pasted text under the model (perplexity and bits per character)")
        self.score_button.clicked.connect(self.score)
        self.score_result = QLabel("")
        self.score_result.setWordWrap(True)
        self.score_result.setTextFormat(Qt.TextFormat.RichText)
        row = QHBoxLayout()
        row.addWidget(self.score_button)
        row.addWidget(self.score_result, 1)
        form = QFormLayout(tab)
        form.addRow(self.score_text)
        form.addRow(row)
        return tab

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

    def open_run(self, run_dir: str, checkpoint: str | None = None) -> None:
        """Load a run's newest checkpoint, or ``checkpoint`` (a restored file's), in the background
        (from ``ctx.run_selected``); a later call wins over an earlier one still loading."""
        self._wanted = str(checkpoint) if checkpoint else None
        self._wanted_run = str(run_dir)
        what = f"checkpoint {Path(checkpoint).name} of " if checkpoint else ""
        self.status.setText(f"Opening {what}{Path(run_dir).name}…")
        self.loader.request(str(run_dir), self._wanted)
        self._sync()

    def _on_model_loaded(self, token: int, model, plugin, description: str, source) -> None:
        if not self.loader.is_current(token):
            return  # replaced by a newer request (e.g. the checkpoint a restored file names)
        self.set_model(model, description, plugin)
        self.source = source
        self.run_dir = (source or {}).get("run_path") or self._wanted_run
        self.checkpoint_step = (source or {}).get("checkpoint_step")
        which = "the restored file's checkpoint" if self._wanted else "the run's newest checkpoint"
        self.model_label.setText(f"<b>Model:</b> {self.model_name} ({which})")
        self.model_label.setToolTip(f"{(source or {}).get('checkpoint_path') or description}: the text model "
                                    "generating here; select a text run elsewhere to change it")
        self.status.setText("")

    def _on_model_failed(self, token: int, message: str) -> None:
        if not self.loader.is_current(token):
            return
        # another modality's run is simply not ours to show; keep the current model
        self.status.setText(message)
        log.info("text panel: %s", message)
        self._sync()

    # -- controls ----------------------------------------------------------------
    def request(self) -> TextRequest:
        return TextRequest(prime=self.prime.toPlainText(), length=self.length.value(),
                           samples=self.samples.value(), temperature=self.temperature.value(),
                           top_k=self.top_k.value(), top_p=self.top_p.value(),
                           repetition_penalty=self.repetition.value(), seed=self.seed.value())

    def restore(self, prime: str | None = None, seed: int | None = None, sampling: dict | None = None,
                run_dir: str | Path | None = None, checkpoint: str | Path | None = None) -> None:
        """Put a restored generation's settings back (a file dropped on the window): prime, length,
        temperature, top-k, top-p, repetition penalty and the sample's own seed (one sample); with
        ``run_dir`` and ``checkpoint``, open exactly the checkpoint that wrote it."""
        sampling = sampling or {}
        if run_dir is not None and checkpoint is not None:
            self.open_run(str(run_dir), checkpoint=str(checkpoint))
        if prime is not None:
            self.prime.setPlainText(prime)
        boxes = {"length": (self.length, int), "temperature": (self.temperature, float), "top_k": (self.top_k, int),
                 "top_p": (self.top_p, float), "repetition_penalty": (self.repetition, float)}
        for key, (box, kind) in boxes.items():
            if sampling.get(key) is not None:
                box.setValue(kind(sampling[key]))
        if seed is not None:
            self.seed.setValue(int(seed))
            self.samples.setValue(1)
        self._sync()

    def control_values(self) -> dict:
        r = self.request().to_dict()
        return {k: r[k] for k in CONTROL_KEYS}

    def apply_preset(self, name: str) -> None:
        values = self.presets.all().get(name)
        if not values:
            return
        boxes = {"length": self.length, "temperature": self.temperature, "top_k": self.top_k,
                 "top_p": self.top_p, "repetition_penalty": self.repetition}
        for key, value in values.items():
            if key in boxes:
                boxes[key].setValue(value)
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

    def _ask_preset_name(self) -> None:
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
        for i, v in enumerate(self.views):
            v.setVisible(i < self.samples.value())

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
        for i, v in enumerate(self.views[:req.samples]):
            v.start(req.prime, req.seed + i)
        self._pending, self._pending_progress = {}, None
        self.progress.setRange(0, req.length * req.samples)
        self.progress.setValue(0)
        self.status.setText("Writing…" + (f" (skipping characters the model never saw: {''.join(unknown[:10])})"
                                          if unknown else ""))
        self.jobs.generate(self.stream, req)
        self._sync()

    def stop(self) -> None:
        self.jobs.cancel()

    def _on_written(self, texts: list, done: int, total: int) -> None:
        for index, text in enumerate(texts[:len(self.views)]):
            if text:
                self._pending.setdefault(index, []).append(text)
        self._pending_progress = (done, total)
        wait = PAINT_MS - self._painted.elapsed()
        if wait <= 0:  # shown at once, so the usual batch costs no second wake-up of this thread
            self._show_pending()
        elif not self._paint.isActive():
            self._paint.start(wait)

    def _show_pending(self) -> None:
        """Put the text that arrived since the views were last written into them, one insert per view."""
        self._paint.stop()
        self._painted.restart()
        pending, self._pending = self._pending, {}
        for index, parts in pending.items():
            self.views[index].append("".join(parts))
        if self._pending_progress is not None:
            done, total = self._pending_progress
            self._pending_progress = None
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(done)

    def _on_finished(self, stopped: bool) -> None:
        self._show_pending()  # the last characters are on screen before "Done."
        if not self.status.text().startswith("generation failed"):
            self.status.setText("Stopped." if stopped else "Done.")
        self._sync()

    def _on_failed(self, message: str) -> None:
        self.status.setText(message)

    # -- saving ----------------------------------------------------------------
    def recipe(self, index: int) -> dict:
        req = self.last_request or self.request()
        view = self.views[index]
        # the batch's base seed and the sample's index: sample i used seed + i (as ``studio generate``)
        recipe = {"seed": view.seed - index, "batch": {"n": req.samples, "index": index},
                  "sampling": {**req.controls(), "length": req.length, "prime": req.prime},
                  "model": self.model_name}
        src = self.source or {}
        if self.run_dir and self.plugin is not None:
            recipe["run"] = {"path": self.run_dir, "id": src.get("run_id") or Path(self.run_dir).name}
        if src.get("checkpoint_path") or src.get("checkpoint_step") is not None:
            recipe["checkpoint"] = {k: src[f"checkpoint_{k}"] for k in ("path", "step", "sha256")
                                    if src.get(f"checkpoint_{k}") is not None}
        if self.plugin is not None:
            recipe["plugin"] = {"id": self.plugin.id, "version": self.plugin.version}
        return recipe

    def save_sample(self, index: int, path: str | Path, placement: str = "header") -> Path:
        """Write sample ``index`` to ``path`` with its settings in a comment or a sidecar JSON."""
        text = self.views[index].text()
        recipe = self.recipe(index)
        try:
            from studio.core.export.text import save_text
        except ImportError:  # the export module is optional: fall back to a plain header
            import json
            path = Path(path)
            if placement == "sidecar":
                path.with_name(path.name + ".json").write_text(json.dumps(recipe, indent=2) + "\n", encoding="utf-8")
                path.write_text(text, encoding="utf-8")
            else:
                path.write_text(f"# studio-provenance: {json.dumps(recipe)}\n\n{text}", encoding="utf-8")
            return path
        return save_text(text, path, recipe, placement=placement, overwrite=True)

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

    def _on_scored(self, r: dict) -> None:
        msg = (f"<b>Perplexity {r['perplexity']:.2f}</b> · {r['bits_per_char']:.3f} bits/char · "
               f"{r['nats_per_char']:.3f} nats/char over {int(r['chars'])} characters")
        if r.get("unknown"):
            msg += f"<br>Skipped {int(r['unknown'])} characters the model never saw ({r.get('unknown_chars', '')})"
        msg += "<br><small>Lower is less surprised: 1 would mean the model predicts every character.</small>"
        self._set_score(msg)

    def _set_score(self, html: str) -> None:
        self.score_result.setText(html)
        self._sync()

    def loading(self) -> bool:
        """True while a model is opened or generating (the window's screenshot waits for it)."""
        return self.jobs.busy or self.loader.waiting

    def shutdown(self) -> None:
        self.loader.stop()
        self.jobs.cancel()
        self.jobs.wait(30.0)  # a model load still inside torch at exit would abort the process
