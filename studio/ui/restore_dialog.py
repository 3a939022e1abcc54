"""The dialog a dropped file opens: its recipe in words (run, model, checkpoint, seed, vector,
sampling), the AI-generated disclosure and its Content Credentials, checked on a background thread
(hashing a long video must not freeze the window): the row says "checking…" until the answer comes.
"""
from __future__ import annotations

import html
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QLabel, QMessageBox,
                               QPushButton, QVBoxLayout)

from studio.ui.restore_recipe import PANEL_TITLES, Restore, locate, run_json

def _short(value: Any, limit: int = 60) -> str:
    text = str(value).replace("\n", "⏎")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def describe(restore: Restore) -> list[tuple[str, str]]:
    """The recipe as (label, text) rows for the dialog."""
    r, spec = restore.recipe, restore.spec
    rows = [("Model", f"{spec.get('plugin') or 'unknown'} {spec.get('plugin_version') or ''}".strip())]
    run = spec.get("run_id") or "—"
    if restore.run_dir is not None:
        rows.append(("Run", f"{run} — {restore.run_dir}" + (f" ({restore.run_note})" if restore.run_note else "")))
    else:
        rows.append(("Run", f"{run} — <span style='color:#c0392b'>{restore.run_note}</span>"))
    ck = r.get("checkpoint") or {}
    if ck:
        text = f"step {ck.get('step', '?')}" + (f" · sha256 {ck['sha256'][:12]}…" if ck.get("sha256") else "")
        if restore.checkpoint_note:
            text += f" — <span style='color:#9a7d0a'>{restore.checkpoint_note}</span>"
        elif restore.checkpoint is not None:
            text += " — restoring opens this very checkpoint"
        rows.append(("Checkpoint", text))
    if spec.get("seed") is not None:
        n, index = spec.get("n") or 1, spec.get("index") or 0
        rows.append(("Seed", f"{spec['seed']}" + (f" (sample {index + 1} of {n})" if n > 1 else "")))
    if spec.get("vector") is not None:
        vec = spec["vector"]
        rows.append(("Latent vector", f"{len(vec)} values: " + ", ".join(f"{v:.3g}" for v in vec[:4])
                     + (", …" if len(vec) > 4 else "")))
    elif r.get("vector_sha256"):
        rows.append(("Latent vector", f"{r.get('vector_dims', '?')} values, kept as a hash only"))
    sampling = {k: v for k, v in spec.get("sampling", {}).items() if k not in ("prime", "prime_events")}
    if sampling:
        rows.append(("Sampling", " · ".join(f"{k.replace('_', ' ')} {v:g}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}"
                                            for k, v in sampling.items())))
    if spec.get("sampling", {}).get("prime"):
        rows.append(("Prime", _short(spec["sampling"]["prime"])))
    if r.get("edited_by_hand"):
        rows.append(("Edited", "the notes were changed by hand after generation"))
    v = restore.credentials
    if v is None and restore.path.is_file():
        rows.append(("Content Credentials", "checking…"))
    elif v is not None:
        colour = {"valid": "#1e8449", "tampered": "#c0392b"}.get(v.state, "#9a7d0a")
        rows.append(("Content Credentials", f"<span style='color:{colour}'>{_html(v.describe())}</span>"))
    rows.append(("Restores into", PANEL_TITLES[restore.target]))
    return rows


def _html(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br>")


#: files larger than this are not hashed when dropped (said in the dialog; `studio verify` checks any size)
VERIFY_MAX_BYTES = 200 << 20


def check_credentials(path: Path):
    """The file's Content Credentials (``verify_file``), or a note that a very large file was not checked."""
    from studio.core.export.verification import Verification, verify_file

    if path.stat().st_size > VERIFY_MAX_BYTES:
        return Verification(str(path), "unreadable", f"not checked here: over {VERIFY_MAX_BYTES >> 20} MB; "
                                                     f"run `studio verify {path.name}`")
    return verify_file(path)


class CredentialsCheck(QObject):
    """``check_credentials`` on a daemon thread; ``done(Verification)`` arrives on the UI thread."""

    done = Signal(object)

    def __init__(self, path: Path, parent=None):
        super().__init__(parent)
        self.path = path
        self.thread = threading.Thread(target=self._run, daemon=True, name="studio-verify")

    def _run(self) -> None:
        from studio.core.export.verification import Verification

        try:
            result = check_credentials(self.path)
        except OSError as exc:  # moved or unreadable since the drop
            result = Verification(str(self.path), "unreadable", f"not checked: {exc}")
        try:
            self.done.emit(result)
        except RuntimeError:  # the dialog closed (and took this object with it) before the answer came
            pass


class RestoreDialog(QDialog):
    """Shows a file's recipe; ``choice`` is "restore" or "" (cancelled) after it closes."""

    def __init__(self, restore: Restore, project=None, parent=None):
        super().__init__(parent)
        self.restore, self.project, self.choice = restore, project, ""
        self.setWindowTitle("Restore this generation?")
        self.setMinimumWidth(560)
        r = restore.recipe
        head = QLabel(f"<b>{restore.path.name}</b><br>{r.get('disclosure', 'AI-generated')} with "
                      f"{r.get('generator', 'Generative Studio')}, {r.get('created', '')}")
        head.setToolTip(str(restore.path))
        badge = QLabel(f"<b>{r.get('disclosure', 'AI-generated')}</b> — IPTC digital source type: trained "
                       "algorithmic media. This disclosure stays in every file the studio writes.")
        badge.setWordWrap(True)
        badge.setStyleSheet("background: #fdf2d0; color: #5a4500; padding: 6px; border-radius: 4px;")
        badge.setToolTip(r.get("digital_source_type", ""))
        self.form = QFormLayout()
        self.buttons = QDialogButtonBox()
        self.restore_btn = self.buttons.addButton("Restore", QDialogButtonBox.ButtonRole.AcceptRole)
        self.choose_btn = QPushButton("Choose run folder…")
        self.choose_btn.setToolTip("Point to the run folder that made this file (after moving or copying it)")
        self.buttons.addButton(self.choose_btn, QDialogButtonBox.ButtonRole.ActionRole)
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setToolTip("Leave everything as it is")
        self.restore_btn.clicked.connect(self._accept)
        self.choose_btn.clicked.connect(self.choose_run)
        cancel.clicked.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addWidget(badge)
        lay.addLayout(self.form)
        lay.addWidget(self.buttons)
        self.check: CredentialsCheck | None = None
        if restore.credentials is None and restore.path.is_file():
            self.check = CredentialsCheck(restore.path, self)
            self.check.done.connect(self._credentials_checked)
            self.check.thread.start()
        self.refresh()

    def _credentials_checked(self, verification) -> None:
        self.restore.credentials = verification
        self.refresh()

    def refresh(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        for label, text in describe(self.restore):
            value = QLabel(text)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setToolTip(text if "<" not in text else "")
            self.form.addRow(f"{label}:", value)
        found = self.restore.run_dir is not None
        self.restore_btn.setText("Restore" if found else "Restore settings only")
        self.restore_btn.setToolTip(
            f"Open the run and put the seed and settings into the {PANEL_TITLES[self.restore.target]} panel"
            if found else "Put the seed and settings into the panel without opening a run")
        self.choose_btn.setVisible(not found)
        self.restore_btn.setDefault(True)

    def choose_run(self) -> bool:
        folder = QFileDialog.getExistingDirectory(self, "Choose the run folder that made this file")
        if not folder:
            return False
        info = run_json(Path(folder))
        if info is None:
            QMessageBox.warning(self, "Not a run folder", f"{folder} is not a run folder: it has no run.json.")
            return False
        self.restore.spec["run_path"] = folder
        locate(self.restore, self.project)
        if self.restore.run_dir is None:
            QMessageBox.warning(self, "Another run", self.restore.run_note)
            return False
        if str(info.get("id", "")) not in ("", self.restore.spec.get("run_id") or ""):
            self.restore.run_note = (f"chosen by hand; its id {info.get('id')} differs from the file's "
                                     f"{self.restore.spec.get('run_id')}")
        self.refresh()
        return True

    def _accept(self) -> None:
        self.choice = "restore"
        self.accept()


