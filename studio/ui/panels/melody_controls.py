"""The Melody panel's controls, one named builder per group: transport, instrument and output, editing,
generation settings, the variations list and the export buttons.

Each builder creates its widgets as attributes of the panel (the names tests and the screenshot script
use: ``panel.play_btn``, ``panel.seed``…), connects them to the panel's slots and returns the widget or
layout that holds them. ``build_roll_column`` and ``build_side_column`` are the panel's two halves;
``ReflowSplit`` puts the side beside the roll, or under it on a narrow dock.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QListWidget,
                               QSizePolicy, QSlider, QVBoxLayout, QWidget)

from studio.core.audio.synth import VOICES
from studio.ui.panels.control_grid import ControlGrid
from studio.ui.panels.generation_panel import GenerationPanel, button, spin
from studio.ui.panels.instrument_picker import InstrumentPicker
from studio.ui.panels.piano_roll import PianoRoll


def build_status_labels(p: GenerationPanel, no_model: str) -> tuple[QLabel, QLabel]:
    """Which model writes (or why none), and why there is no sound (hidden while there is)."""
    p.model_label = QLabel(no_model)
    p.model_label.setWordWrap(True)
    p.model_label.setToolTip("The model that writes variations (select a trained melody run)")
    p.audio_label = QLabel()
    p.audio_label.setWordWrap(True)
    p.audio_label.setStyleSheet("color: #b8860b;")
    return p.model_label, p.audio_label


def _ask_midi(p: GenerationPanel) -> None:
    path, _ = QFileDialog.getOpenFileName(p, "Load a primer melody", "", "MIDI files (*.mid *.midi)")
    if path:
        p.load_midi(path)


def _ask_export(p: GenerationPanel, ext: str) -> None:
    filters = {".mid": "MIDI (*.mid)", ".wav": "WAV audio (*.wav)", ".flac": "FLAC audio (*.flac)"}
    path, _ = QFileDialog.getSaveFileName(p, "Export melody", f"melody{ext}", filters[ext])
    if path:
        p.export(path if Path(path).suffix else path + ext)


def _row(*widgets, stretch: bool = True) -> QHBoxLayout:
    row = QHBoxLayout()
    for w in widgets:
        row.addWidget(w)
    if stretch:
        row.addStretch(1)
    return row


def build_transport(p: GenerationPanel) -> QHBoxLayout:
    """Play, Stop, Loop, tempo, the synth voice (only without a SoundFont) and volume."""
    p.play_btn = button("▶ Play", "Play the melody in the piano roll", p.play)
    p.stop_btn = button("■ Stop", "Stop playback", p.stop)
    p.loop = QCheckBox("Loop")
    p.loop.setToolTip("Repeat the melody until Stop")
    p.tempo = spin(30, 300, 110, "Tempo in quarter notes per minute", suffix=" BPM")
    p.voice = QComboBox()
    p.voice.addItems(VOICES)
    p.voice.setToolTip("Built-in synth voice (sine, square-ish, plucked string or soft pad): "
                       "plays only when no SoundFont can be loaded")
    p.volume = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=80)
    p.volume.setToolTip("Playback and export volume")
    p.volume.setFixedWidth(80)
    return _row(p.play_btn, p.stop_btn, p.loop, p.tempo, p.voice, QLabel("Vol"), p.volume)


def build_output(p: GenerationPanel) -> QHBoxLayout:
    """The instrument (a General MIDI program) and the sound output device."""
    p.instrument = InstrumentPicker()
    p.voice.setVisible(p.instrument.engine == "numpy")  # the voice matters only without a SoundFont
    p.device = QComboBox()
    p.device.setToolTip("Sound output device (as PortAudio reports them)")
    p.device.addItem("System default", None)
    for d in p.player.devices():
        p.device.addItem(f"{d['name']}{' (default)' if d['default'] else ''}", d["index"])
    p.device.currentIndexChanged.connect(lambda _: p.player.set_device(p.device.currentData()))
    # long device names elide inside the box instead of widening the dock
    p.device.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    p.device.setMinimumContentsLength(10)
    row = QHBoxLayout()
    for w, stretch in ((QLabel("Instrument"), 0), (p.instrument, 1), (QLabel("Output"), 0), (p.device, 1)):
        row.addWidget(w, stretch)
    return row


def build_editing(p: GenerationPanel) -> QHBoxLayout:
    """Undo, Redo, Clear, Load MIDI… and the bar generation continues from."""
    stack = p.roll.undo_stack
    p.undo_btn = button("Undo", "Undo the last edit (Ctrl+Z)", stack.undo)
    p.redo_btn = button("Redo", "Redo (Ctrl+Shift+Z)", stack.redo)
    stack.canUndoChanged.connect(p.undo_btn.setEnabled)
    stack.canRedoChanged.connect(p.redo_btn.setEnabled)
    p.clear_btn = button("Clear", "Remove every note (undoable)", lambda: p.roll.apply([], "Clear"))
    p.load_btn = button("Load MIDI…", "Load a primer melody from a MIDI file (its top line)",
                        lambda: _ask_midi(p))
    p.bar = spin(1, 64, 1, "Continue from this bar: the notes before it are the primer (Shift+click a bar too)",
                 prefix="from bar ")
    p.bar.valueChanged.connect(lambda v: p.roll.select_bar(v - 1) if p.roll.selected_bar != v - 1 else None)
    p.roll.bar_selected.connect(lambda b: p.bar.setValue(b + 1))
    return _row(p.undo_btn, p.redo_btn, p.clear_btn, p.load_btn, p.bar)


class GenerateBox(QGroupBox):
    """Length, temperature, top-k, top-p, variations and seed with Generate/Cancel and progress;
    the settings sit in one column beside the roll, or in two under it (``form.set_columns``)."""

    def __init__(self, p: GenerationPanel):
        super().__init__("Generate")
        p.bars = spin(1, 32, 4, "How much to write (4/4 bars of 16 steps)", suffix=" bars")
        p.temperature = spin(0.0, 3.0, 1.0, "Higher is more adventurous, lower is safer; 0 always picks the "
                             "likeliest event", step=0.1, decimals=2)
        p.top_k = spin(0, 200, 0, "Only choose among the k likeliest events (0: off)")
        p.top_p = spin(0.05, 1.0, 1.0, "Only choose among the likeliest events that together reach this "
                       "probability (1: off)", step=0.05, decimals=2)
        p.variations = spin(1, 8, 4, "How many variations to write (1-8), each with its own seed")
        p.seed.setToolTip("Same seed and settings give the same melodies")
        self.form = ControlGrid([("Length", p.bars), ("Temperature", p.temperature), ("Top-k", p.top_k),
                                 ("Top-p", p.top_p), ("Variations", p.variations), ("Seed", p.seed)])
        p.gen_btn = p.generate_button
        p.gen_btn.setToolTip("Write variations (continuing the primer before the selected bar)")
        p.gen_btn.clicked.connect(p.generate)
        p.cancel_btn = p.stop_button
        p.cancel_btn.setText("Cancel")
        p.cancel_btn.setToolTip("Stop generating")
        p.progress.setToolTip("Generation progress")
        p.progress.setTextVisible(False)
        lay = QVBoxLayout(self)
        lay.addWidget(self.form)
        lay.addLayout(_row(p.gen_btn, p.cancel_btn, stretch=False))
        lay.addWidget(p.progress)


def build_variations(p: GenerationPanel) -> QWidget:
    """The generated variations (click to hear, tick to keep) and the MIDI/WAV/FLAC export buttons."""
    p.var_list = QListWidget()
    p.var_list.setToolTip("Generated variations: click to load and hear one, tick to keep it when regenerating")
    p.var_list.itemClicked.connect(p._pick_variation)
    p.empty_vars = QLabel("Variations appear here after Generate.")
    p.empty_vars.setWordWrap(True)
    p.empty_vars.setStyleSheet("color: palette(placeholder-text);")
    p.midi_btn = button("MIDI…", "Export the melody as a MIDI file", lambda: _ask_export(p, ".mid"))
    p.wav_btn = button("WAV…", "Export the synth rendering as WAV (44.1 kHz)", lambda: _ask_export(p, ".wav"))
    p.flac_btn = button("FLAC…", "Export the synth rendering as FLAC (44.1 kHz)", lambda: _ask_export(p, ".flac"))
    export = QHBoxLayout()
    for b in (p.midi_btn, p.wav_btn, p.flac_btn):
        b.setMinimumWidth(b.fontMetrics().horizontalAdvance(b.text()) + 24)  # never elided
        b.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)  # share the column's width
        export.addWidget(b)
    p.copy_note = QLabel()
    p.copy_note.setWordWrap(True)
    p.copy_note.setToolTip("Each batch of variations is compared with the run's training tunes: how many of "
                           "its 8-note figures come from them (a warning when the model copies)")
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(QLabel("Variations"))
    lay.addWidget(p.empty_vars)
    lay.addWidget(p.var_list, 1)
    lay.addWidget(p.copy_note)
    lay.addLayout(export)
    return box


def build_roll_column(p: GenerationPanel) -> QWidget:
    """Transport, instrument and output, editing, and the piano roll under them."""
    p.roll = PianoRoll(p)
    p.roll.audition.connect(p.audition)
    p.roll.notes_changed.connect(p._sync)
    column = QWidget()
    lay = QVBoxLayout(column)
    lay.setContentsMargins(0, 0, 0, 0)
    for row in (build_transport(p), build_output(p), build_editing(p)):
        lay.addLayout(row)
    lay.addWidget(p.roll, 1)
    return column


def build_side_column(p: GenerationPanel, generate: GenerateBox) -> QWidget:
    """The generate controls above the variations (a column; ``ReflowSplit`` turns it into a row)."""
    side = QWidget()
    lay = QVBoxLayout(side)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(generate)
    lay.addWidget(build_variations(p), 1)
    return side
