"""Decoding one image file to a square uint8 array; runs in worker processes (PIL + numpy only).

Any mode is handled: alpha is composited on a chosen background, 16-bit and float
are scaled down, CMYK/palette/YCbCr converted, EXIF rotation applied. A pixel
limit (50 megapixels) is checked from the header before any pixel is decoded.
"""
from __future__ import annotations

import functools
import io
import os
import re
import warnings

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from studio.core.datasets.fingerprint import digest_bytes
from studio.core.datasets.sniff import sniff

PIXEL_LIMIT = 50_000_000
FORMATS = {"PNG", "JPEG", "MPO", "WEBP", "BMP", "DIB", "GIF", "TIFF"}
_EXT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".webp": "WEBP", ".bmp": "BMP",
                ".dib": "BMP", ".gif": "GIF", ".tif": "TIFF", ".tiff": "TIFF"}
_FORMAT_NAMES = {"MPO": "JPEG", "DIB": "BMP"}

# Pillow refuses > 2x this at open; we refuse > 1x ourselves with a clearer reason.
Image.MAX_IMAGE_PIXELS = PIXEL_LIMIT
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageSkip(Exception):
    """An image that cannot be used, with the human reason."""


@functools.lru_cache(maxsize=16)
def _srgb_transform(icc: bytes, mode: str):
    """(LittleCMS transform to sRGB, profile name) for an embedded profile; None when it already is sRGB.
    Cached: a folder of phone photos shares one or two profiles."""
    from PIL import ImageCms

    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    name = (ImageCms.getProfileDescription(src) or "").strip()
    if name.lower().startswith("srgb"):
        return None, name
    out_mode = "RGBA" if mode == "RGBA" else "RGB"
    return ImageCms.buildTransform(src, ImageCms.createProfile("sRGB"), mode, out_mode,
                                   renderingIntent=ImageCms.Intent.PERCEPTUAL), name


def to_srgb(im: Image.Image, notes: list[str]) -> Image.Image:
    """Pixels in an embedded colour profile (Display P3 phone photos, Adobe RGB, CMYK) converted to sRGB,
    which is what models train on and every viewer assumes; without this they shift colour. A profile
    that cannot be used is noted and the pixels are read as they are."""
    icc = im.info.get("icc_profile")
    if not icc:
        return im
    if im.mode not in ("RGB", "RGBA", "CMYK", "L"):
        im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
    try:
        transform, _name = _srgb_transform(bytes(icc), im.mode)
        return im if transform is None else transform.apply(im)
    except Exception as exc:  # noqa: BLE001 - a damaged or mismatched profile (e.g. a grey one on RGB)
        notes.append(f"its colour profile could not be used ({type(exc).__name__}); colours read as sRGB")
        return im


def _to_8bit_gray(im: Image.Image) -> Image.Image:
    arr = np.asarray(im)
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr.astype(np.float64))
        hi = float(arr.max()) if arr.size else 1.0
        lo = float(arr.min()) if arr.size else 0.0
        arr = (arr - lo) / (hi - lo) if hi > 1.0 or lo < 0.0 else arr  # [0,1] floats stay as they are
        arr = np.clip(arr * 255.0 + 0.5, 0, 255)
    else:
        arr = arr.astype(np.int64)
        hi = int(arr.max()) if arr.size else 0
        if hi > 255:
            arr = arr * 255 // (65535 if hi <= 65535 else hi)
        arr = np.clip(arr, 0, 255)
    return Image.fromarray(arr.astype(np.uint8), "L")


def to_rgb_or_l(im: Image.Image, channels: int, background: tuple[int, int, int]) -> Image.Image:
    """Convert any Pillow mode to 'RGB' (channels=3) or 'L' (channels=1)."""
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        im = _to_8bit_gray(im)
        mode = "L"
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode in ("P", "L", "RGB") and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (*background, 255))
        im = Image.alpha_composite(bg, rgba).convert("RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode not in ("RGB", "L"):
        im = im.convert("RGB")  # CMYK, P, YCbCr, LAB, HSV
    if channels == 1 and im.mode != "L":
        im = im.convert("L")
    elif channels == 3 and im.mode != "RGB":
        im = im.convert("RGB")
    return im


def _reason_for(exc: BaseException, data: bytes, fmt: str | None) -> str:
    msg = str(exc)
    kind = fmt and _FORMAT_NAMES.get(fmt, fmt)
    if isinstance(exc, Image.DecompressionBombError):
        m = re.search(r"\((\d+) pixels\)", msg)
        size = f"of {int(m.group(1)) / 1e6:,.0f} megapixels " if m else ""
        return f"image {size}exceeds the {PIXEL_LIMIT // 1_000_000}-megapixel limit (decompression bomb?)"
    if isinstance(exc, UnidentifiedImageError) or (isinstance(exc, OSError) and "cannot identify" in msg):
        what = sniff(data[:64])
        if not data:
            return "empty file"
        if what and what.endswith("image"):
            return f"damaged {what} (header cannot be read)"
        if what:
            return f"not an image: the content is a {what}"
        return "not an image file (unrecognised content)"
    if "truncated" in msg.lower() or isinstance(exc, EOFError):
        return f"truncated {kind or ''} image".replace("  ", " ")
    if isinstance(exc, MemoryError):
        return "image too large to decode in memory"
    return f"damaged {kind or ''} image ({type(exc).__name__}: {msg[:120]})".replace("  ", " ")


def decode_image(data: bytes, name: str, size: int, channels: int, fit: str,
                 background: tuple[int, int, int]) -> tuple[np.ndarray, dict, list[str]]:
    """(H,W,C) uint8 array, info, warnings — or raises :class:`ImageSkip` with the reason."""
    fmt = None
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning, EXIF and palette chatter
            im = Image.open(io.BytesIO(data))
            fmt = im.format
            w, h = im.size
            if w * h > PIXEL_LIMIT:
                raise ImageSkip(f"image of {w}×{h} pixels exceeds the {PIXEL_LIMIT // 1_000_000}-megapixel limit")
            if w < 1 or h < 1:
                raise ImageSkip(f"image of {w}×{h} pixels is empty")
            if fmt not in FORMATS:
                raise ImageSkip(f"{fmt} images are not supported (use PNG, JPEG, WebP, BMP, GIF or TIFF)")
            ext_fmt = _EXT_FORMATS.get(os.path.splitext(name)[1].lower())
            real = _FORMAT_NAMES.get(fmt, fmt)
            if ext_fmt and ext_fmt != real:
                notes.append(f"a {real} file named {os.path.splitext(name)[1]}; read as {real}")
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)
                notes.append(f"animated ({im.n_frames} frames); the first frame is used")
            if fmt in ("JPEG", "MPO"):
                im.draft("RGB" if channels == 3 else "L", (size, size))  # DCT-domain downscale: much faster
            mode = im.mode
            im.load()
            im = to_srgb(im, notes)
            if fmt in ("JPEG", "MPO", "TIFF", "WEBP"):  # camera formats carry EXIF orientation
                im = ImageOps.exif_transpose(im)
            im = to_rgb_or_l(im, channels, background)
            if fit == "pad":
                im = ImageOps.pad(im, (size, size), Image.Resampling.BICUBIC,
                                  color=background if channels == 3 else int(sum(background) / 3))
            else:
                im = ImageOps.fit(im, (size, size), Image.Resampling.BICUBIC)
            arr = np.asarray(im, dtype=np.uint8)
    except ImageSkip:
        raise
    except Exception as exc:  # noqa: BLE001 - decoders raise anything on hostile input
        raise ImageSkip(_reason_for(exc, data, fmt)) from None
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr, {"w": w, "h": h, "format": _FORMAT_NAMES.get(fmt, fmt), "mode": mode}, notes


def watch_studio(pid: int, interval: float = 1.0) -> None:
    """Pool worker initializer: leave as soon as the studio that started the pool is gone.

    After ``kill -9`` of ``studio import`` (or a crash of the window mid-import) nobody tells the
    workers; they waited on their queue for 10+ minutes, and the forkserver and the resource
    tracker with them. A daemon thread checks the parent once a second and ends the worker.
    """
    import threading
    import time

    from studio.core.project_lock import pid_alive

    def watch() -> None:
        while True:
            time.sleep(interval)
            if not pid_alive(pid):
                os._exit(0)

    threading.Thread(target=watch, daemon=True, name="studio-watch").start()


def decode_batch(items: list[tuple[int, str, str | None, bytes | None]], size: int, channels: int, fit: str,
                 background: tuple[int, int, int]) -> list[tuple[int, np.ndarray | None, str, dict, list[str]]]:
    """Worker entry: items are (index, shown path, path on disk or None, bytes or None).

    Each result's info carries the ``digest`` of the bytes read (the import's fingerprint
    uses it, so a file is read once), also for files that could not be decoded."""
    out = []
    for idx, shown, disk_path, data in items:
        try:
            if data is None:
                with open(disk_path, "rb") as fh:
                    data = fh.read()
        except OSError as exc:
            out.append((idx, None, f"cannot be read ({exc.strerror or exc})", {}, []))
            continue
        digest = {"digest": digest_bytes(data)}  # hashlib releases the GIL on buffers this size
        try:
            arr, info, notes = decode_image(data, shown, size, channels, fit, background)
            out.append((idx, arr, "", {**info, **digest}, notes))
        except ImageSkip as exc:
            out.append((idx, None, str(exc), digest, []))
        except Exception as exc:  # noqa: BLE001 - a worker must answer for every file
            out.append((idx, None, f"could not be decoded ({type(exc).__name__})", digest, []))
    return out
