"""Latent grid explorer: wander a model's latent space with the mouse, for images and melodies alike.

The panel puts small parts together and wires their signals: the grid (``LatentGridView``), its
controls (``GridControls``), the side tabs (``LatentSideTabs``: preview, sliders, bookmarks, paths),
the plane (``PlaneNavigator``), bookmarks and paths (``LatentLibrary``), walks (``WalkPlayer``) and
exports (``GridExporter``). Decoding happens on a worker thread that only ever decodes the newest
view. See ``studio.core.latent`` for the maths.
"""
from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QMenu, QSplitter, QVBoxLayout, QWidget

from studio.ui.panels.latent_controls import GridControls
from studio.ui.panels.latent_exports import GridExporter
from studio.ui.panels.latent_follow import CheckpointFollower
from studio.ui.panels.latent_from_file import FilePlacer
from studio.ui.panels.latent_library import LatentLibrary
from studio.ui.panels.latent_menu import CellMenu
from studio.ui.panels.latent_planes import PlaneNavigator
from studio.ui.panels.latent_preview_feed import PreviewFeed
from studio.ui.panels.latent_source import ModelLoader
from studio.ui.panels.latent_tabs import LatentSideTabs
from studio.ui.panels.latent_view import LatentGridView
from studio.ui.panels.latent_walks import WalkPlayer
from studio.ui.panels.latent_worker import DecodeWorker
from studio.ui.run_filter import connect_matching_runs

log = logging.getLogger(__name__)
CONTROL_NAMES = ("plane_kind", "new_dirs", "rows", "cols", "method", "steps", "spread", "path_mode", "corner_label",
                 "quick", "follow", "export_btn")


class LatentGridPanel(QWidget):
    model_ready = Signal()
    export_done = Signal(str)
    export_failed = Signal(str)

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.loaded = None
        self._loading = False       # a model is being opened (a restore waits for it)
        self.worker = DecodeWorker(parent=self)
        self.worker.failed.connect(lambda tag, msg: self._status(f"Decoding failed: {msg}"))
        self.loader = ModelLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_load_failed)
        self._build_widgets()
        self._build_parts()
        self._connect_controls()
        self._build_layout()
        connect_matching_runs(ctx, self.open_run, capability="latent")
        ctx.subscribe_restore("latent", self._on_restore_requested)
        ctx.project_changed.connect(self._refresh_lists)
        self._refresh_lists()

    # -- builders ---------------------------------------------------------
    def _build_widgets(self) -> None:
        self.controls = GridControls()
        for name in CONTROL_NAMES:   # the controls by their old names, for scripts and tests
            setattr(self, name, getattr(self.controls, name))
        self.view = LatentGridView(self.worker)
        self.tabs = LatentSideTabs()
        self.preview, self.directions = self.tabs.preview, self.tabs.directions
        self.bookmarks, self.paths = self.tabs.bookmarks, self.tabs.paths
        self.status = QLabel("No model: open a run of a VAE or GAN (Runs panel), or train one.")
        self.status.setToolTip("Model, decoder backend and decode time per chunk of cells")
        self.status.setWordWrap(True)   # a long status wraps in a narrow dock instead of being cut

    def _build_parts(self) -> None:
        c, view, tabs = self.controls, self.view, self.tabs
        self.planes = PlaneNavigator(view, c, self)
        self.library = LatentLibrary(self.ctx, view, c, self)
        self.player = WalkPlayer(self.worker, self.preview, self)
        self.exporter = GridExporter(self.ctx, view, self.worker, c.export_btn, self.library, self.paths, self)
        self.export_size = self.exporter.size
        self.feed = PreviewFeed(view, self.worker, self.tabs, self.player, self.planes, self)
        self.follower = CheckpointFollower(self.loader, self)
        self.cell_menu = CellMenu(view, self.planes, self.library, c.spread, self)
        self.placer = FilePlacer(self, self.library, self)   # your own picture or melody, dropped or chosen
        self.cell_menu.placer = self.placer
        for part in (self.planes, self.library, self.player, self.exporter, self.feed, self.cell_menu, self.placer):
            part.message.connect(self._status)
        self.planes.changed.connect(self._update_status)
        self.player.started.connect(lambda: tabs.setCurrentWidget(self.preview))
        self.library.changed.connect(self._refresh_lists)
        self.exporter.done.connect(self.export_done)
        self.exporter.failed.connect(self.export_failed)
        self.export_done.connect(lambda p: self._status(f"Saved {p}"))
        self.export_failed.connect(lambda m: self._status(f"Export failed: {m}"))
        self.follower.reload.connect(self._reload_newer_checkpoint)

    def _connect_controls(self) -> None:
        """What the controls, the grid and the side tabs ask for."""
        c, view, tabs = self.controls, self.view, self.tabs
        c.rows.valueChanged.connect(lambda: view.set_grid_size(c.rows.value(), c.cols.value()))
        c.cols.valueChanged.connect(lambda: view.set_grid_size(c.rows.value(), c.cols.value()))
        c.quick.toggled.connect(view.set_quick_pass)
        c.follow.toggled.connect(self.follower.set_on)
        c.path_mode.toggled.connect(view.set_path_mode)
        view.corner_requested.connect(lambda key, vec: self.planes.set_corner(None, vec, key))
        view.path_drawn.connect(self._save_drawn_path)
        view.view_changed.connect(self._update_status)
        self.feed.selection_changed.connect(self._update_status)
        tabs.go_to_bookmark.connect(self.go_to_bookmark)
        tabs.path_from_bookmarks.connect(self.path_from_bookmarks)
        tabs.remove.connect(self.library.remove)
        tabs.play_path.connect(self.play_path)
        tabs.stop_playing.connect(self.stop_playing)

    def _build_layout(self) -> None:
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.view)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.controls)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)

    # -- model ------------------------------------------------------------
    def open_run(self, run_dir: str, keep_view: bool = False, checkpoint: str | None = None) -> None:
        """Explore a run (its newest checkpoint, or ``checkpoint``); loads in the background."""
        self._status(f"Loading {run_dir}…")
        self._loading = True
        self.loader.load_run(run_dir, keep_view=keep_view, checkpoint=checkpoint)

    def set_model(self, model, plugin_id: str = "", run: str = "", checkpoint: str = "", backend: str = "auto",
                  pca_codes=None, keep_view: bool = False) -> None:
        """Explore ``model`` (any nn.Module with ``latent_dim`` and ``decode``); loads in the background."""
        self._status("Preparing the decoder…")
        self._loading = True
        self.loader.load_model(model, plugin_id=plugin_id, run=run, checkpoint=checkpoint, backend=backend,
                               pca_codes=pca_codes, keep_view=keep_view)

    def ready(self) -> bool:
        return self.loaded is not None and not self.loader.busy()

    def loading(self) -> bool:
        """True while a model is being opened (the window's screenshot waits for it)."""
        return self.loader.busy()

    def _reload_newer_checkpoint(self, run: str) -> None:
        self._status("A new checkpoint: reloading, keeping the view…")
        self.open_run(run, keep_view=True)

    def _on_loaded(self, lm) -> None:
        keep = lm.keep_view and self.loaded is not None and self.loaded.latent_dim == lm.latent_dim
        self.loaded, self._loading = lm, False
        self.worker.set_decoder(lm.decoder)
        for part in (self.library, self.player, self.feed, self.follower, self.placer):
            part.model = lm
        self.exporter.set_model(lm)
        self.planes.set_model(lm, keep_view=keep)
        if not keep:
            self.directions.set_for_model(lm)
        self._update_status()
        self.feed.apply_pending()  # a restored generation waiting for its model
        self.model_ready.emit()

    def _on_load_failed(self, msg: str) -> None:
        self._loading = False
        self.feed.drop_pending()
        self._status(f"Could not open the model: {msg}")
        if self.loaded is None:
            self.view.empty_text = f"Could not open the model:\n{msg}"
            self.view.update()

    # -- planes, selection, restoring -------------------------------------
    def reseed(self) -> None:
        self.planes.reseed()

    def centre_on(self, vector, step: float | None = None, seed: int | None = None) -> None:
        self.planes.centre_on(vector, step, seed)

    def selected_vector(self) -> np.ndarray | None:
        return self.feed.selected_vector()

    def edited_vector(self) -> np.ndarray | None:
        return self.feed.edited_vector()

    @property
    def restored(self) -> dict | None:
        """The generation restored last (vector, seed, caption), or None."""
        return self.feed.restored

    def show_vector(self, vector, seed: int | None = None, caption: str = "") -> bool:
        """Centre the grid on ``vector``, select it and show it large, with its ``seed`` in the caption.

        While a model loads (a restore opens the run first) the vector waits and is shown once the
        model is ready. Returns True when it was shown now.
        """
        return self.feed.restore(vector, seed, caption, ready=self.loaded is not None and not self._loading)

    def _on_restore_requested(self, request) -> None:
        """A dropped file's latent vector: open the exact weights that made it, then show the vector."""
        if request.target != "latent":
            return
        if request.exact_weights is not None:
            run_dir, checkpoint = request.exact_weights
            self.open_run(run_dir, checkpoint=checkpoint)
        self.show_vector(list(request.vector or ()), request.seed, request.caption)

    def build_context_menu(self, key, vector) -> QMenu:
        """The right-click menu of a cell (Bookmark, Use as corner, Breed, Centre here, Copy seed and vector)."""
        return self.cell_menu.build(key, vector, self)

    # -- bookmarks and paths ----------------------------------------------
    def _refresh_lists(self) -> None:
        self.tabs.show_lists(self.library.items("bookmarks"), self.library.items("paths"))
        drawn = self.view.drawn_path   # shown while the path it became exists (undo hides it, redo shows it)
        if drawn.name:
            self.view.show_drawn_path(drawn.name in self.library.names("paths"))

    def bookmark(self, vector, key=None, name: str | None = None) -> dict:
        return self.library.bookmark(vector, key, name)

    def go_to_bookmark(self, name: str) -> None:
        vec = self.library.bookmark_vector(name)
        if vec is not None:
            self.centre_on(vec)

    def add_path_from_points(self, points, name: str | None = None) -> dict | None:
        return self.library.add_path(points, name)

    def path_from_bookmarks(self, names: list[str]) -> dict | None:
        return self.library.path_from_bookmarks(names)

    def _save_drawn_path(self, points) -> None:
        """A path drawn across the grid becomes a saved path (undoable); the drawing stays shown."""
        path = self.library.add_path(points)
        if path is None:
            self.view.drawn_path.clear()
        else:
            self.view.drawn_path.name = path["name"]
            self.tabs.select_path(path["name"])
        self.view.update()

    def play_path(self, name: str) -> None:
        path, z = self.library.walk(name)
        if path is not None:
            self.player.play(name, z)

    def stop_playing(self) -> None:
        self.player.stop()

    # -- export (the Export menu asks for a file first) ----------------------
    def export_grid(self, target: str):
        """The visible grid as one PNG (what you see, each cell enlarged to the chosen export size)."""
        return self.exporter.export_grid(target)

    def export_cell(self, target: str):
        return self.exporter.export_cell(target)

    def export_walk(self, target: str, path_name: str, fmt: str | None = None) -> None:
        """Decode the walk on the worker, then write it on a helper thread; ``export_done`` tells when."""
        self.exporter.export_walk(target, path_name, fmt)

    # -- status / shutdown ------------------------------------------------
    def _status(self, text: str) -> None:
        self.status.setText(text)

    def _update_status(self) -> None:
        lm = self.loaded
        if lm is None:
            return
        times = self.worker.decode_seconds[-20:]
        ms = f" ({1000 * float(np.median(times)):.0f} ms per {self.worker.chunk} cells)" if times else ""  # none timed yet
        plane = self.view.plane.kind if self.view.plane else "-"
        plane = f"learned plane (from {lm.learned_note})" if plane == "learned" and lm.learned_note else plane + " plane"
        self._status(f"{lm.plugin_id or 'model'} · z {lm.latent_dim} · {plane} · step {self.view.step:.3g} · "
                     f"decoder {lm.decoder.backend}{ms}")

    def shutdown(self) -> None:
        self.follower.set_on(False)
        self.player.close()
        self.worker.stop()
        if not self.loader.wait(30.0):
            log.warning("latent grid: a model load was still running at close")
