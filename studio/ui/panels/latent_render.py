"""Numpy drawing for the latent grid: decoded samples -> uint8 RGB tiles -> one canvas -> one QImage.

Runs on the decode worker (tiles) and the UI thread (canvas): all array work, no per-pixel Python.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from studio.core.audio.events import REST
from studio.core.export.scale import check_budget, scale_image
from studio.core.latent.walk_export import to_uint8_hwc

BACKGROUND = (30, 31, 36)
MELODY_TILE = (48, 64)      # (height, width) of a piano-roll cell
ROLL_BG = np.array([40, 46, 62], np.uint8)
ROLL_GRID = np.array([54, 62, 82], np.uint8)
ROLL_EDGE = np.array([70, 80, 104], np.uint8)


def image_tiles(decoded: np.ndarray) -> np.ndarray:
    """float (n,C,H,W) in [0,1] -> uint8 (n,H,W,3)."""
    return to_uint8_hwc(decoded)


def held_pitches(events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n,L) event ids -> (n,L) sounding event id (-1 = silence) and (n,L) onset flags.

    HOLD repeats the previous step's state; a note-on starts a note; REST silences.
    """
    ev = np.asarray(events, dtype=np.int64)
    n, length = ev.shape
    state = np.where(ev >= 2, ev, np.where(ev == REST, -1, -2))  # -2 = hold (fill from the left)
    idx = np.where(state != -2, np.arange(length)[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    sounding = np.take_along_axis(state, idx, axis=1)
    sounding[sounding == -2] = -1  # leading HOLDs before any event are silence
    onsets = ev >= 2
    return sounding, onsets


def melody_tiles(events: np.ndarray, tile: tuple[int, int] = MELODY_TILE, span: int = 24) -> np.ndarray:
    """(n,L) event ids -> uint8 (n,h,w,3) mini piano rolls (one band per semitone, notes as bars).

    Each cell shows ``span`` semitones centred on its own notes, so a melody's contour is always
    readable; onsets are brighter so repeated notes stay distinct; beats get a faint line.
    """
    ev = np.asarray(events, dtype=np.int64)
    if ev.ndim != 2:
        raise ValueError(f"expected melodies of shape (n, L), got {ev.shape}")
    n, length = ev.shape
    h, w = tile
    sounding, onsets = held_pitches(ev)
    masked = np.where(sounding >= 0, sounding, 0)
    count = np.maximum((sounding >= 0).sum(axis=1), 1)
    centre = np.where((sounding >= 0).any(axis=1), masked.sum(axis=1) // count, 30)
    lo = centre - span // 2                                          # (n,)
    col_step = np.minimum((np.arange(w) * length) // w, length - 1)
    row_off = span - (np.arange(h) * (span + 1)) // h                # (h,) semitones above lo, top row highest
    row_pitch = lo[:, None] + row_off[None, :]                       # (n,h)
    s = sounding[:, col_step]                                        # (n,w)
    on = onsets[:, col_step]
    first_col = np.r_[True, col_step[1:] != col_step[:-1]]
    hit = s[:, None, :] == row_pitch[:, :, None]                     # (n,h,w)
    out = np.empty((n, h, w, 3), np.uint8)
    out[:] = ROLL_BG
    out[:, :, (col_step % 4 == 0) & first_col] = ROLL_GRID
    out[:, [0, -1], :] = ROLL_EDGE
    out[:, :, [0, -1]] = ROLL_EDGE
    hue = np.clip(row_off / span, 0.0, 1.0)
    colour = np.stack([110 + 140 * hue, 220 - 60 * hue, 255 - 110 * hue], axis=1).astype(np.uint8)  # (h,3)
    body = np.broadcast_to(colour[None, :, None, :], out.shape)
    out[hit] = body[hit]
    onset_px = hit & (on & first_col[None, :])[:, None, :]
    out[onset_px] = 255
    return out


def qimage_from_rgb(arr: np.ndarray) -> QImage:
    """Wrap a contiguous (H,W,3) uint8 array as a QImage; the array is attached so it stays alive."""
    arr = np.ascontiguousarray(arr)
    h, w, _ = arr.shape
    img = QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    img._keep = arr  # noqa: SLF001 - QImage does not own the buffer
    return img


def paste(canvas: np.ndarray, tile: np.ndarray, x: int, y: int) -> None:
    """Copy ``tile`` into ``canvas`` at (x, y), clipped to the canvas."""
    ch, cw = canvas.shape[:2]
    th, tw = tile.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + tw, cw), min(y + th, ch)
    if x1 <= x0 or y1 <= y0:
        return
    canvas[y0:y1, x0:x1] = tile[y0 - y:y1 - y, x0 - x:x1 - x]


def dim(tile: np.ndarray) -> np.ndarray:
    """A darker copy: how a borrowed neighbour is shown in the quick first pass."""
    return (tile.astype(np.uint16) * 3 // 5).astype(np.uint8)


def compose_cells(cache: dict, keys, origin: tuple[float, float], shape: tuple[int, int], pitch: tuple[int, int],
                  tile_shape: tuple[int, int], gutter: int, quick_pass: bool, size=None) -> np.ndarray:
    """The visible cells (``keys``, from ``cache``: key -> (tile, raw)) on one (H, W, 3) canvas of
    ``shape`` = (rows, cols) cells of ``pitch`` pixels; ``origin`` is the lattice point at the top-left.
    In the quick first pass a missing cell borrows its coarse neighbour, dimmed. ``size`` enlarges
    each cell on its own (export)."""
    k = size.scale if size is not None else 1
    (rows, cols), (pw, ph) = shape, pitch
    check_budget(cols * pw * k, rows * ph * k, what=f"the grid at {k}×")
    canvas = np.empty((rows * ph * k, cols * pw * k, 3), np.uint8)
    canvas[:] = BACKGROUND
    x0, y0 = origin
    g = gutter // 2
    for key in keys:
        hit = cache.get(key)
        if hit is not None:
            tile = hit[0]
        elif quick_pass and (key[0] & ~1, key[1] & ~1) in cache:
            tile = dim(cache[(key[0] & ~1, key[1] & ~1)][0])  # coarse neighbour stands in
        else:
            continue
        if tile.shape[:2] != tile_shape:
            continue
        x = int(round((key[0] - 0.5 - x0) * pw)) + g
        y = int(round((key[1] - 0.5 - y0) * ph)) + g
        paste(canvas, scale_image(tile, size) if k > 1 else tile, x * k, y * k)
    return canvas
