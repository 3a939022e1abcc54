"""Exports from the latent grid: the grid as a PNG contact sheet, the selected cell (PNG, or MIDI/WAV
for melodies) and walks (GIF/MP4/PNG frames, or MIDI/WAV). Every file carries its recipe; a cell or
walk that came from the artist's own file (``latent_from_file``) names it as a C2PA ingredient.

``GridExporter`` owns the Export menu and the export size choice; walks are decoded on the grid's
worker and written on a helper thread, and ``done``/``failed`` tell when.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from studio.core.export.credentials import user_inputs
from studio.core.latent.walk_export import (IMAGE_FORMATS, MELODY_FORMATS, write_gif, write_melody_walk_midi,
                                            write_melody_walk_wav, write_mp4, write_png, write_png_frames)
from studio.ui.export_size import ExportSizeChoice
from studio.ui.panels.latent_from_file import files_at, ingredient_paths, walk_files
from studio.ui.panels.latent_walks import WALK_FPS

FILTERS = {"image": {"cell": "PNG (*.png)", "walk": "GIF (*.gif);;MP4 (*.mp4);;PNG frames (*.png)"},
           "melody": {"cell": "MIDI (*.mid);;WAV (*.wav)", "walk": "MIDI (*.mid);;WAV (*.wav)"}}


class GridExporter(QObject):
    done = Signal(str)      # the file (or folder of frames) written
    failed = Signal(str)    # why nothing was written
    message = Signal(str)

    def __init__(self, ctx, view, worker, button, library, path_list, parent=None):
        super().__init__(parent)
        self.ctx, self.view, self.worker, self.button = ctx, view, worker, button
        self.library, self.path_list = library, path_list
        self.model = None           # the LoadedModel being explored
        menu = button.menu()
        menu.addAction("Grid as PNG contact sheet…", lambda: self.ask("grid"))
        menu.addAction("Selected cell…", lambda: self.ask("cell"))
        menu.addAction("Walk along the selected path…", lambda: self.ask("walk"))
        # size and resampling items at the foot of the menu, labelled in pixels once the tiles are known
        self.size = ExportSizeChoice(ctx, self)
        self.size.add_to(menu)
        self.size.changed.connect(lambda _s: self._tip())
        worker.decoded.connect(self._on_decoded)

    def _images(self) -> bool:
        return self.model is not None and self.model.modality == "image"

    def set_model(self, model) -> None:
        self.model = model
        for act in (*self.size.scales.values(), *self.size.resamples.values()):
            act.setEnabled(self._images())   # MIDI and WAV have no pixels
        if not self._images():
            self.size.set_picture_size(None, None)
        self._tip()

    def _tip(self) -> None:
        images = self.model is None or self.model.modality == "image"
        self.button.setToolTip("Save the grid, the selected cell or a walk"
                               + (f" — pictures at {self.size.label()}" if images else ""))

    def _on_decoded(self, tag, token, keys, tiles, raw) -> None:
        if tag == "grid" and self._images() and len(tiles):
            h, w = tiles.shape[1:3]
            if self.size.picture != (w, h):
                self.size.set_picture_size(w, h)
                self._tip()
        elif tag == "walk" and token[0] == "export":
            self._write_in_background(*token[1:], tiles, raw)

    def sizes(self):
        """The chosen ``ExportSize`` for pictures; None for melodies (MIDI/WAV have no pixels)."""
        return self.size.value() if self._images() else None

    def provenance(self, **extra) -> dict:
        lm = self.model
        return {"plugin": lm.plugin_id if lm else "", "run": lm.run if lm else "",
                "checkpoint": lm.checkpoint if lm else "", "modality": lm.modality if lm else "", **extra}

    def ask(self, what: str) -> None:
        """Export menu: ask for a file, then export the grid, the selected cell or a walk along the
        selected path (the first path when none is selected)."""
        if self.model is None:
            self.message.emit("Open a model first")
            return
        names = self.path_list.selected_names() or self.library.names("paths")[:1]
        if what == "walk" and not names:
            self.message.emit("Draw or pick a path first (Paths tab)")
            return
        target = self._ask_target(what)
        if target and what == "walk":
            self.export_walk(target, names[0])
        elif target:
            (self.export_grid if what == "grid" else self.export_cell)(target)

    def _ask_target(self, what: str) -> str:
        """The file to write, chosen in a save dialog ("" when cancelled)."""
        modality = "image" if self._images() else "melody"
        start = str(getattr(getattr(self.ctx, "project", None), "exports_dir", Path.home()))
        ext = ".png" if what == "grid" or modality == "image" and what == "cell" else \
            (".gif" if modality == "image" else ".mid")
        title = {"grid": "Save the grid", "cell": "Save the selected cell", "walk": "Save the walk"}[what]
        filt = "PNG (*.png)" if what == "grid" else FILTERS[modality][what]
        target, _ = QFileDialog.getSaveFileName(self.button.window(), title, f"{start}/{what}{ext}", filt)
        return target

    def export_grid(self, target: str) -> Path | None:
        """The visible grid as one PNG (what you see, each cell enlarged to the chosen export size)."""
        size = self.sizes()
        try:
            canvas = self.view.compose(size)
        except ValueError as exc:  # too large to build: said in words, nothing written
            self.failed.emit(str(exc))
            return None
        path = write_png(target, canvas, self.provenance(kind="grid", step=self.view.step,
                                                         plane=self.view.plane.describe()), size=size, scaled=True)
        self.done.emit(str(path))
        return path

    def export_cell(self, target: str) -> Path | None:
        sel = self.view.selection
        hit = self.view.cache.get(tuple(sel[1])) if sel is not None else None
        if hit is None:
            self.message.emit("Click a cell to select it first")
            return None
        files = files_at(self.library.items("bookmarks"), sel[2])  # a point placed from the artist's file
        prov = self.provenance(kind="cell", vector=[float(x) for x in sel[2]], **_file_names(files))
        match = closest_training_item(self.model, hit[1])
        if match is not None:  # the recipe says how close the exported cell is to the user's own data
            prov["originality"] = match.recipe_entry()
        with user_inputs(ingredient_paths(files)):
            if self.model.modality == "melody":
                wav = Path(target).suffix.lower() == ".wav"
                writer = write_melody_walk_wav if wav else write_melody_walk_midi
                path = writer(target, np.asarray(hit[1]).reshape(1, -1), min_pitch=self.model.min_pitch,
                              provenance=prov)
            else:
                path = write_png(target, hit[0], prov, size=self.sizes())
        self.done.emit(str(path))
        return path

    def export_walk(self, target: str, path_name: str, fmt: str | None = None) -> None:
        """Decode the walk along the path ``path_name`` on the worker, then write it on a helper thread."""
        path, z = self.library.walk(path_name)
        if path is None:
            self.failed.emit(f"no path named {path_name!r}")
            return
        fmt = (fmt or Path(target).suffix.lstrip(".") or "gif").lower()
        allowed = IMAGE_FORMATS if self.model.modality == "image" else MELODY_FORMATS
        if fmt not in allowed:
            self.failed.emit(f"{fmt} does not suit a {self.model.modality} model; use {', '.join(allowed)}")
            return
        files = walk_files(path)   # end points placed from the artist's files
        prov = self.provenance(kind="walk", path=path.get("name"), method=path.get("method"), steps=path.get("steps"),
                               **_file_names(files))
        self.message.emit(f"Exporting {len(z)} steps to {target}…")
        # the size chosen now travels with the job: changing it while decoding cannot mix two sizes
        self.worker.submit("walk", ("export", target, fmt, prov, self.sizes(), ingredient_paths(files)),
                           [None] * len(z), z)

    def _write_in_background(self, target: str, fmt: str, prov: dict, size, inputs: list[str], tiles, raw) -> None:
        min_pitch = self.model.min_pitch

        def job():
            try:
                with user_inputs(inputs):  # a context variable: set on the thread that signs
                    out = _write_walk(target, fmt, prov, size, tiles, raw, min_pitch)
            except Exception as exc:  # noqa: BLE001 - reported in the panel
                self.failed.emit(f"{target}: {exc}")
                return
            self.done.emit(str(out))

        threading.Thread(target=job, name="latent-export", daemon=True).start()


def _file_names(files: list[dict]) -> dict:
    """The recipe's note of the artist's files a cell or walk came from (names only, as the CLI's)."""
    return {"from_files": [str(f.get("name", "")) for f in files]} if files else {}


def _write_walk(target: str, fmt: str, prov: dict, size, tiles, raw, min_pitch: int):
    if fmt == "gif":
        return write_gif(target, tiles, WALK_FPS, scale=max(1, 128 // max(tiles.shape[1], 1)), provenance=prov,
                         size=size)
    if fmt == "mp4":
        return write_mp4(target, tiles, WALK_FPS, provenance=prov, size=size)
    if fmt == "png":
        return write_png_frames(Path(target).with_suffix(""), tiles, prov, size=size)[0].parent
    if fmt == "mid":
        return write_melody_walk_midi(target, raw, min_pitch=min_pitch, provenance=prov)
    return write_melody_walk_wav(target, raw, min_pitch=min_pitch, provenance=prov)


def closest_training_item(model, raw):
    """The ``Match`` of one decoded cell against the run's training items, or None (no dataset)."""
    index = getattr(model, "originality", None)
    if index is None or raw is None:
        return None
    import torch
    sample = torch.as_tensor(np.asarray(raw))
    return index.closest(sample.reshape(-1) if index.kind == "melody" else sample)
