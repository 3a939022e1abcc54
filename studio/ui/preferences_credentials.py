"""File › Preferences › Content Credentials: which key signs exports, and what its signature proves.

The choice is kept by ``studio.core.export.signing_key`` (``credentials.json`` in the config folder),
so ``studio generate`` signs with the same key. A certificate C2PA cannot sign with is refused with
its name and the reason; the choice stays as it was.
"""
from __future__ import annotations

import logging

from PySide6.QtWidgets import QFileDialog, QGroupBox, QHBoxLayout, QLabel, QMessageBox, QPushButton, QVBoxLayout

from studio.core.export import signing_key
from studio.core.export.credentials import use_own_certificate

log = logging.getLogger(__name__)

SELF_SIGNED_TEXT = ("The studio's own key is self-signed. A credential made with it proves that a file is "
                    "unchanged since you exported it and which key signed it — not who you are, since nobody "
                    "vouched for the key. A certificate issued to you (e.g. by your organisation) can say who "
                    "signed.")
PEM_FILTER = "PEM files (*.pem *.crt *.cer *.key);;All files (*)"


class CredentialsBox(QGroupBox):
    def __init__(self, parent=None):
        super().__init__("Content Credentials (the C2PA signature on every export)", parent)
        self.signer_label = QLabel()
        self.signer_label.setWordWrap(True)
        self.note_label = QLabel(SELF_SIGNED_TEXT)
        self.note_label.setWordWrap(True)
        self.choose_btn = QPushButton("Use my certificate…")
        self.choose_btn.setToolTip("Sign exports with your own certificate chain (PEM, end entity first) and "
                                   "its private key (PEM, unencrypted)")
        self.choose_btn.clicked.connect(self._ask)
        self.studio_btn = QPushButton("Use the studio's key")
        self.studio_btn.setToolTip("Go back to the self-signed key the studio made for you")
        self.studio_btn.clicked.connect(self.use_studio_key)
        buttons = QHBoxLayout()
        buttons.addWidget(self.choose_btn)
        buttons.addWidget(self.studio_btn)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.signer_label)
        lay.addWidget(self.note_label)
        lay.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        chosen = signing_key.chosen_certificate()
        if chosen:
            self.signer_label.setText(f"Signing with your certificate: {chosen[0]}\n(key: {chosen[1]})")
        else:
            made = (signing_key.key_folder() / signing_key.KEY_FILE).is_file()
            where = signing_key.key_folder()
            self.signer_label.setText(f"Signing with the studio's self-signed key ({where})" if made else
                                      f"Signing with the studio's self-signed key (made in {where} on your "
                                      "first export)")
        self.studio_btn.setEnabled(chosen is not None)

    def _ask(self) -> None:
        cert, _ = QFileDialog.getOpenFileName(self, "Your certificate chain (PEM)", "", PEM_FILTER)
        if not cert:
            return
        key, _ = QFileDialog.getOpenFileName(self, "Its private key (PEM)", "", PEM_FILTER)
        if key:
            self.use_certificate(cert, key)

    def use_certificate(self, cert, key) -> bool:
        """Sign with this pair from now on; one that cannot be used is refused in a message naming it and why."""
        try:
            use_own_certificate(cert, key)
        except (signing_key.SigningKeyError, OSError) as exc:
            log.warning("%s", exc)
            QMessageBox.warning(self, "Cannot sign with this certificate", str(exc))
            return False
        finally:
            self.refresh()
        return True

    def use_studio_key(self) -> None:
        use_own_certificate(None)
        self.refresh()
