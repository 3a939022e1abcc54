"""The Text panel's controls, one named builder per group: the prime, the sampling settings, the presets
row and the Generate row. Each creates its widgets as attributes of the panel (the names tests and the
benchmarks use: ``panel.prime``, ``panel.length``…), connects them and returns what holds them.
"""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit

from studio.ui.panels.control_grid import ControlGrid
from studio.ui.panels.generation_panel import GenerationPanel, button, spin

MAX_SAMPLES = 4
#: where Save… records the generation settings (shown after "Save settings in")
SAVE_PLACEMENTS = {"a header comment": "header", "a sidecar .json file": "sidecar", "a footer comment": "footer"}


def build_prime(p: GenerationPanel) -> QPlainTextEdit:
    p.prime = QPlainTextEdit()
    p.prime.setPlaceholderText("Start the text here (optional): the model continues from it…")
    p.prime.setToolTip("Prime text: the model continues writing from here. Characters it never saw "
                       "in training are skipped.")
    p.prime.setFixedHeight(56)
    return p.prime


def build_sampling(p: GenerationPanel) -> ControlGrid:
    """Length, temperature, top-k, top-p, repetition penalty, seed and samples, in as many columns as fit."""
    p.length = spin(1, 100_000, 300, "How many characters to write per sample")
    p.temperature = spin(0.0, 3.0, 0.8, "Randomness: 0 always takes the most likely character; "
                         "higher is more surprising", step=0.05, decimals=2, special="0 (greedy)")
    p.top_k = spin(0, 1000, 0, "Only choose among the k most likely characters (off: all)", special="off")
    p.top_p = spin(0.01, 1.0, 0.95, "Nucleus: only choose among the most likely characters that together "
                   "reach this probability (1 = off)", step=0.05, decimals=2)
    p.repetition = spin(1.0, 3.0, 1.0, "Penalise characters used in the last 64: above 1 repeats less",
                        step=0.05, decimals=2)
    p.samples = spin(1, MAX_SAMPLES, 2, "Samples written side by side, with seeds seed, seed+1, …")
    return ControlGrid([("Length", p.length), ("Temperature", p.temperature), ("Top-k", p.top_k),
                        ("Top-p", p.top_p), ("Repetition penalty", p.repetition), ("Seed", p.seed),
                        ("Samples", p.samples)], auto=True)


def build_presets(p: GenerationPanel) -> QHBoxLayout:
    """Apply, save and delete named settings."""
    p.preset = QComboBox()
    p.preset.setToolTip("Apply saved generation settings")
    p.preset.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    p.preset.activated.connect(lambda _i: p.apply_preset(p.preset.currentText()))
    p.save_preset_button = button("Save preset…", "Keep the current settings under a name for later",
                                  p.ask_preset_name)
    p.delete_preset_button = button("Delete", "Delete the selected preset (built-in presets stay)",
                                    lambda: p.delete_preset(p.preset.currentText()))
    row = QHBoxLayout()
    for w in (QLabel("Preset"), p.preset, p.save_preset_button, p.delete_preset_button):
        row.addWidget(w)
    row.addStretch(1)
    return row


def build_generate_row(p: GenerationPanel) -> QHBoxLayout:
    """Generate, Stop, New seed, and where Save… puts the settings."""
    p.generate_button.setToolTip("Write the samples (Ctrl+Return)")
    p.generate_button.setShortcut("Ctrl+Return")
    p.generate_button.clicked.connect(p.generate)
    p.new_seed = button("New seed", "Pick a new seed (the next unused one)",
                        lambda: p.seed.setValue(p.seed.value() + p.samples.value()))
    p.placement = QComboBox()
    p.placement.addItems(list(SAVE_PLACEMENTS))
    p.placement.setToolTip("Where Save… records the generation settings: a comment in the .txt file "
                           "or a .json file beside it")
    p.placement.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # never cut
    row = QHBoxLayout()
    for w in (p.generate_button, p.stop_button, p.new_seed):
        row.addWidget(w)
    row.addStretch(1)
    row.addWidget(QLabel("Save settings in"))
    row.addWidget(p.placement)
    return row
