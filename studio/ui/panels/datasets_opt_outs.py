"""Files an import skipped because their Content Credentials say no to AI training: ask the artist once.

The importer (``studio.core.datasets.training_permission``) skips such files unless the dataset
remembers ``training_opt_outs: include`` (what ``studio import --do-not-train include`` sets). After an
import in the window that skipped some, the Datasets panel asks once: leave them out (recommended), or
include them, which re-imports the dataset with that setting remembered in its manifest. "Leave them
out" is remembered too (per dataset, per file, in the studio's settings), so a re-import of the same
files does not ask again; a new file that says no to training is asked about.
"""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from studio.core.datasets.report import ImportResult

#: The words of ``TrainingPermission.describe()`` for a file whose creator said no to AI training
#: (the import report's reason for the skip).
NOT_ALLOWED = "its Content Credentials say AI training is not allowed"
SETTINGS_KEY = "datasets/training_opt_outs_left_out"   # {dataset folder: [paths the artist left out]}
NAMES_SHOWN = 6


def opted_out(result: ImportResult) -> list[str]:
    """The files this import skipped because their credentials say no to AI training."""
    return [s["path"] for s in result.skipped if NOT_ALLOWED in str(s.get("reason", ""))]


def _key(folder: str | Path) -> str:
    return str(Path(folder).expanduser().resolve())


class OptOutMemory:
    """What the artist answered "Leave them out" to, per dataset folder (in the studio's settings)."""

    def __init__(self, settings):
        self.settings = settings

    def _all(self) -> dict[str, list[str]]:
        try:
            data = json.loads(str(self.settings.value(SETTINGS_KEY, "{}") or "{}"))
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def left_out(self, folder: str | Path) -> set[str]:
        return {str(p) for p in self._all().get(_key(folder), []) if isinstance(p, str)}

    def leave_out(self, folder: str | Path, files: list[str]) -> None:
        data = self._all()
        data[_key(folder)] = sorted(self.left_out(folder) | set(files))
        self.settings.setValue(SETTINGS_KEY, json.dumps(data))
        self.settings.sync()

    def forget(self, folder: str | Path) -> None:
        """The artist included them: nothing left out any more (the dataset remembers the choice)."""
        data = self._all()
        if data.pop(_key(folder), None) is not None:
            self.settings.setValue(SETTINGS_KEY, json.dumps(data))
            self.settings.sync()


def question(parent, files: list[str]) -> tuple[QMessageBox, object]:
    """The dialog (not yet shown) and its "Include them" button."""
    names = [Path(f).name for f in files]
    shown = ", ".join(names[:NAMES_SHOWN]) + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN
                                              else "")
    box = QMessageBox(QMessageBox.Icon.Question, "Files that say: do not train",
                      f"{len(files)} file(s) say their owner does not allow AI training: {shown}.", parent=parent)
    box.setInformativeText("Their Content Credentials (C2PA) carry the creator's \"do not train\" preference. "
                           "Leave them out unless they are yours or their owner agreed. Your answer is "
                           "remembered for this dataset; the Report tab lists these files either way.")
    box.setDetailedText("\n".join(files))
    leave = box.addButton("Leave them out (recommended)", QMessageBox.ButtonRole.RejectRole)
    include = box.addButton("Include them", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(leave)
    box.setEscapeButton(leave)
    return box, include


def ask_to_include(parent, files: list[str]) -> bool:
    """Ask once; True when the artist chose "Include them"."""
    box, include = question(parent, files)
    box.exec()
    return box.clickedButton() is include
