"""The latent grid's decode thread: only the newest request of each kind is ever decoded.

``submit(tag, token, keys, z)`` replaces whatever was pending under ``tag`` (a mouse drag sends
many views; the stale ones are dropped unseen, never queued). Grid jobs are decoded in small
chunks, and after each chunk the worker looks for a newer job, so a view the user has already
dragged past is abandoned midway. Results come back through the ``decoded`` signal, which Qt
delivers on the UI thread.
"""
from __future__ import annotations

import logging
import threading
import time

import numpy as np
from PySide6.QtCore import QObject, Signal

from studio.ui.panels.latent_render import image_tiles, melody_tiles

log = logging.getLogger(__name__)

PRIORITY = ("preview", "grid", "walk", "thumbs")


class DecodeWorker(QObject):
    # tag, token, keys (list), tiles uint8 (n,h,w,3), raw decoded numpy array
    decoded = Signal(str, object, object, object, object)
    failed = Signal(str, str)     # tag, message

    def __init__(self, chunk: int = 16, parent=None):
        super().__init__(parent)
        self.chunk = int(chunk)
        self._decoder = None
        self._pending: dict[str, tuple] = {}
        self._cond = threading.Condition()
        self._stop = False
        self._working = False
        self._done_token = None     # the grid view whose decoded cells ``_done`` lists
        self._done: set = set()
        self.decode_seconds: list[float] = []   # per chunk, for the status line / benchmark
        self._thread = threading.Thread(target=self._loop, name="latent-decode", daemon=True)
        self._thread.start()

    # -- UI thread --------------------------------------------------------
    def set_decoder(self, decoder) -> None:
        with self._cond:
            self._decoder = decoder
            self._pending.clear()
            self._done_token = None

    @property
    def decoder(self):
        return self._decoder

    def submit(self, tag: str, token, keys: list, z: np.ndarray) -> None:
        with self._cond:
            self._pending[tag] = (token, list(keys), np.asarray(z, np.float32))
            self._cond.notify()

    def forget(self, token, keys) -> None:
        """Cells the view dropped from its cache: decode them again when asked."""
        with self._cond:
            if token == self._done_token:
                self._done.difference_update(tuple(k) for k in keys)

    def cancel(self, tag: str) -> None:
        with self._cond:
            self._pending.pop(tag, None)

    def busy(self) -> bool:
        with self._cond:
            return bool(self._pending) or self._working

    def stop(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._stop = True
            self._pending.clear()
            self._cond.notify()
        self._thread.join(timeout)

    # -- worker thread ----------------------------------------------------
    def _take(self):
        for tag in PRIORITY:
            if tag in self._pending:
                return tag, self._pending.pop(tag)
        tag = next(iter(self._pending))
        return tag, self._pending.pop(tag)

    def _newer_grid(self) -> bool:
        with self._cond:
            return "grid" in self._pending or "preview" in self._pending or self._stop

    def _render(self, decoder, out: np.ndarray) -> np.ndarray:
        return image_tiles(out) if decoder.modality == "image" else melody_tiles(out)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._working = False
                    self._cond.wait()
                if self._stop:
                    return
                tag, (token, keys, z) = self._take()
                decoder = self._decoder
                self._working = True
            if decoder is None:
                continue
            if tag == "grid":
                self._decode_grid(decoder, token, keys, z)
                continue
            try:
                out = decoder.decode(z)
                tiles = self._render(decoder, out)
            except Exception as exc:  # noqa: BLE001 - a model error must not kill the thread
                log.warning("latent decode failed: %s", exc)
                self.failed.emit(tag, f"{type(exc).__name__}: {exc}")
                continue
            self.decoded.emit(tag, token, keys, tiles, out)

    def _decode_grid(self, decoder, token, keys, z) -> None:
        if token != self._done_token:
            self._done_token, self._done = token, set()
        # cells decoded for this view already (their results may still be on the way to the UI)
        todo = [k for k in range(len(keys)) if tuple(keys[k]) not in self._done]
        for start in range(0, len(todo), self.chunk):
            idx = todo[start:start + self.chunk]
            try:
                t0 = time.perf_counter()
                out = decoder.decode(z[idx])
                tiles = self._render(decoder, out)
                self.decode_seconds.append(time.perf_counter() - t0)
                del self.decode_seconds[:-200]
            except Exception as exc:  # noqa: BLE001 - a model error must not kill the thread
                log.warning("latent decode failed: %s", exc)
                self.failed.emit("grid", f"{type(exc).__name__}: {exc}")
                return
            chunk_keys = [tuple(keys[k]) for k in idx]
            self._done.update(chunk_keys)
            self.decoded.emit("grid", token, chunk_keys, tiles, out)
            if self._newer_grid():
                with self._cond:  # only a preview waits: it goes first, the rest of this view after it
                    rest = todo[start + self.chunk:]
                    if rest and "grid" not in self._pending and not self._stop:
                        self._pending["grid"] = (token, [keys[k] for k in rest], z[rest])
                return  # else the rest belongs to a view the user has left
