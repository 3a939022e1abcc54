"""The Melody panel's instrument chooser: the 128 General MIDI programs by name.

The chosen program plays the preview, renders WAV/FLAC and goes into exported MIDI
files, so the studio and a DAW play the same instrument.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from studio.core.audio.instruments import DEFAULT_PROGRAM, GM_PROGRAMS
from studio.core.audio.soundfont import current_synth


class InstrumentPicker(QComboBox):
    def __init__(self, parent=None):
        super().__init__(parent)
        for program, name in enumerate(GM_PROGRAMS):
            self.addItem(name, program)
            self.setItemData(program, f"General MIDI program {program}", Qt.ItemDataRole.ToolTipRole)
        self.setMaxVisibleItems(24)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(12)  # long names elide rather than widen the dock
        self.set_program(DEFAULT_PROGRAM)
        choice = current_synth()[0]  # also logs, once, why a SoundFont was passed over
        self.engine = choice.engine
        self.describe_synth({"engine": choice.engine, "soundfont": choice.path.name if choice.path else None})

    def program(self) -> int:
        return int(self.currentData())

    def set_program(self, program: int) -> None:
        index = self.findData(int(program))
        if index >= 0:
            self.setCurrentIndex(index)

    def describe_synth(self, synth: dict) -> None:
        """Say in the tooltip what plays the instrument (``synth``: a rendering's synth record)."""
        self.engine = synth.get("engine", "numpy")
        if self.engine == "soundfont":
            how = f"played by the SoundFont {synth.get('soundfont')} (choose another in File › Preferences)"
        else:
            how = ("no SoundFont could be loaded, so the built-in synth voice plays instead "
                   "(File › Preferences; `studio doctor` says why)")
        self.setToolTip(f"Instrument for Play, WAV/FLAC export and the MIDI file's program: {how}")
