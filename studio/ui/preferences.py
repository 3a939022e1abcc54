"""File › Preferences: the SoundFont that plays melodies (and the boxes of preferences_credentials.py
and preferences_cluster.py: the signing key, the Slurm cluster).

The choice is kept by ``studio.core.audio.soundfont`` (``audio.json`` in the config folder),
not in the Qt settings, so ``studio generate`` and ``studio doctor`` use the same file.
A file that cannot be used is refused with its name and the reason; the choice stays as it was.
"""
from __future__ import annotations

import logging

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QMessageBox,
                               QPushButton, QVBoxLayout)

from studio.core.audio.soundfont import SoundFontError, choose_soundfont, chosen_soundfont, current_synth

log = logging.getLogger(__name__)


class PreferencesDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        box = QGroupBox("SoundFont (the instruments melodies play with)")
        self.chosen_label = QLabel()
        self.chosen_label.setWordWrap(True)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.choose_btn = QPushButton("Choose SoundFont…")
        self.choose_btn.setToolTip("Use your own General MIDI SoundFont (.sf2) for Play, WAV/FLAC export and "
                                   "`studio generate`")
        self.choose_btn.clicked.connect(self._ask)
        self.builtin_btn = QPushButton("Use built-in")
        self.builtin_btn.setToolTip("Go back to the General MIDI SoundFont that comes with the studio")
        self.builtin_btn.clicked.connect(self.use_builtin)
        buttons = QHBoxLayout()
        buttons.addWidget(self.choose_btn)
        buttons.addWidget(self.builtin_btn)
        buttons.addStretch(1)
        inner = QVBoxLayout(box)
        inner.addWidget(self.chosen_label)
        inner.addWidget(self.status_label)
        inner.addLayout(buttons)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        from studio.ui.preferences_credentials import CredentialsBox
        self.credentials_box = CredentialsBox(self)  # which key signs exports (Content Credentials)
        from studio.ui.preferences_cluster import ClusterBox
        self.cluster_box = ClusterBox(self)  # what Models › Run on › Cluster (Slurm) submits
        lay = QVBoxLayout(self)
        lay.addWidget(box)
        lay.addWidget(self.credentials_box)
        lay.addWidget(self.cluster_box)
        lay.addWidget(close)
        self.refresh()

    def refresh(self) -> None:
        chosen = chosen_soundfont()
        self.chosen_label.setText(f"Chosen: {chosen}" if chosen else "Chosen: the built-in General MIDI SoundFont")
        choice = current_synth()[0]
        notes = "".join(f"\n{n}" for n in choice.notes)
        self.status_label.setText(f"Playing with: {choice.describe()}{notes}")
        self.builtin_btn.setEnabled(chosen is not None)

    def _ask(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a SoundFont", "",
                                              "SoundFont files (*.sf2 *.sf3);;All files (*)")
        if path:
            self.choose(path)

    def choose(self, path) -> bool:
        """Use ``path``; a file that cannot be used is refused in a message naming it and why."""
        try:
            choose_soundfont(path)
        except (SoundFontError, OSError) as exc:
            log.warning("%s", exc)
            QMessageBox.warning(self, "Cannot use this SoundFont", str(exc))
            return False
        finally:
            self.refresh()
        return True

    def use_builtin(self) -> None:
        choose_soundfont(None)
        self.refresh()
