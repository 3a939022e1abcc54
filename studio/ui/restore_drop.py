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

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox

from studio.core.export.provenance import ProvenanceError, restore_spec
from studio.core.export.read import read_provenance
from studio.core.recipe_check import check_recipe
from studio.ui.restore_dialog import RestoreDialog, check_credentials
from studio.ui.restore_recipe import PANEL_TITLES, Restore, dropped_files, locate

log = logging.getLogger("studio.ui.restore")


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
            restore = Restore(path, recipe, restore_spec(recipe))  # its credentials: checked by the dialog
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
            self.ctx.status_message.emit(f"The {PANEL_TITLES[target]} panel is not loaded; only the run was opened")
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
