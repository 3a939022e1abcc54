"""Melody panel: compose, generate, hear and export melodies.

Piano roll (editing with undo, playhead), transport (play/stop/loop, tempo,
instrument, volume, output device), generation (continue from the selected bar or
sample new phrases; length in bars, temperature, top-k/top-p, 1-8 variations,
seed), a list of variations to audition and keep, and MIDI/WAV/FLAC export.
When there is no sound output the panel says so once and only Play is off.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QListWidget, QListWidgetItem, QMessageBox, QProgressBar, QPushButton, QSlider,
                               QSizePolicy, QSpinBox, QSplitter, QVBoxLayout, QWidget)

from studio.core.audio.events import MAX_PITCH, MIN_PITCH, STEPS_PER_BAR, Note
from studio.core.audio.midi import MidiError, read_midi
from studio.core.audio.playback import MelodyPlayer
from studio.core.audio.instruments import program_name
from studio.core.audio.render import Rendering, render_melody, render_melody_notes
from studio.core.audio.synth import VOICES, step_seconds
from studio.ui.background_jobs import LatestLoad
from studio.ui.run_filter import connect_matching_runs
from studio.ui.panels.melody_export import melody_recipe, restore_melody, write_melody
from studio.ui.panels.instrument_picker import InstrumentPicker
from studio.ui.panels.melody_generation import GenerationRequest, MelodyJobs, describe_capabilities
from studio.ui.panels.piano_roll import PianoRoll

log = logging.getLogger(__name__)
SAMPLE_RATE = 44100


def _button(text: str, tip: str, slot) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    b.clicked.connect(slot)
    return b


class MelodyPanel(QWidget):
    playback_finished = Signal()  # re-emitted on the UI thread from the audio thread

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.model = None
        self.model_name = ""
        self.player = MelodyPlayer(SAMPLE_RATE)
        self.player.on_finished = self.playback_finished.emit
        self.jobs = MelodyJobs(self)
        self.last_export: Path | None = None
        self._params: dict = {}
        self.current_params: dict = {}      # the loaded variation's seed and settings ({}: drawn by hand)
        self._generated: list[int] | None = None  # its events as generated (to tell hand edits)
        self.source: dict | None = None     # where the model came from (plugin, run, checkpoint)
        self._pending_source: dict | None = None
        self.checkpoint_step: int | None = None  # the loaded run checkpoint's step (None: no run model)
        self._wanted: str | None = None     # the checkpoint asked for by the newest load (None: the newest)
        self.loader = LatestLoad(self.jobs, self.jobs.load_run, self)  # only the newest load request counts
        self.pitch_range = (MIN_PITCH, MAX_PITCH)  # event encoding: the model's, once one is set
        self._timer = QTimer(self)
        self._timer.setInterval(33)  # ~30 Hz playhead
        self._timer.timeout.connect(self._tick)
        self._build()
        self.playback_finished.connect(self._on_finished)
        self.jobs.progress.connect(self._on_progress)
        self.jobs.variation.connect(self._on_variation)
        self.jobs.finished.connect(self._on_generation_done)
        self.jobs.failed.connect(self._on_generation_failed)
        self.jobs.model_loaded.connect(self._on_model_loaded)
        self.jobs.model_failed.connect(self._on_model_failed)
        connect_matching_runs(ctx, self.load_run, modality="melody")
        self._audio_state()
        self._update_enabled()

    # -- layout --------------------------------------------------------------
    def _build(self) -> None:
        self.model_label = QLabel("No melody model yet: pick a melody run in Runs, or draw a melody by hand.")
        self.model_label.setWordWrap(True)
        self.model_label.setToolTip("The model that writes variations (select a trained melody run)")
        self.audio_label = QLabel()
        self.audio_label.setWordWrap(True)
        self.audio_label.setStyleSheet("color: #b8860b;")

        self.roll = PianoRoll(self)
        self.roll.audition.connect(self.audition)
        self.roll.notes_changed.connect(self._update_enabled)
        self.roll.bar_selected.connect(lambda b: self.bar.setValue(b + 1))

        # transport
        self.play_btn = _button("▶ Play", "Play the melody in the piano roll", self.play)
        self.stop_btn = _button("■ Stop", "Stop playback", self.stop)
        self.loop = QCheckBox("Loop")
        self.loop.setToolTip("Repeat the melody until Stop")
        self.tempo = QSpinBox(minimum=30, maximum=300, value=110, suffix=" BPM")
        self.tempo.setToolTip("Tempo in quarter notes per minute")
        self.voice = QComboBox()
        self.voice.addItems(VOICES)
        self.voice.setToolTip("Built-in synth voice (sine, square-ish, plucked string or soft pad): "
                              "plays only when no SoundFont can be loaded")
        self.instrument = InstrumentPicker()
        self.voice.setVisible(self.instrument.engine == "numpy")  # the voice matters only without a SoundFont
        self.volume = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=80)
        self.volume.setToolTip("Playback and export volume")
        self.volume.setFixedWidth(90)
        self.device = QComboBox()
        self.device.setToolTip("Sound output device (as PortAudio reports them)")
        self.device.addItem("System default", None)
        for d in self.player.devices():
            self.device.addItem(f"{d['name']}{' (default)' if d['default'] else ''}", d["index"])
        self.device.currentIndexChanged.connect(lambda _: self.player.set_device(self.device.currentData()))
        transport = QHBoxLayout()
        for w in (self.play_btn, self.stop_btn, self.loop, self.tempo, self.voice, QLabel("Vol"), self.volume):
            transport.addWidget(w)
        transport.addStretch(1)

        # editing
        self.undo_btn = _button("Undo", "Undo the last edit (Ctrl+Z)", self.roll.undo_stack.undo)
        self.redo_btn = _button("Redo", "Redo (Ctrl+Shift+Z)", self.roll.undo_stack.redo)
        self.roll.undo_stack.canUndoChanged.connect(self.undo_btn.setEnabled)
        self.roll.undo_stack.canRedoChanged.connect(self.redo_btn.setEnabled)
        self.clear_btn = _button("Clear", "Remove every note (undoable)", lambda: self.roll.apply([], "Clear"))
        self.load_btn = _button("Load MIDI…", "Load a primer melody from a MIDI file (its top line)", self._ask_midi)
        self.bar = QSpinBox(minimum=1, maximum=64, value=1, prefix="from bar ")
        self.bar.setToolTip("Continue from this bar: the notes before it are the primer (Shift+click a bar too)")
        self.bar.valueChanged.connect(lambda v: self.roll.select_bar(v - 1) if self.roll.selected_bar != v - 1 else None)
        edit = QHBoxLayout()
        # the device chooser gets its own row with a bounded width so the dock stays narrow
        self.device.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.device.setMinimumContentsLength(10)
        for w in (self.undo_btn, self.redo_btn, self.clear_btn, self.load_btn, self.bar):
            edit.addWidget(w)
        edit.addStretch(1)

        # generation
        gen = QGroupBox("Generate")
        form = QFormLayout(gen)
        self.bars = QSpinBox(minimum=1, maximum=32, value=4, suffix=" bars")
        self.bars.setToolTip("How much to write (4/4 bars of 16 steps)")
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=3.0, singleStep=0.1, value=1.0)
        self.temperature.setToolTip("Higher is more adventurous, lower is safer; 0 always picks the likeliest event")
        self.top_k = QSpinBox(minimum=0, maximum=200, value=0)
        self.top_k.setToolTip("Only choose among the k likeliest events (0: off)")
        self.top_p = QDoubleSpinBox(minimum=0.05, maximum=1.0, singleStep=0.05, value=1.0)
        self.top_p.setToolTip("Only choose among the likeliest events that together reach this probability (1: off)")
        self.variations = QSpinBox(minimum=1, maximum=8, value=4)
        self.variations.setToolTip("How many variations to write (1-8), each with its own seed")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.seed.setToolTip("Same seed and settings give the same melodies")
        for label, w in (("Length", self.bars), ("Temperature", self.temperature), ("Top-k", self.top_k),
                         ("Top-p", self.top_p), ("Variations", self.variations), ("Seed", self.seed)):
            form.addRow(label, w)
        self.gen_btn = _button("Generate", "Write variations (continuing the primer before the selected bar)",
                               self.generate)
        self.cancel_btn = _button("Cancel", "Stop generating", self.jobs.cancel)
        self.progress = QProgressBar()
        self.progress.setToolTip("Generation progress")
        self.progress.setTextVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.gen_btn)
        row.addWidget(self.cancel_btn)
        form.addRow(row)
        form.addRow(self.progress)

        self.var_list = QListWidget()
        self.var_list.setToolTip("Generated variations: click to load and hear one, tick to keep it when regenerating")
        self.var_list.itemClicked.connect(self._pick_variation)
        self.empty_vars = QLabel("Variations appear here after Generate.")
        self.empty_vars.setWordWrap(True)
        self.empty_vars.setStyleSheet("color: palette(placeholder-text);")

        self.midi_btn = _button("MIDI…", "Export the melody as a MIDI file", lambda: self._ask_export(".mid"))
        self.wav_btn = _button("WAV…", "Export the synth rendering as WAV (44.1 kHz)", lambda: self._ask_export(".wav"))
        self.flac_btn = _button("FLAC…", "Export the synth rendering as FLAC (44.1 kHz)",
                                lambda: self._ask_export(".flac"))
        export = QHBoxLayout()
        for b in (self.midi_btn, self.wav_btn, self.flac_btn):
            b.setMinimumWidth(60)
            b.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # share the column's width
            export.addWidget(b)

        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(gen)
        sl.addWidget(QLabel("Variations"))
        sl.addWidget(self.empty_vars)
        sl.addWidget(self.var_list, 1)
        sl.addLayout(export)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        output = QHBoxLayout()
        output.addWidget(QLabel("Instrument"))
        output.addWidget(self.instrument, 1)
        output.addWidget(QLabel("Output"))
        output.addWidget(self.device, 1)
        ll.addLayout(transport)
        ll.addLayout(output)
        ll.addLayout(edit)
        ll.addWidget(self.roll, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.model_label)
        lay.addWidget(self.audio_label)
        lay.addWidget(split, 1)

    def _audio_state(self) -> None:
        reason = self.player.reason
        self.audio_label.setVisible(bool(reason))
        self.audio_label.setText(f"No sound: {reason}" if reason else "")
        self.play_btn.setToolTip(reason or "Play the melody in the piano roll")

    def _update_enabled(self) -> None:
        has_notes = bool(self.roll.notes)
        busy = self.jobs.busy
        self.play_btn.setEnabled(self.player.available and has_notes)
        # the playhead timer runs until its next tick notices the end: Stop stays usable until then
        self.stop_btn.setEnabled(self.player.is_playing or self._timer.isActive())
        for b in (self.midi_btn, self.wav_btn, self.flac_btn):
            b.setEnabled(has_notes)
        self.gen_btn.setEnabled(self.model is not None and not busy and not self.loader.waiting)
        self.cancel_btn.setEnabled(busy)
        self.empty_vars.setVisible(self.var_list.count() == 0)
        self.undo_btn.setEnabled(self.roll.undo_stack.canUndo())
        self.redo_btn.setEnabled(self.roll.undo_stack.canRedo())

    # -- model ---------------------------------------------------------------
    def set_model(self, model, name: str = "", note: str = "") -> None:
        """Use ``model`` (a melody StudioModel) for generation; ``note`` follows its name in the label."""
        self.model = model
        self.model_name = name or type(model).__name__
        self.source, self._pending_source = self._pending_source, None  # None: a model given directly
        if self.source is None:
            self.checkpoint_step = None
        spec = getattr(model, "spec", None)
        if spec is not None and getattr(spec, "max_pitch", 0):
            self.pitch_range = (spec.min_pitch, spec.max_pitch)
        mode = {"continue": "continues the primer before the selected bar",
                "latent": "writes new phrases (no primer)", "sample": "writes new phrases"}[describe_capabilities(model)]
        self.model_label.setText(f"Model: {self.model_name}{note} — {mode}")
        self._update_enabled()

    def load_run(self, run_dir: str, checkpoint: str | None = None) -> None:
        """Open a run's newest checkpoint, or ``checkpoint`` (a restored file's), in the background;
        a later call wins over an earlier one still loading."""
        what = f"checkpoint {Path(checkpoint).name} of " if checkpoint else ""
        self.model_label.setText(f"Loading {what}{run_dir}…")
        self._wanted = checkpoint
        self.loader.request(str(run_dir), str(checkpoint) if checkpoint else None)
        self._update_enabled()

    def _on_model_loaded(self, token: int, model, name: str, source, step) -> None:
        if not self.loader.is_current(token):
            return  # replaced by a newer request (e.g. the checkpoint a restored file names)
        self.jobs.wait(1.0)  # the load's last act was this signal: let its thread end so Generate turns on
        self._pending_source = source
        which = "the restored file's checkpoint" if self._wanted else "the run's newest checkpoint"
        self.set_model(model, f"{name} · step {step}" if step is not None else name, f" ({which})")
        self.checkpoint_step = step
        self.model_label.setToolTip(f"{(source or {}).get('checkpoint_path') or name}: the model that writes "
                                    "variations (select another melody run to change it)")

    def _on_model_failed(self, token: int, msg: str) -> None:
        if self.loader.is_current(token):
            self.jobs.wait(1.0)
            self.model_label.setText(f"Could not load the model: {msg}")
            self._update_enabled()

    # -- melody --------------------------------------------------------------
    def events(self) -> list[int]:
        """The roll's melody as event ids in the current encoding (the model's pitch range)."""
        return self.roll.events(*self.pitch_range)

    def set_events(self, events, text: str = "Load melody") -> None:
        self.roll.set_events(events, text, self.pitch_range[0])

    # -- transport -----------------------------------------------------------
    def _audio(self, events=None) -> Rendering:
        sound = render_melody(self.events() if events is None else events, bpm=self.tempo.value(),
                              program=self.instrument.program(), voice=self.voice.currentText(),
                              volume=self.volume.value() / 100, sample_rate=SAMPLE_RATE, min_pitch=self.pitch_range[0])
        self._show_synth(sound.synth)
        return sound

    def _show_synth(self, synth: dict) -> None:
        # the voice choice only matters when the SoundFont could not be loaded (the numpy fallback plays)
        self.voice.setVisible(synth.get("engine") == "numpy")
        self.instrument.describe_synth(synth)

    def play(self) -> bool:
        if not self.player.available or not self.roll.notes:
            return False
        ok = self.player.play(self._audio().audio, step_seconds(self.tempo.value()), loop=self.loop.isChecked(),
                              loop_steps=self.roll.n_steps)
        if ok:
            self._timer.start()
        self._audio_state()
        self._update_enabled()
        return ok

    def stop(self) -> None:
        self.player.stop()
        self._timer.stop()
        self.roll.set_playhead(None)
        self._update_enabled()

    def audition(self, pitch: int) -> None:
        if self.player.available and not self.player.is_playing:
            sound = render_melody_notes([Note(pitch, 0, 3)], 3, bpm=self.tempo.value(),
                                        program=self.instrument.program(), voice=self.voice.currentText(),
                                        volume=self.volume.value() / 100, sample_rate=SAMPLE_RATE)
            self._show_synth(sound.synth)
            self.player.play(sound.audio, step_seconds(self.tempo.value()))

    def _tick(self) -> None:
        if not self.player.is_playing:
            return self._on_finished()
        pos = self.player.position_steps()
        if self.loop.isChecked():
            pos %= max(1, self.roll.n_steps)
        self.roll.set_playhead(pos)

    def _on_finished(self) -> None:
        if not self.player.is_playing:
            self._timer.stop()
            self.roll.set_playhead(None)
            self._update_enabled()

    # -- generation ----------------------------------------------------------
    def request(self) -> GenerationRequest:
        cont = self.model is not None and describe_capabilities(self.model) == "continue"
        primer = self.events()[: self.roll.selected_bar * STEPS_PER_BAR] if cont else []
        return GenerationRequest(
            primer=primer, length=self.bars.value() * STEPS_PER_BAR, variations=self.variations.value(),
            temperature=self.temperature.value(), top_k=self.top_k.value(), top_p=self.top_p.value(),
            seed=self.seed.value())

    def generate(self) -> None:
        if self.model is None or self.jobs.busy:
            return
        req = self.request()
        # unticked variations are replaced, kept ones stay
        for i in reversed(range(self.var_list.count())):
            if self.var_list.item(i).checkState() != Qt.CheckState.Checked:
                self.var_list.takeItem(i)
        self.progress.setRange(0, req.length * req.variations)
        self.progress.setValue(0)
        self._params = {"model": self.model_name, "temperature": req.temperature, "top_k": req.top_k,
                        "top_p": req.top_p, "length_bars": self.bars.value(), "primer_steps": len(req.primer),
                        "source": self.source}
        self.jobs.generate(self.model, req)
        self._update_enabled()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _on_variation(self, events: list, seed: int) -> None:
        n = self.var_list.count() + 1
        item = QListWidgetItem(f"Variation {n} · seed {seed} · {len(events) // STEPS_PER_BAR} bars")
        item.setData(Qt.ItemDataRole.UserRole, (list(events), {**self._params, "seed": seed}))
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Unchecked)
        item.setToolTip("Click to load and hear it; tick to keep it")
        self.var_list.addItem(item)
        if n == 1 or self.var_list.count() == 1:
            self.var_list.setCurrentItem(item)
            self.load_variation(item)
        self._update_enabled()

    def _on_generation_done(self, cancelled: bool) -> None:
        self.jobs.wait(1.0)  # the job's last act was this signal: let its thread end so the buttons see it idle
        self.ctx.status_message.emit("Generation cancelled" if cancelled else "Variations ready")
        self._update_enabled()

    def _on_generation_failed(self, msg: str) -> None:
        self.jobs.wait(1.0)
        self.model_label.setText(msg)
        self._update_enabled()

    def _pick_variation(self, item: QListWidgetItem) -> None:
        self.load_variation(item)
        self.play()

    def load_variation(self, item: QListWidgetItem) -> None:
        events, params = item.data(Qt.ItemDataRole.UserRole)
        self.current_params = params
        self.set_events(events, f"Load {item.text().split(' ·')[0]}")
        self._generated = self.events()  # as the roll holds it: later differences are hand edits

    # -- files ---------------------------------------------------------------
    def _ask_midi(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a primer melody", "", "MIDI files (*.mid *.midi)")
        if path:
            self.load_midi(path)

    def load_midi(self, path: str | Path) -> bool:
        try:
            mel = read_midi(path, *self.pitch_range)
        except MidiError as exc:
            log.warning("%s", exc)
            QMessageBox.warning(self, "Cannot load MIDI", str(exc))
            return False
        self.tempo.setValue(int(round(mel.bpm)))
        if mel.program is not None:  # play it as the file says, as a DAW would
            self.instrument.set_program(mel.program)
        bars = max(1, -(-len(mel.events) // STEPS_PER_BAR))
        self.set_events(mel.events + [1] * (bars * STEPS_PER_BAR - len(mel.events)), f"Load {Path(path).name}")
        self.current_params, self._generated = {}, None  # a melody from a file: not a variation of ours
        return True

    def restore(self, seed: int | None = None, sampling: dict | None = None, midi_path: str | Path | None = None,
                source: dict | None = None, edited: bool = False, run_dir: str | Path | None = None,
                checkpoint: str | Path | None = None) -> None:
        """Put a restored generation back (a file dropped on the window): see ``melody_export.restore_melody``;
        with ``run_dir`` and ``checkpoint``, open exactly the checkpoint that wrote it."""
        restore_melody(self, seed, sampling or {}, midi_path, source, edited)
        if run_dir is not None and checkpoint is not None:
            self.load_run(str(run_dir), checkpoint=str(checkpoint))

    def _ask_export(self, ext: str) -> None:
        filters = {".mid": "MIDI (*.mid)", ".wav": "WAV audio (*.wav)", ".flac": "FLAC audio (*.flac)"}
        path, _ = QFileDialog.getSaveFileName(self, "Export melody", f"melody{ext}", filters[ext])
        if path:
            self.export(path if Path(path).suffix else path + ext)

    def recipe(self) -> dict:
        """The provenance recipe of the roll's melody (model, seed, sampling, edited by hand or not)."""
        program = self.instrument.program()
        return melody_recipe(self.current_params, self.events(), self._generated, bpm=self.tempo.value(),
                             extra={"program": program, "instrument": program_name(program)})

    def export(self, path: str | Path) -> Path:
        """Write the roll's melody with its recipe: .mid as notes with the instrument's program,
        .wav/.flac as the instrument's rendering."""
        path = Path(path)
        events = self.events()
        try:
            path = write_melody(path, events, self.recipe(), bpm=self.tempo.value(), min_pitch=self.pitch_range[0],
                                render=self._audio, sample_rate=SAMPLE_RATE, program=self.instrument.program())
        except (OSError, ValueError) as exc:
            log.warning("export to %s failed: %s", path, exc)
            QMessageBox.warning(self, "Export failed", f"{path}: {exc}")
            raise
        self.last_export = path
        self.ctx.status_message.emit(f"Exported {path}")
        return path

    def loading(self) -> bool:
        """True while a model is opened or generating (the window's screenshot waits for it)."""
        return self.jobs.busy or self.loader.waiting

    def shutdown(self) -> None:
        self.loader.stop()
        self.jobs.cancel()
        self.jobs.wait(30)  # a model load still inside torch at exit would abort the process
        self.player.close()
        self._timer.stop()


def demo_notes() -> list[Note]:
    """A short folk-like tune (4 bars) for previews and screenshots."""
    tune = [(67, 0, 4), (72, 4, 4), (71, 8, 2), (72, 10, 2), (74, 12, 4), (76, 16, 6), (74, 22, 2), (72, 24, 4),
            (71, 28, 4), (69, 32, 4), (71, 36, 2), (72, 38, 2), (74, 40, 8), (72, 48, 4), (71, 52, 4), (72, 56, 8)]
    return [Note(*t) for t in tune]
