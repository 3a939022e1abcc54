"""Melody panel: compose, generate, hear and export melodies.

Piano roll (editing with undo, playhead), transport (play/stop/loop, tempo,
instrument, volume, output device), generation (continue from the selected bar or
sample new phrases; length in bars, temperature, top-k/top-p, 1-8 variations,
seed), a list of variations to audition and keep, and MIDI/WAV/FLAC export.
When there is no sound output the panel says so once and only Play is off.
The controls are built in ``melody_controls``; on a narrow dock the generate controls and the
variations move under the roll (``ReflowSplit``), so the panel asks no more than ~560 px of width.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidgetItem, QMessageBox, QVBoxLayout

from studio.core.audio.events import MAX_PITCH, MIN_PITCH, Note, steps_per_bar
from studio.core.audio.midi import MidiError, read_midi
from studio.core.audio.instruments import program_name
from studio.core.audio.render import Rendering
from studio.ui.panels.generation_panel import GenerationPanel
from studio.ui.panels.melody_copies import batch_note, mark_variation
from studio.ui.panels.melody_controls import GenerateBox, build_roll_column, build_side_column, build_status_labels
from studio.ui.panels.melody_export import (input_files, loaded_from, melody_recipe, primer_inputs, restore_melody,
                                            write_melody)
from studio.ui.panels.melody_generation import GenerationRequest, MelodyJobs, describe_capabilities
from studio.ui.panels.melody_transport import SAMPLE_RATE, Transport
from studio.ui.panels.reflow import ReflowSplit
from studio.ui.restore_request import RestoreRequest

log = logging.getLogger(__name__)
NO_MODEL = "No melody model yet: pick a melody run in Runs, or draw a melody by hand."


class MelodyPanel(GenerationPanel):
    modality = "melody"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, MelodyJobs(), parent)
        self.transport = Transport(self)   # player, playhead timer, audition
        self._timer = self.transport.timer
        self.last_export: Path | None = None
        self._params: dict = {}
        self.current_params: dict = {}      # the loaded variation's seed and settings ({}: drawn by hand)
        self._generated: list[int] | None = None  # its events as generated (to tell hand edits)
        self._pending_source: dict | None = None
        self.pitch_range = (MIN_PITCH, MAX_PITCH)  # event encoding: the model's, once one is set
        self._build()
        self.jobs.progress.connect(self._on_progress)
        self.jobs.variation.connect(self._on_variation)
        self.jobs.finished.connect(self._on_generation_done)
        self.jobs.failed.connect(self._on_generation_failed)
        self.jobs.model_loaded.connect(self._on_model_loaded)
        self.jobs.model_failed.connect(self._on_model_failed)
        self.copy_index = None                 # the loaded run's training tunes, for the copy check
        self.time_signature: str | None = None  # their meter (bars in the roll, MIDI export); None: 4/4
        self.key: str | None = None
        self.jobs.tunes_ready.connect(self._on_tunes_ready)
        ctx.dataset_added.connect(self._dataset_arrived)
        self._start_following()
        self.transport.show_state()
        self._sync()

    # -- layout: the roll with the controls beside it, or under it on a narrow dock --
    def _build(self) -> None:
        self.generate_box = GenerateBox(self)
        self.split = ReflowSplit(build_roll_column(self), build_side_column(self, self.generate_box))
        self.split.arranged.connect(lambda narrow: self.generate_box.form.set_columns(2 if narrow else 1))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        for label in build_status_labels(self, NO_MODEL):
            lay.addWidget(label)
        lay.addWidget(self.split, 1)
        self.split.measure()

    def _sync(self) -> None:
        has_notes = bool(self.roll.notes)
        busy = self.jobs.busy
        self.play_btn.setEnabled(self.player.available and has_notes)
        self.stop_btn.setEnabled(self.transport.busy)
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
        self._sync()

    def _say(self, text: str) -> None:
        self.model_label.setText(text)

    def _on_model_loaded(self, token: int, model, name: str, source, step) -> None:
        if not self.loader.is_current(token):
            return  # replaced by a newer request (e.g. the checkpoint a restored file names)
        self.jobs.wait(1.0)  # the load's last act was this signal: let its thread end so Generate turns on
        self._pending_source = source
        self.set_model(model, f"{name} · step {step}" if step is not None else name, f" ({self.which_checkpoint()})")
        self.checkpoint_step = step
        self.model_label.setToolTip(f"{(source or {}).get('checkpoint_path') or name}: the model that writes "
                                    "variations (select another melody run to change it)")
        self._sync_when_idle()

    def _on_tunes_ready(self, token: int, tunes) -> None:
        if self.loader.is_current(token):
            self.copy_index, self.key = tunes.copy_index, tunes.key
            self.set_meter(tunes.time_signature)

    def _dataset_arrived(self, _folder: str) -> None:
        """The demo's tunes are imported after its model opened: read their meter and figures now."""
        if self.model is not None and self.copy_index is None and self._wanted_run:
            self.jobs.find_tunes(self._wanted_run, self.loader.token)

    def set_meter(self, time_signature: str | None) -> None:
        """Bars of the run's meter in the roll, the lengths and the MIDI export (a jig stays in 6/8)."""
        self.time_signature = time_signature
        self.roll.set_meter(time_signature)
        self.bars.setSuffix(f" bars of {time_signature}" if time_signature and time_signature != "4/4" else "")

    @property
    def bar_steps(self) -> int:
        return steps_per_bar(self.time_signature)

    def _on_model_failed(self, token: int, msg: str) -> None:
        if self.loader.is_current(token):
            self.jobs.wait(1.0)
            self.model_label.setText(f"Could not load the model: {msg}")
            self._sync_when_idle()

    # -- melody --------------------------------------------------------------
    def events(self) -> list[int]:
        """The roll's melody as event ids in the current encoding (the model's pitch range)."""
        return self.roll.events(*self.pitch_range)

    def set_events(self, events, text: str = "Load melody") -> None:
        self.roll.set_events(events, text, self.pitch_range[0])

    # -- transport (melody_transport.Transport) ---------------------------------
    @property
    def player(self):
        return self.transport.player

    @player.setter
    def player(self, player) -> None:   # tests listen through a recording player
        self.transport.player = player

    def _audio(self, events=None) -> Rendering:
        return self.transport.render(events)

    def play(self) -> bool:
        ok = self.transport.play()
        self._sync()
        return ok

    def stop(self) -> None:
        self.transport.stop()
        self._sync()

    def audition(self, pitch: int) -> None:
        self.transport.audition(pitch)

    # -- generation ----------------------------------------------------------
    def request(self) -> GenerationRequest:
        cont = self.model is not None and describe_capabilities(self.model) == "continue"
        primer = self.events()[: self.roll.selected_bar * self.bar_steps] if cont else []
        return GenerationRequest(
            primer=primer, length=self.bars.value() * self.bar_steps, variations=self.variations.value(),
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
                        "source": self.source, **primer_inputs(self.current_params, req.primer)}
        self.jobs.generate(self.model, req)
        self._sync()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _on_variation(self, events: list, seed: int) -> None:
        n = self.var_list.count() + 1
        item = QListWidgetItem(f"Variation {n} · seed {seed} · {len(events) // self.bar_steps} bars")
        item.setData(Qt.ItemDataRole.UserRole, (list(events), {**self._params, "seed": seed}))
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Unchecked)
        item.setToolTip("Click to load and hear it; tick to keep it")
        mark_variation(item, self.copy_index, list(events))
        self.var_list.addItem(item)
        if n == 1 or self.var_list.count() == 1:
            self.var_list.setCurrentItem(item)
            self.load_variation(item)
        self._sync()

    def _on_generation_done(self, cancelled: bool) -> None:
        self.jobs.wait(1.0)  # the job's last act was this signal: let its thread end so the buttons see it idle
        self.ctx.status_message.emit("Generation cancelled" if cancelled else "Variations ready")
        batch = [self.var_list.item(i).data(Qt.ItemDataRole.UserRole)[0] for i in range(self.var_list.count())]
        text, warns = batch_note(self.copy_index, batch)
        self.copy_note.setText(text)
        self.copy_note.setStyleSheet("color: #b9770e; font-weight: bold;" if warns
                                     else "color: palette(placeholder-text);")
        self._sync_when_idle()

    def _on_generation_failed(self, msg: str) -> None:
        self.jobs.wait(1.0)
        self.model_label.setText(msg)
        self._sync_when_idle()

    def _pick_variation(self, item: QListWidgetItem) -> None:
        self.load_variation(item)
        self.play()

    def load_variation(self, item: QListWidgetItem) -> None:
        events, params = item.data(Qt.ItemDataRole.UserRole)
        self.current_params = params
        self.set_events(events, f"Load {item.text().split(' ·')[0]}")
        self._generated = self.events()  # as the roll holds it: later differences are hand edits

    # -- files ---------------------------------------------------------------
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
        bars = max(1, -(-len(mel.events) // self.bar_steps))
        self.set_events(mel.events + [1] * (bars * self.bar_steps - len(mel.events)), f"Load {Path(path).name}")
        self.current_params, self._generated = loaded_from(path), None  # the user's file, not a variation of ours
        return True

    def restore_settings(self, request: RestoreRequest) -> None:
        """A dropped file's notes (from its MIDI file), seed and settings: see ``melody_export.restore_melody``."""
        restore_melody(self, request)

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
                                render=self._audio, sample_rate=SAMPLE_RATE, program=self.instrument.program(),
                                time_signature=self.time_signature, key=self.key,
                                inputs=input_files(self.current_params))
        except (OSError, ValueError) as exc:
            log.warning("export to %s failed: %s", path, exc)
            QMessageBox.warning(self, "Export failed", f"{path}: {exc}")
            raise
        self.last_export = path
        self.ctx.status_message.emit(f"Exported {path}")
        return path

    def shutdown(self) -> None:
        super().shutdown()
        self.transport.close()


def demo_notes() -> list[Note]:
    """A short folk-like tune (4 bars) for previews and screenshots."""
    tune = [(67, 0, 4), (72, 4, 4), (71, 8, 2), (72, 10, 2), (74, 12, 4), (76, 16, 6), (74, 22, 2), (72, 24, 4),
            (71, 28, 4), (69, 32, 4), (71, 36, 2), (72, 38, 2), (74, 40, 8), (72, 48, 4), (71, 52, 4), (72, 56, 8)]
    return [Note(*t) for t in tune]
