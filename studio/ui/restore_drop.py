"""Drop an exported file on the window to restore how it was made (the ComfyUI-style round trip).

Every file the studio exports carries its recipe (``studio.core.export``). Dropping a PNG, JPEG,
WebP, GIF, MP4, MIDI, WAV, FLAC or TXT on the window reads it back, shows it (with the
AI-generated disclosure) and offers to restore the generation: the run opens everywhere
(``ctx.run_selected``) and the seed, latent vector and sampling settings go to the panel that made
it (Latent grid, Melody or Text) as one typed ``ctx.restore_requested`` signal (a ``RestoreRequest``)
that the panels subscribe to. A missing run folder is said in words, with a way to pick
it; a file without a recipe is offered to the Datasets panel for import instead.
The Datasets panel keeps its own drops: the window only sees drops that land elsewhere.
"""
from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QLabel, QMessageBox,
                               QPushButton, QVBoxLayout)

from studio.core.export.provenance import ProvenanceError, restore_spec
from studio.core.export.read import read_provenance
from studio.core.recipe_check import check_recipe
from studio.core.training.run_folder import RunFolderError, read_run
from studio.ui.restore_request import RestoreRequest, RestoreTarget

log = logging.getLogger("studio.ui.restore")
#: files the window takes from a drop (the studio writes its recipe into each of these)
RESTORE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".mp4", ".mid", ".midi", ".wav", ".flac", ".txt")
_MODALITY_BY_EXT = {**dict.fromkeys((".png", ".jpg", ".jpeg", ".webp", ".gif", ".mp4"), "image"),
                    **dict.fromkeys((".mid", ".midi", ".wav", ".flac"), "melody"), ".txt": "text"}
_PANEL_TITLES = {"latent": "Latent grid", "melody": "Melody", "text": "Text"}


def dropped_files(mime) -> list[Path]:
    """The local files of a drop that may carry a recipe (folders and other kinds are left to the panels)."""
    if not mime.hasUrls():
        return []
    out = []
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in RESTORE_EXTENSIONS and path.is_file():
                out.append(path)
    return out


def _run_json(folder: Path) -> dict[str, Any] | None:
    try:
        return read_run(folder)
    except RunFolderError:  # no run.json, or an unreadable one: not a run to restore from
        return None


@dataclass
class Restore:
    """One file's recipe and what was found of its run on this machine."""

    path: Path
    recipe: dict[str, Any]
    spec: dict[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None
    run_note: str = ""
    checkpoint: Path | None = None
    checkpoint_note: str = ""
    credentials: Any = None     # studio.core.export.verification.Verification, or None (not checked)

    @property
    def modality(self) -> str:
        return self.recipe.get("modality") or _MODALITY_BY_EXT.get(self.path.suffix.lower(), "image")

    @property
    def sample_seed(self) -> int | None:
        """The seed of this very sample: melodies and texts number a batch seed, seed + 1, …"""
        seed = self.spec.get("seed")
        if seed is None or self.modality == "image":
            return seed
        return int(seed) + int(self.spec.get("index") or 0)

    @property
    def target(self) -> RestoreTarget:
        """The panel that takes the restored settings."""
        if self.spec.get("vector") is not None:
            return "latent"
        return {"melody": "melody", "text": "text"}.get(self.modality, "latent")

    def request(self) -> RestoreRequest:
        """What the target panel needs to put the generation back (sent as ``ctx.restore_requested``)."""
        spec, ck = self.spec, self.recipe.get("checkpoint") or {}
        source = {"plugin_id": spec.get("plugin") or "", "plugin_version": spec.get("plugin_version") or "",
                  "run_id": spec.get("run_id") or "",
                  "run_path": str(self.run_dir.resolve()) if self.run_dir else None,
                  "checkpoint_path": str(self.checkpoint.resolve()) if self.checkpoint else None,
                  "checkpoint_step": ck.get("step"), "checkpoint_sha256": ck.get("sha256")}
        vector = spec.get("vector")
        caption = f"{self.path.name} · seed {spec['seed']}" if spec.get("seed") is not None else self.path.name
        return RestoreRequest(target=self.target, file=self.path, seed=self.sample_seed,
                              sampling=dict(spec.get("sampling") or {}), run_dir=self.run_dir,
                              checkpoint=self.checkpoint, source=source,
                              edited=bool(self.recipe.get("edited_by_hand")),
                              vector=tuple(float(v) for v in vector) if vector is not None else None,
                              caption=caption)


def locate(restore: Restore, project=None) -> None:
    """Find the run folder (the recorded path, else a run of the open project with the same id)
    and the recorded checkpoint in it; the notes say in words what was found."""
    spec = restore.spec
    run_id, recorded = spec.get("run_id") or "", spec.get("run_path")
    restore.run_dir, restore.run_note = None, ""
    if recorded and _run_json(Path(recorded)) is not None:
        restore.run_dir = Path(recorded)
    elif run_id and project is not None:
        for ref in project.runs:
            folder = project.resolve(ref)
            info = _run_json(folder)
            if info is not None and run_id in (str(info.get("id", "")), folder.name):
                restore.run_dir = folder
                restore.run_note = f"found in the project (the file names {recorded})" if recorded else \
                    "found in the project"
                break
    if restore.run_dir is None:
        if recorded:
            restore.run_note = f"The run folder {recorded} is missing (moved or deleted)."
        elif restore.recipe.get("privacy"):
            restore.run_note = "The file was exported privately: it does not say where its run folder is."
        else:
            restore.run_note = "The file does not say which run folder made it."
    else:
        info = _run_json(restore.run_dir) or {}
        made_by = (info.get("plugin") or {}).get("id")
        if made_by and spec.get("plugin") and made_by != spec["plugin"]:
            restore.run_note = (f"{restore.run_dir} holds a {made_by} run, but the file was made by "
                                f"{spec['plugin']}.")
            restore.run_dir = None
    _find_checkpoint(restore)


def _find_checkpoint(restore: Restore) -> None:
    from studio.core.export.provenance import sha256_file

    restore.checkpoint, restore.checkpoint_note = None, ""
    ck = restore.recipe.get("checkpoint") or {}
    if restore.run_dir is None or not ck:
        return
    candidates = [Path(ck["path"])] if ck.get("path") else []
    if ck.get("path"):  # the run may have moved: the same file name in its checkpoints folder
        candidates.append(restore.run_dir / "checkpoints" / Path(ck["path"]).name)
    elif ck.get("step") is not None:
        candidates.append(restore.run_dir / "checkpoints" / f"step-{int(ck['step']):08d}.safetensors")
    found = next((p for p in candidates if p.is_file()
                  and restore.run_dir.resolve() in p.resolve().parents), None)
    if found is None:
        restore.checkpoint_note = (f"its checkpoint (step {ck.get('step', '?')}) is gone from the run: the newest "
                                   "one is used, so a regenerated sample may differ")
        return
    if ck.get("sha256") and sha256_file(found) != ck["sha256"]:
        restore.checkpoint_note = "the checkpoint file changed since (its hash differs): the result may differ"
    restore.checkpoint = found


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
    if v is not None:
        colour = {"valid": "#1e8449", "tampered": "#c0392b"}.get(v.state, "#9a7d0a")
        rows.append(("Content Credentials", f"<span style='color:{colour}'>{_html(v.describe())}</span>"))
    rows.append(("Restores into", _PANEL_TITLES[restore.target]))
    return rows


def _html(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br>")


#: files larger than this are not hashed on the window's thread when dropped (said in the dialog)
VERIFY_MAX_BYTES = 200 << 20


def check_credentials(path: Path):
    """The file's Content Credentials (``verify_file``), or a note that a very large file was not checked."""
    from studio.core.export.verification import Verification, verify_file

    if path.stat().st_size > VERIFY_MAX_BYTES:
        return Verification(str(path), "unreadable", f"not checked here: over {VERIFY_MAX_BYTES >> 20} MB; "
                                                     f"run `studio verify {path.name}`")
    return verify_file(path)


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
            f"Open the run and put the seed and settings into the {_PANEL_TITLES[self.restore.target]} panel"
            if found else "Put the seed and settings into the panel without opening a run")
        self.choose_btn.setVisible(not found)
        self.restore_btn.setDefault(True)

    def choose_run(self) -> bool:
        folder = QFileDialog.getExistingDirectory(self, "Choose the run folder that made this file")
        if not folder:
            return False
        info = _run_json(Path(folder))
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


class RestoreDrop(QObject):
    """The window's drop target for exported files (installed by :func:`install_restore_drop`)."""

    def __init__(self, window):
        super().__init__(window)
        self.window, self.ctx = window, window.ctx
        self.last: Restore | None = None     # the last restore carried out (tests, status)

    # -- drag and drop (called by MainWindow's handlers) -----------------------------------
    def drag_enter(self, event) -> bool:
        if dropped_files(event.mimeData()):
            event.acceptProposedAction()
            return True
        return False

    def drop(self, event) -> bool:
        paths = dropped_files(event.mimeData())
        if not paths:
            return False
        event.acceptProposedAction()
        # A modal dialog inside the drop handler would hold the drag source: ask once it is over.
        QTimer.singleShot(0, self, lambda: self.restore_files(paths))
        return True

    # -- the round trip ---------------------------------------------------------------------
    def restore_files(self, paths: list[Path]) -> Restore | None:
        """Read the files' recipes; restore the first that has one, else offer to import them."""
        plain: list[Path] = []
        for path in map(Path, paths):
            try:
                recipe = read_provenance(path)
                if recipe is not None:  # any JSON can sit in a file: types are checked before use
                    recipe = check_recipe(recipe, source=str(path))
            except (ProvenanceError, ValueError, OSError) as exc:  # RecipeError is a ValueError
                log.warning("%s", exc)
                # an edited file may no longer decode: its Content Credentials say whether it was tampered with
                checked = check_credentials(path)
                more = f"\n\n{checked.describe()}" if checked.state != "none" else ""
                QMessageBox.warning(self.window, "Cannot read the file's recipe", f"{exc}{more}")
                continue
            if recipe is None:
                plain.append(path)
                continue
            restore = Restore(path, recipe, restore_spec(recipe), credentials=check_credentials(path))
            locate(restore, self.ctx.project)
            return self.ask_and_restore(restore)
        if plain:
            self._offer_import(plain)
        return None

    def ask_and_restore(self, restore: Restore) -> Restore | None:
        dialog = RestoreDialog(restore, self.ctx.project, self.window)
        dialog.exec()
        if dialog.choice != "restore":
            return None
        self.apply(restore)
        return restore

    def apply(self, restore: Restore) -> None:
        """Open the run everywhere and send the seed, vector and settings to the panel that made the file
        (``ctx.restore_requested``: the panels subscribe; this code never calls them)."""
        spec, request = restore.spec, restore.request()
        if restore.run_dir is not None:
            self.ctx.run_selected.emit(str(restore.run_dir))
        target = request.target
        if target not in self.ctx.restore_targets:
            self.ctx.status_message.emit(f"The {_PANEL_TITLES[target]} panel is not loaded; only the run was opened")
        elif target == "latent" and request.vector is None:
            self.ctx.status_message.emit(f"{restore.path.name} keeps its latent vector as a hash only (it is long): "
                                         f"the run is open; generate with seed {request.seed} to make it again")
        else:
            self.ctx.restore_requested.emit(request)
        dock = self.window.docks.get(target)
        if dock is not None:
            dock.show()
            dock.raise_()
        self.last = restore
        where = f"run {spec.get('run_id')}" if restore.run_dir is not None else "settings only"
        self.ctx.status_message.emit(f"Restored {restore.path.name} ({where}, seed {request.seed})")

    def _offer_import(self, paths: list[Path]) -> None:
        names = ", ".join(p.name for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        datasets = self.window.panels.get("datasets")
        text = (f"{names} {'carries' if len(paths) == 1 else 'carry'} no studio recipe: not made by the studio, "
                "or the metadata was removed by another program, so there is nothing to restore.")
        if datasets is None:
            QMessageBox.information(self.window, "Nothing to restore", text)
            return
        answer = QMessageBox.question(self.window, "Nothing to restore", text + "\n\nImport into Datasets instead?")
        if answer == QMessageBox.StandardButton.Yes:
            dock = self.window.docks.get("datasets")
            if dock is not None:
                dock.show()
                dock.raise_()
            datasets.import_paths([str(p) for p in paths])


def install_restore_drop(window) -> RestoreDrop:
    """Let ``window`` take dropped exported files (its dragEnterEvent/dropEvent call the returned object)."""
    window.setAcceptDrops(True)
    return RestoreDrop(window)
