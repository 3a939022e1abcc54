"""Bookmarks, paths, playback and export for the latent grid panel (a mixin of ``LatentGridPanel``)."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog

from studio.core.latent import bookmark_vector, make_bookmark, make_path, path_points, thumbnail_png, walk
from studio.core.latent.bookmarks import unique_name
from studio.core.project_edits import AddItem, EditGroup, RemoveItem
from studio.core.project_schema import ProjectError
from studio.core.latent.walk_export import (IMAGE_FORMATS, MELODY_FORMATS, write_gif, write_melody_walk_midi,
                                            write_melody_walk_wav, write_mp4, write_png, write_png_frames)
from studio.ui.export_size import ExportSizeChoice

log = logging.getLogger(__name__)
STEP_SECONDS = 0.125   # a 16th note at 120 bpm
WALK_FPS = 12.0


class WalksMixin:
    # -- storage ------------------------------------------------------------
    def _items(self, kind: str) -> list[dict]:
        project = getattr(self.ctx, "project", None)
        if project is not None:
            return getattr(project, kind)
        return self.local_bookmarks if kind == "bookmarks" else self.local_paths

    def _push(self, edit) -> bool:
        """Change the project through Edit > Undo (and the autosave); False when it was refused."""
        from studio.ui.project_actions import push_edit

        try:
            return push_edit(self.ctx, edit)
        except (OSError, ProjectError) as exc:  # no window: push_edit saved the project itself
            self._status(f"Could not save the project: {exc}")
            return False

    def _add_item(self, kind: str, item: dict) -> dict | None:
        """Add a bookmark or path (undoable with a project open); the added item, or None if refused."""
        project = getattr(self.ctx, "project", None)
        if project is None:
            self._items(kind).append(item)
            self._status("No project is open: bookmarks and paths last until the studio closes.")
            return item
        item = {**item, "name": unique_name(self._items(kind), item.get("name") or kind[:-1])}
        return item if self._push(AddItem(kind, item)) else None

    def _refresh_lists(self) -> None:
        self.bookmarks.set_items(self._items("bookmarks"))
        self.paths.set_items(self._items("paths"))

    def _meta(self) -> dict:
        lm = self.loaded
        return {"plugin": lm.plugin_id if lm else "", "run": lm.run if lm else "",
                "checkpoint": lm.checkpoint if lm else ""}

    def provenance(self, **extra) -> dict:
        return {**self._meta(), "modality": self.loaded.modality if self.loaded else "", **extra}

    # -- bookmarks ----------------------------------------------------------
    def bookmark(self, vector, key=None, name: str | None = None) -> dict:
        thumb = None
        hit = self.view.cache.get(tuple(key)) if key is not None else None
        if hit is not None:
            thumb = thumbnail_png(hit[0])
        plane = self.view.plane
        items = self._items("bookmarks")
        bm = make_bookmark(name or f"{self._meta()['plugin'] or 'sample'} {len(items) + 1}", vector=vector,
                           seed=plane.seed if plane else None, thumbnail=thumb, **self._meta())
        added = self._add_item("bookmarks", bm)
        self._refresh_lists()
        if added is not None:
            self._status(f"Bookmarked “{added['name']}”")
        return added or bm

    def _find(self, kind: str, name: str) -> dict | None:
        return next((d for d in self._items(kind) if d.get("name") == name), None)

    def go_to_bookmark(self, name: str) -> None:
        bm = self._find("bookmarks", name)
        if bm is None or self.loaded is None:
            return
        try:
            vec = bookmark_vector(bm, self.loaded.latent_dim)
        except ValueError as exc:
            self._status(str(exc))
            return
        self.centre_on(vec)

    def remove_items(self, kind: str, names: list[str]) -> None:
        items = self._items(kind)
        # highest index first, so the earlier indices stay valid while the group applies
        indices = sorted({i for i, d in enumerate(items) if d.get("name") in set(names)}, reverse=True)
        if not indices:
            return
        if getattr(self.ctx, "project", None) is None:
            for i in indices:
                del items[i]
        else:
            what = "bookmark" if kind == "bookmarks" else "latent path"
            edit = EditGroup([RemoveItem(kind, i) for i in indices],
                             f"Delete {len(indices)} {what}s" if len(indices) > 1 else f"Delete {what}")
            self._push(edit)
        self._refresh_lists()

    # -- paths --------------------------------------------------------------
    def add_path_from_points(self, points, name: str | None = None) -> dict | None:
        items = self._items("paths")
        try:
            path = make_path(name or f"path {len(items) + 1}", points, method=self.method.currentData(),
                             steps=self.steps.value(), **self._meta())
        except ValueError as exc:
            self._status(str(exc))
            return None
        path = self._add_item("paths", path)
        self._refresh_lists()
        if path is not None:
            self._status(f"Path “{path['name']}” with {len(path['points'])} points saved")
        return path

    def path_from_bookmarks(self, names: list[str]) -> dict | None:
        marks = [self._find("bookmarks", n) for n in names]
        vecs = [bookmark_vector(b) for b in marks if b is not None]
        if len(vecs) < 2:
            self._status("Select at least two bookmarks to make a path")
            return None
        return self.add_path_from_points(vecs, name=" → ".join(names[:3]) + ("…" if len(names) > 3 else ""))

    def walk_vectors(self, path: dict) -> np.ndarray:
        dim = self.loaded.latent_dim if self.loaded else None
        return walk(path_points(path, dim), int(path.get("steps", self.steps.value())),
                    path.get("method", self.method.currentData()))

    # -- playing ------------------------------------------------------------
    def play_path(self, name: str) -> None:
        path = self._find("paths", name)
        if path is None or self.loaded is None:
            return
        try:
            z = self.walk_vectors(path)
        except ValueError as exc:
            self._status(str(exc))
            return
        self._status(f"Decoding {len(z)} steps of “{name}”…")
        self.worker.submit("walk", ("play", name), [None] * len(z), z)

    def _on_walk_decoded(self, token, tiles, raw) -> None:
        if token[0] == "play":
            self.tabs.setCurrentWidget(self.preview)
            if self.loaded.modality == "melody":
                self.preview.show_melody(np.asarray(raw).reshape(-1), f"{token[1]}: {len(raw)} phrases")
                self.play_melody(np.asarray(raw))
            else:
                self.preview.play_frames(list(tiles), WALK_FPS, f"{token[1]}: {len(tiles)} frames")
            self._status(f"Playing “{token[1]}”")
        elif token[0] == "export":
            self._write_in_background(token[1], token[2], tiles, raw, token[3], token[4])

    def stop_playing(self) -> None:
        self.preview.stop()
        self._playhead_timer.stop()
        self.preview.set_playhead(None)
        if self._player is not None:
            try:
                self._player.stop()
            except Exception:  # noqa: BLE001 - audio trouble never breaks the panel
                pass

    def _melody_player(self):
        if self._player is None:
            try:
                from studio.core.audio.playback import MelodyPlayer
                self._player = MelodyPlayer()
            except Exception as exc:  # noqa: BLE001 - no PortAudio, no device, or not installed yet
                log.info("latent grid: melody playback unavailable (%s)", exc)
                self._player = False
        return self._player or None

    def play_melody(self, events: np.ndarray) -> bool:
        """Play phrases one after another; the preview's playhead follows. Quietly silent without audio."""
        flat = np.asarray(events).reshape(-1)
        self._play_info = (len(flat), threading.get_ident())
        self._play_started = __import__("time").perf_counter()
        self._playhead_timer.start()
        player = self._melody_player()
        if player is None or not getattr(player, "available", False):
            return False
        try:
            from studio.core.audio.synth import render
            audio = render(flat.tolist(), bpm=120, sample_rate=player.sample_rate, min_pitch=self.loaded.min_pitch)
            return bool(player.play(audio, STEP_SECONDS))
        except Exception as exc:  # noqa: BLE001
            log.info("latent grid: could not play the melody (%s)", exc)
            return False

    def _tick_playhead(self) -> None:
        if not self._play_info:
            self._playhead_timer.stop()
            return
        steps = self._play_info[0]
        player = self._player or None
        if player is not None and getattr(player, "is_playing", False) and callable(getattr(player, "position_steps", None)):
            pos = player.position_steps()
        else:
            pos = (__import__("time").perf_counter() - self._play_started) / STEP_SECONDS
        if pos >= steps:
            self._playhead_timer.stop()
            self.preview.set_playhead(None)
            return
        self.preview.set_playhead(pos / steps)

    # -- export -------------------------------------------------------------
    def _make_export_size(self) -> ExportSizeChoice:
        """Size and resampling items at the foot of the Export menu, labelled with pixel sizes once
        the model's picture size is known."""
        choice = ExportSizeChoice(self.ctx, self)
        choice.add_to(self.export_btn.menu())
        self.worker.decoded.connect(self._label_export_size)
        self.model_ready.connect(self._export_size_for_model)
        choice.changed.connect(lambda _s: self._export_tip())
        return choice

    def _export_tip(self) -> None:
        images = self.loaded is None or self.loaded.modality == "image"
        self.export_btn.setToolTip("Save the grid, the selected cell or a walk"
                                   + (f" — pictures at {self.export_size.label()}" if images else ""))

    def _label_export_size(self, tag, token, keys, tiles, raw) -> None:
        if tag == "grid" and self.loaded is not None and self.loaded.modality == "image" and len(tiles):
            h, w = tiles.shape[1:3]
            if self.export_size.picture != (w, h):
                self.export_size.set_picture_size(w, h)
                self._export_tip()

    def _export_size_for_model(self) -> None:
        images = self.loaded is not None and self.loaded.modality == "image"
        for act in (*self.export_size.scales.values(), *self.export_size.resamples.values()):
            act.setEnabled(images)  # MIDI and WAV have no pixels
        if not images:
            self.export_size.set_picture_size(None, None)
        self._export_tip()

    def export_sizes(self):
        """The chosen ``ExportSize`` for pictures; None for melodies (MIDI/WAV have no pixels)."""
        return self.export_size.value() if self.loaded is not None and self.loaded.modality == "image" else None

    def _ask_export(self, what: str) -> None:
        if self.loaded is None:
            self._status("Open a model first")
            return
        images = self.loaded.modality == "image"
        start = str(getattr(getattr(self.ctx, "project", None), "exports_dir", Path.home()))
        if what == "grid":
            target, _ = QFileDialog.getSaveFileName(self, "Save the grid", start + "/grid.png", "PNG (*.png)")
            if target:
                self.export_grid(target)
        elif what == "cell":
            filt = "PNG (*.png)" if images else "MIDI (*.mid);;WAV (*.wav)"
            target, _ = QFileDialog.getSaveFileName(self, "Save the selected cell", start + ("/cell.png" if images else "/cell.mid"), filt)
            if target:
                self.export_cell(target)
        else:
            names = self.paths.selected_names() or [d.get("name") for d in self._items("paths")][:1]
            if not names:
                self._status("Draw or pick a path first (Paths tab)")
                return
            filt = "GIF (*.gif);;MP4 (*.mp4);;PNG frames (*.png)" if images else "MIDI (*.mid);;WAV (*.wav)"
            target, _ = QFileDialog.getSaveFileName(self, "Save the walk", start + ("/walk.gif" if images else "/walk.mid"), filt)
            if target:
                self.export_walk(target, names[0])

    def export_grid(self, target: str) -> Path | None:
        """The visible grid as one PNG (what you see, each cell enlarged to the chosen export size)."""
        size = self.export_sizes()
        try:
            canvas = self.view.compose(size)
        except ValueError as exc:  # too large to build: said in words, nothing written
            self.export_failed.emit(str(exc))
            return None
        path = write_png(target, canvas, self.provenance(kind="grid", step=self.view.step,
                                                         plane=self.view.plane.describe()), size=size, scaled=True)
        self.export_done.emit(str(path))
        return path

    def export_cell(self, target: str) -> Path | None:
        sel = self.view.selection
        hit = self.view.cache.get(tuple(sel[1])) if sel is not None else None
        if hit is None:
            self._status("Click a cell to select it first")
            return None
        prov = self.provenance(kind="cell", vector=[float(x) for x in sel[2]])
        fmt = Path(target).suffix.lower().lstrip(".")
        if self.loaded.modality == "melody":
            writer = write_melody_walk_wav if fmt == "wav" else write_melody_walk_midi
            path = writer(target, np.asarray(hit[1]).reshape(1, -1), min_pitch=self.loaded.min_pitch, provenance=prov)
        else:
            path = write_png(target, hit[0], prov, size=self.export_sizes())
        self.export_done.emit(str(path))
        return path

    def export_walk(self, target: str, path_name: str, fmt: str | None = None) -> None:
        """Decode the walk on the worker, then write it on a helper thread; ``export_done`` tells when."""
        path = self._find("paths", path_name)
        if path is None or self.loaded is None:
            self.export_failed.emit(f"no path named {path_name!r}")
            return
        fmt = (fmt or Path(target).suffix.lstrip(".") or "gif").lower()
        allowed = IMAGE_FORMATS if self.loaded.modality == "image" else MELODY_FORMATS
        if fmt not in allowed:
            self.export_failed.emit(f"{fmt} does not suit a {self.loaded.modality} model; use {', '.join(allowed)}")
            return
        z = self.walk_vectors(path)
        prov = self.provenance(kind="walk", path=path_name, method=path.get("method"), steps=path.get("steps"))
        self._status(f"Exporting {len(z)} steps to {target}…")
        # the size chosen now travels with the job: changing it while decoding cannot mix two sizes
        self.worker.submit("walk", ("export", target, fmt, prov, self.export_sizes()), [None] * len(z), z)

    def _write_in_background(self, target: str, fmt: str, tiles, raw, prov: dict, size=None) -> None:
        min_pitch = self.loaded.min_pitch

        def job():
            try:
                if fmt == "gif":
                    out = write_gif(target, tiles, WALK_FPS, scale=max(1, 128 // max(tiles.shape[1], 1)),
                                    provenance=prov, size=size)
                elif fmt == "mp4":
                    out = write_mp4(target, tiles, WALK_FPS, provenance=prov, size=size)
                elif fmt == "png":
                    out = write_png_frames(Path(target).with_suffix(""), tiles, prov, size=size)[0].parent
                elif fmt == "mid":
                    out = write_melody_walk_midi(target, raw, min_pitch=min_pitch, provenance=prov)
                else:
                    out = write_melody_walk_wav(target, raw, min_pitch=min_pitch, provenance=prov)
            except Exception as exc:  # noqa: BLE001 - reported in the panel
                self.export_failed.emit(f"{target}: {exc}")
                return
            self.export_done.emit(str(out))

        threading.Thread(target=job, name="latent-export", daemon=True).start()
