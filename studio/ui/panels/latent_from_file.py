"""Your own picture or melody as a point of the latent grid, remembered as the file it came from.

Drop an image or a melody file on the Latent grid (or right-click a cell › Place your own file…):
the model encodes it (``studio.core.latent.from_files.encode_file``, as ``studio interpolate
--from-file`` does), it becomes a bookmark that remembers the file (``from_file``), and the grid
centres on it with it selected. A path made from such bookmarks remembers their files
(``from_files``). Exports whose content came from the file (that cell, a walk along that path) name
it as an ingredient of their Content Credentials through ``credentials.user_inputs``, the mechanism
the CLI uses, and in their recipe.

Studio exports dropped on the grid are left to the window, which restores how they were made.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QFileDialog

from studio.core.latent import make_bookmark, thumbnail_png

FROM_FILE = "from_file"     # a bookmark's {"name", "path"} of the artist's file
FROM_FILES = "from_files"   # a path's list of those
FILE_FILTER = ("Your pictures or melodies (*.png *.jpg *.jpeg *.webp *.bmp *.gif *.tif *.tiff *.mid *.midi *.abc "
               "*.xml *.musicxml *.mxl);;All files (*)")


def _entry(item: dict) -> dict | None:
    f = item.get(FROM_FILE)
    return f if isinstance(f, dict) and isinstance(f.get("path"), str) else None


def path_files(bookmarks: list[dict]) -> list[dict]:
    """The files of these bookmarks, for a path made from them (``from_files``)."""
    return [f for f in (_entry(b) for b in bookmarks) if f is not None]


def files_at(bookmarks: list[dict], vector) -> list[dict]:
    """The files whose bookmarked point is exactly ``vector`` (the cell shown there came from them)."""
    if vector is None:
        return []
    z = np.asarray(vector, np.float32).reshape(-1)
    out = []
    for b in bookmarks:
        f, v = _entry(b), b.get("vector")
        if f is not None and isinstance(v, list) and len(v) == len(z) and np.allclose(np.asarray(v, np.float32), z,
                                                                                        atol=1e-6):
            out.append(f)
    return out


def walk_files(path: dict) -> list[dict]:
    files = path.get(FROM_FILES)
    return [f for f in files if isinstance(f, dict) and isinstance(f.get("path"), str)] if isinstance(files, list) \
        else []


def ingredient_paths(files: list[dict]) -> list[str]:
    """The files to name as ingredients (those still where they were: a moved file is not claimed)."""
    return list(dict.fromkeys(f["path"] for f in files if Path(f["path"]).is_file()))


def _has_recipe(path: Path) -> bool:
    from studio.core.export.read import read_provenance

    try:
        return read_provenance(path) is not None
    except Exception:  # noqa: BLE001 - unreadable here: the encoder says why when it reads the file
        return False


class FilePlacer(QObject):
    """Encodes a dropped or chosen file on a helper thread and bookmarks the point it lands on."""

    message = Signal(str)
    placed = Signal(dict)           # the bookmark made
    _encoded = Signal(object, str)  # (FileCode, path) from the helper thread
    _failed = Signal(str)

    def __init__(self, panel, library, parent=None):
        super().__init__(parent)
        self.panel, self.library = panel, library
        self.model = None           # the LoadedModel being explored
        self._encoded.connect(self._bookmark)
        self._failed.connect(self.message)
        panel.setAcceptDrops(True)
        panel.installEventFilter(self)

    # -- drops on the grid --------------------------------------------------
    def eventFilter(self, obj, event):  # noqa: N802 - Qt API
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.Drop):
            files = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
            files = [p for p in files if p.is_file()]
            if not files or not self.can_place() or _has_recipe(files[0]):
                event.ignore()      # not ours: the window restores a studio export or offers to import
                return False
            event.acceptProposedAction()
            if kind == QEvent.Type.Drop:
                self.place(files[0])
            return True
        return False

    def can_place(self) -> bool:
        """A model is open and it can encode (a VAE; a GAN cannot place a file)."""
        from studio.core.latent.from_files import can_encode

        return self.model is not None and can_encode(self.model.model)

    def choose(self) -> None:
        """Right-click › Place your own file…: pick a picture or melody to place."""
        path, _ = QFileDialog.getOpenFileName(self.panel, "Place your own file in the latent space", "", FILE_FILTER)
        if path:
            self.place(path)

    # -- encoding -------------------------------------------------------------
    def place(self, path: str | Path) -> bool:
        """Encode ``path`` with the open model (in the background); ``placed`` tells when it is bookmarked."""
        lm, path = self.model, Path(path)
        if lm is None:
            self.message.emit("Open a model first, then drop your picture or melody on the grid")
            return False
        self.message.emit(f"Placing {path.name} in the latent space…")

        def job():
            from studio.core.latent.from_files import FileEncodeError, encode_file
            try:
                code = encode_file(lm.model, path, run_dir=lm.run or None)
            except FileEncodeError as exc:
                self._failed.emit(str(exc))
            except Exception as exc:  # noqa: BLE001 - a model that fails on the file: say so, keep the grid
                self._failed.emit(f"{path.name}: could not be placed ({type(exc).__name__}: {exc})")
            else:
                self._encoded.emit(code, str(path.expanduser().resolve()))

        threading.Thread(target=job, name="latent-place-file", daemon=True).start()
        return True

    def _bookmark(self, code, path: str) -> None:
        lm = self.model
        if lm is None or code.vector.shape[0] != lm.latent_dim:
            return  # another model was opened meanwhile
        thumb = thumbnail_png(np.transpose(code.data, (1, 2, 0))) if code.modality == "image" else None
        bm = make_bookmark(Path(path).stem, plugin=lm.plugin_id, run=lm.run, checkpoint=lm.checkpoint,
                           vector=code.vector, thumbnail=thumb, **{FROM_FILE: {"name": code.name, "path": path}})
        added = self.library.add("bookmarks", bm) or bm
        self.panel.show_vector(code.vector, None, f"{code.name} (your file)")
        notes = f" ({'; '.join(code.notes)})" if code.notes else ""
        self.message.emit(f"Placed {code.name} as the bookmark “{added['name']}”{notes}; its cell and walks "
                          "from it name the file in their Content Credentials")
        self.placed.emit(added)
