"""Latent grid explorer: wander a model's latent space with the mouse, for images and melodies alike.

The grid (``LatentGridView``) shows a plane through latent space: random directions, PCA
directions of the training data, or four corner samples. Decoding happens on a worker thread
that only ever decodes the newest view. Bookmarks and paths are saved with the project; walks
export as GIF/MP4 (images) or MIDI/WAV (melodies). See ``studio.core.latent`` for the maths.
"""
from __future__ import annotations

import json
import logging

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QMenu, QPushButton,
                               QSpinBox, QSplitter, QTabWidget, QToolButton, QVBoxLayout, QWidget)

from studio.core.latent import CORNER_NAMES, orthonormal_directions
from studio.ui.run_filter import connect_matching_runs
from studio.ui.panels.latent_side import DirectionSliders, LatentPreview, NamedList
from studio.ui.panels.latent_source import ModelLoader, latest_checkpoint_path
from studio.ui.panels.latent_view import LatentGridView
from studio.ui.panels.latent_planes import PlanesMixin
from studio.ui.panels.latent_walks import WalksMixin
from studio.ui.panels.latent_worker import DecodeWorker

log = logging.getLogger(__name__)
FOLLOW_POLL_MS = 2000


def _combo(items: list[tuple[str, str]], tip: str) -> QComboBox:
    c = QComboBox()
    for text, data in items:
        c.addItem(text, data)
    c.setToolTip(tip)
    return c


class LatentGridPanel(PlanesMixin, WalksMixin, QWidget):
    model_ready = Signal()
    export_done = Signal(str)
    export_failed = Signal(str)

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.loaded = None
        self.corners: list[np.ndarray | None] = [None] * 4
        self.local_bookmarks: list[dict] = []   # used when no project is open
        self.local_paths: list[dict] = []
        self._plane_seed = 0
        self._edit_token = 0
        self._loading = False
        self._pending_vector = None   # (vector, seed, caption) of a restored generation (show_vector)
        self._restore_token = 0
        self.restored: dict | None = None
        self._player = None
        self._play_info = None
        self.worker = DecodeWorker(parent=self)
        self.worker.decoded.connect(self._on_side_decoded)
        self.worker.failed.connect(lambda tag, msg: self._status(f"Decoding failed: {msg}"))
        self.loader = ModelLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_load_failed)
        self.export_done.connect(lambda p: self._status(f"Saved {p}"))
        self.export_failed.connect(lambda m: self._status(f"Export failed: {m}"))
        self._build_ui()
        self._follow_timer = QTimer(self)
        self._follow_timer.timeout.connect(self._poll_checkpoint)
        self._hover_timer = QTimer(self, singleShot=True, interval=150)
        self._hover_timer.timeout.connect(self._show_hover)
        self._playhead_timer = QTimer(self, interval=40)
        self._playhead_timer.timeout.connect(self._tick_playhead)
        connect_matching_runs(ctx, self.open_run, capability="latent")
        ctx.project_changed.connect(self._refresh_lists)
        self._refresh_lists()

    # -- layout -----------------------------------------------------------
    def _build_ui(self) -> None:
        self.plane_kind = _combo([("Learned plane", "learned"), ("Random plane", "random"),
                                  ("PCA of training data", "pca"), ("Four corners", "corners")],
                                 "What spans the grid: where the model's own samples live (its two main directions "
                                 "of variation), two random directions through the centre, the top two principal "
                                 "directions of the encoded training data, or a mix of four chosen corners "
                                 "(shift-click cells)")
        self.plane_kind.currentIndexChanged.connect(lambda _: self.rebuild_plane())
        self.new_dirs = QPushButton("New directions")
        self.new_dirs.setToolTip("Pick two other random directions through the same centre")
        self.new_dirs.clicked.connect(self.reseed)
        self.rows = QSpinBox(minimum=2, maximum=16, value=8)
        self.rows.setToolTip("Rows of the grid")
        self.cols = QSpinBox(minimum=2, maximum=16, value=8)
        self.cols.setToolTip("Columns of the grid")
        self.rows.valueChanged.connect(self._grid_size)
        self.cols.valueChanged.connect(self._grid_size)
        self.method = _combo([("slerp", "slerp"), ("lerp", "lerp")],
                             "Interpolation for corners and walks: slerp follows the sphere where Gaussian samples "
                             "live; lerp is a straight line")
        self.method.currentIndexChanged.connect(lambda _: self.plane_kind.currentData() == "corners" and self.rebuild_plane())
        self.corner_label = QLabel("Corners 0/4")
        self.corner_label.setToolTip("Shift-click four cells (top-left, top-right, bottom-left, bottom-right) "
                                     "to mix them as a Beat Blender grid")
        clear = QPushButton("Clear corners")
        clear.setToolTip("Forget the chosen corners")
        clear.clicked.connect(self.clear_corners)
        self.quick = QCheckBox("Quick first pass")
        self.quick.setChecked(True)
        self.quick.setToolTip("Fill every other cell first and let its neighbours borrow it until they are decoded")
        self.quick.toggled.connect(self._set_quick)
        self.follow = QCheckBox("Follow latest checkpoint")
        self.follow.setToolTip("While a run trains, reload the decoder whenever it writes a new checkpoint, keeping the view")
        self.follow.toggled.connect(self._set_follow)
        self.path_mode = QToolButton(text="Draw path", checkable=True)
        self.path_mode.setToolTip("When on, dragging across the grid draws a path instead of moving the view")
        self.path_mode.toggled.connect(self._set_path_mode)
        self.steps = QSpinBox(minimum=1, maximum=120, value=12)
        self.steps.setToolTip("Frames (or melody phrases) per path segment")
        self.spread = QDoubleSpinBox(minimum=0.01, maximum=5.0, value=0.5, singleStep=0.05)
        self.spread.setToolTip("Breed spread: how far children stray from their parent (right-click a cell → Breed)")
        self.export_btn = QToolButton(text="Export")
        self.export_btn.setToolTip("Save the grid, the selected cell or a walk")
        self.export_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_btn.setMenu(self._export_menu())
        self.export_size = self._make_export_size()  # size and resampling items in the Export menu (WalksMixin)
        # Three short rows keep the dock narrow enough for a 1366-pixel screen.
        rows = []
        for widgets in ((self.plane_kind, self.new_dirs, QLabel("Rows"), self.rows, QLabel("Cols"), self.cols,
                         self.export_btn),
                        (self.path_mode, QLabel("Method"), self.method, QLabel("Steps"), self.steps,
                         QLabel("Spread"), self.spread),
                        (self.corner_label, clear, self.quick, self.follow)):
            row = QHBoxLayout()
            for w in widgets:
                row.addWidget(w)
            row.addStretch(1)
            rows.append(row)

        self.view = LatentGridView(self.worker)
        self.view.selected.connect(self._on_selected)
        self.view.corner_requested.connect(lambda key, vec: self.set_corner(None, vec, key))
        self.view.context_requested.connect(self._context_menu)
        self.view.hovered.connect(self._on_hover)
        self.view.path_drawn.connect(self.add_path_from_points)
        self.view.view_changed.connect(self._update_status)
        self.preview = LatentPreview()
        self.directions = DirectionSliders()
        self.directions.changed.connect(self._directions_changed)
        self.directions.centre_requested.connect(self.centre_on_edit)
        self.bookmarks = NamedList("No bookmarks yet: right-click a cell and choose Bookmark.",
                                   [("Go", "Centre the grid on the selected bookmark"),
                                    ("Path", "Make a path through the selected bookmarks, in list order"),
                                    ("Remove", "Delete the selected bookmarks")])
        self.bookmarks.activated.connect(self.go_to_bookmark)
        self.bookmarks.buttons["Go"].clicked.connect(lambda: [self.go_to_bookmark(n) for n in self.bookmarks.selected_names()[:1]])
        self.bookmarks.buttons["Path"].clicked.connect(lambda: self.path_from_bookmarks(self.bookmarks.selected_names()))
        self.bookmarks.buttons["Remove"].clicked.connect(lambda: self.remove_items("bookmarks", self.bookmarks.selected_names()))
        self.paths = NamedList("No paths yet: switch on Draw path and drag across the grid, "
                               "or pick bookmarks and press Path.",
                               [("Play", "Play the selected path: frames for images, a morph for melodies"),
                                ("Stop", "Stop playing"), ("Remove", "Delete the selected paths")])
        self.paths.activated.connect(self.play_path)
        self.paths.buttons["Play"].clicked.connect(lambda: [self.play_path(n) for n in self.paths.selected_names()[:1]])
        self.paths.buttons["Stop"].clicked.connect(self.stop_playing)
        self.paths.buttons["Remove"].clicked.connect(lambda: self.remove_items("paths", self.paths.selected_names()))
        self.tabs = QTabWidget()
        self.tabs.addTab(self.preview, "Preview")
        self.tabs.addTab(self.directions, "Directions")
        self.tabs.addTab(self.bookmarks, "Bookmarks")
        self.tabs.addTab(self.paths, "Paths")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.view)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        self.tabs.setMinimumWidth(240)
        self.status = QLabel("No model: open a run of a VAE or GAN (Runs panel), or train one.")
        self.status.setToolTip("Model, decoder backend and decode time per chunk of cells")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        for row in rows:
            lay.addLayout(row)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)

    def _export_menu(self) -> QMenu:
        m = QMenu(self)
        m.addAction("Grid as PNG contact sheet…", lambda: self._ask_export("grid"))
        m.addAction("Selected cell…", lambda: self._ask_export("cell"))
        m.addAction("Walk along the selected path…", lambda: self._ask_export("walk"))
        return m

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

    def _on_loaded(self, lm) -> None:
        same_space = self.loaded is not None and self.loaded.latent_dim == lm.latent_dim
        keep = lm.keep_view and same_space
        self.loaded = lm
        self.worker.set_decoder(lm.decoder)
        idx = self.plane_kind.findData("pca")
        self.plane_kind.model().item(idx).setEnabled(lm.pca is not None)
        if lm.pca is None and self.plane_kind.currentData() == "pca":
            self.plane_kind.setCurrentIndex(self.plane_kind.findData("learned"))
        if keep:
            self.view.modality = lm.modality
            self.view.refresh_model()
        else:
            self.corners = [None] * 4
            self.rebuild_plane()
            self._setup_directions()
        self._loading = False
        self._update_status()
        self._apply_pending_vector()  # a restored generation waiting for its model
        self.model_ready.emit()

    def _on_load_failed(self, msg: str) -> None:
        self._loading = False
        self._pending_vector = None
        self._status(f"Could not open the model: {msg}")
        if self.loaded is None:
            self.view.empty_text = f"Could not open the model:\n{msg}"
            self.view.update()

    def _setup_directions(self) -> None:
        lm = self.loaded
        if lm.pca is not None:
            k = min(6, len(lm.pca.directions))
            self.directions.set_directions(lm.pca.directions[:k], lm.pca.std[:k], "PCA")
            self.directions.note.setText("Top principal directions of the encoded training data. "
                                         "Select a cell, then move a slider.")
        else:
            k = min(6, lm.latent_dim)
            self.directions.set_directions(orthonormal_directions(lm.latent_dim, k, seed=1000), np.ones(k), "Random")
            self.directions.note.setText((lm.pca_note + ". " if lm.pca_note else "") +
                                         "Random orthogonal directions. Select a cell, then move a slider.")

    def _set_follow(self, on: bool) -> None:
        if on:
            self._follow_timer.start(FOLLOW_POLL_MS)
        else:
            self._follow_timer.stop()

    def _poll_checkpoint(self) -> None:
        lm = self.loaded
        if lm is None or not lm.run or self.loader.busy():
            return
        newest = latest_checkpoint_path(lm.run)
        if newest and newest != lm.checkpoint:
            self._status(f"New checkpoint {newest}: reloading, keeping the view…")
            self.open_run(lm.run, keep_view=True)

    def _grid_size(self) -> None:
        self.view.set_grid_size(self.rows.value(), self.cols.value())

    def _set_quick(self, on: bool) -> None:
        self.view.quick_pass = on
        self.view._dirty = True
        self.view.update()

    def _set_path_mode(self, on: bool) -> None:
        self.view.path_mode = on
        self.view.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)

    # -- selection, hover, directions -------------------------------------
    def selected_vector(self) -> np.ndarray | None:
        sel = self.view.selection
        return None if sel is None else sel[2]

    def edited_vector(self) -> np.ndarray | None:
        v = self.selected_vector()
        if v is None:
            return None
        off = self.directions.offset()
        return v + off if off.shape == v.shape else v

    def _on_selected(self, key, vector) -> None:
        self.directions.reset()
        hit = self.view.cache.get(tuple(key))
        if hit is not None:
            self._show_sample(hit[0], hit[1], f"cell {key[0]}, {key[1]}")
        self._update_status()

    def _directions_changed(self) -> None:
        z = self.edited_vector()
        if z is None or self.loaded is None:
            return
        self._edit_token += 1
        self.worker.submit("preview", ("edit", self._edit_token), [None], z[None, :])

    def centre_on_edit(self) -> None:
        z = self.edited_vector()
        if z is not None:
            self.centre_on(z)
            self.directions.reset()

    def _on_hover(self, key) -> None:
        self._hover_key = key
        if key is None:
            self._hover_timer.stop()
        else:
            self._hover_timer.start()

    def _show_hover(self) -> None:
        key = getattr(self, "_hover_key", None)
        hit = self.view.cache.get(tuple(key)) if key is not None else None
        if hit is not None and not self.preview.playing():
            self._show_sample(hit[0], hit[1], f"cell {key[0]}, {key[1]}", play=True)

    def _show_sample(self, tile, raw, caption: str, play: bool = False) -> None:
        if self.loaded is not None and self.loaded.modality == "melody":
            self.preview.show_melody(raw, caption)
            if play:
                self.play_melody(np.asarray(raw).reshape(1, -1))
        else:
            self.preview.show_tile(tile, caption)

    def _on_side_decoded(self, tag, token, keys, tiles, raw) -> None:
        if tag == "preview" and token == ("edit", self._edit_token):
            self._show_sample(tiles[0], raw[0], "edited selection")
        elif tag == "preview" and token == ("restore", self._restore_token) and self.restored:
            self._show_sample(tiles[0], raw[0], self.restored["caption"])
        elif tag == "walk":
            self._on_walk_decoded(token, tiles, raw)

    # -- context menu -----------------------------------------------------
    def _context_menu(self, key, vector, global_pos) -> None:
        menu = self.build_context_menu(key, vector)
        menu.popup(global_pos)
        self._last_menu = menu

    def build_context_menu(self, key, vector) -> QMenu:
        m = QMenu(self)
        m.setToolTipsVisible(True)
        m.addAction("Bookmark", lambda: self.bookmark(vector, key))
        corner = m.addMenu("Use as corner")
        for slot, name in enumerate(CORNER_NAMES):
            corner.addAction(name.capitalize(), lambda s=slot: self.set_corner(s, vector, key))
        m.addAction(f"Breed (spread {self.spread.value():g})", lambda: self.breed(vector))
        m.addAction("Centre here", lambda: self.centre_on(vector))
        m.addAction("Copy seed and vector", lambda: self.copy_vector(vector, key))
        return m

    def copy_vector(self, vector, key=None) -> str:
        plane = self.view.plane
        text = json.dumps({"plane_seed": plane.seed if plane else None, "plane": plane.kind if plane else None,
                           "cell": list(key) if key is not None else None, "step": self.view.step,
                           "vector": [round(float(x), 6) for x in np.asarray(vector).ravel()]})
        QGuiApplication.clipboard().setText(text)
        self._status("Seed and vector copied to the clipboard")
        return text

    # -- status / shutdown ------------------------------------------------
    def _status(self, text: str) -> None:
        self.status.setText(text)

    def _update_status(self) -> None:
        lm = self.loaded
        if lm is None:
            return
        times = self.worker.decode_seconds[-20:]
        ms = f"{1000 * float(np.median(times)):.0f} ms per {self.worker.chunk} cells" if times else "—"
        plane = self.view.plane.kind if self.view.plane else "-"
        if plane == "learned" and lm.learned_note:
            plane = f"learned plane (from {lm.learned_note})"
        else:
            plane += " plane"
        self._status(f"{lm.plugin_id or 'model'} · z {lm.latent_dim} · {plane} · step {self.view.step:.3g} · "
                     f"decoder {lm.decoder.backend} ({ms})")

    def loading(self) -> bool:
        """True while a model is being opened (the window's screenshot waits for it)."""
        return self.loader.busy()

    def shutdown(self) -> None:
        self._follow_timer.stop()
        self.stop_playing()
        self.worker.stop()
        if not self.loader.wait(30.0):
            log.warning("latent grid: a model load was still running at close")
        if self._player is not None:
            try:
                self._player.close()
            except Exception:  # noqa: BLE001
                pass
