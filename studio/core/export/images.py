"""Image export (PNG, JPEG, WebP; contact sheets) with the recipe in the format's own metadata.

PNG: iTXt ``studio.provenance`` (recipe JSON, what ComfyUI/A1111 users expect),
iTXt ``XML:com.adobe.xmp`` (XMP with the IPTC digital source type), and
``Description``/``Software`` text. JPEG/WebP: XMP plus EXIF ImageDescription
(the disclosure line), Software and UserComment (recipe JSON, ASCII).
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from studio.core.export.credentials import sign_bytes
from studio.core.export.naming import check_target
from studio.core.export.provenance import DISCLOSURE_LINE, GENERATOR, finalize, to_json
from studio.core.export.scale import ExportSize, check_budget, scale_image, stamp
from studio.core.export.xmp import xmp_packet
from studio.core.fileio import atomic_write_bytes

PNG_KEY = "studio.provenance"
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
FORMAT_SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
EXIF_DESCRIPTION, EXIF_SOFTWARE, EXIF_USER_COMMENT, EXIF_IFD = 0x010E, 0x0131, 0x9286, 0x8769


def to_uint8(image: Any) -> np.ndarray:
    """One image as uint8 (H, W) or (H, W, 3). Accepts floats in [0,1] as (C,H,W) or (H,W,C), tensors too."""
    if hasattr(image, "detach"):
        image = image.detach().cpu().float().numpy()
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3, 4):
        arr = np.transpose(arr, (1, 2, 0))  # (C,H,W), the studio's sample format
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3):
        raise ValueError(f"expected one image (C,H,W) or (H,W,C), got shape {tuple(arr.shape)}")
    if arr.dtype != np.uint8:
        arr = np.clip(np.nan_to_num(arr.astype(np.float32), nan=0.0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def to_pil(image: Any) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    arr = to_uint8(image)
    return Image.fromarray(arr, "L" if arr.ndim == 2 else "RGB")


def image_format(path: str | Path, fmt: str | None = None) -> str:
    if fmt:
        key = "." + fmt.lower().lstrip(".")
    else:
        key = Path(path).suffix.lower()
    if key not in IMAGE_FORMATS:
        raise ValueError(f"{path}: unsupported image format {key or '(none)'}; use one of png, jpg, webp")
    return IMAGE_FORMATS[key]


def _exif(recipe: dict[str, Any]) -> Image.Exif:
    exif = Image.Exif()
    exif[EXIF_DESCRIPTION] = DISCLOSURE_LINE
    exif[EXIF_SOFTWARE] = GENERATOR
    # UserComment: 8-byte character-code prefix, then the text (EXIF 2.3, 4.6.5).
    exif.get_ifd(EXIF_IFD)[EXIF_USER_COMMENT] = b"ASCII\x00\x00\x00" + to_json(recipe).encode("ascii")
    return exif


def encode_image(image: Any, recipe: dict[str, Any] | None, fmt: str = "PNG", quality: int = 95) -> bytes:
    """Encoded bytes of one image with the (finalized) recipe embedded."""
    recipe = finalize(recipe)
    pil = to_pil(image)
    buf = io.BytesIO()
    if fmt == "PNG":
        info = PngInfo()
        info.add_itxt(PNG_KEY, to_json(recipe))
        info.add_itxt("XML:com.adobe.xmp", xmp_packet(recipe).decode("utf-8"))
        info.add_text("Description", DISCLOSURE_LINE)
        info.add_text("Software", GENERATOR)
        pil.save(buf, "PNG", pnginfo=info, optimize=False)
    elif fmt == "JPEG":
        pil.convert("RGB" if pil.mode not in ("L", "RGB") else pil.mode).save(
            buf, "JPEG", quality=quality, xmp=xmp_packet(recipe), exif=_exif(recipe))
    elif fmt == "WEBP":
        pil.save(buf, "WEBP", quality=quality, lossless=quality >= 100, xmp=xmp_packet(recipe), exif=_exif(recipe))
    else:
        raise ValueError(f"unsupported image format {fmt}")
    return buf.getvalue()


def sized(image: Any, recipe: dict[str, Any] | None, size: ExportSize | None,
          scaled: bool = False) -> tuple[Any, dict[str, Any] | None]:
    """(picture, recipe) at the export size: enlarged by ``size`` (unless ``scaled`` says a sheet of
    already enlarged cells is coming) and the choice recorded in the recipe."""
    if size is None:
        return image, recipe
    arr = np.asarray(image) if isinstance(image, Image.Image) else to_uint8(image)
    if not scaled:
        arr = scale_image(arr, size)
    return arr, stamp(recipe, size, arr.shape[1], arr.shape[0])


def save_image(image: Any, path: str | Path, recipe: dict[str, Any] | None, *, fmt: str | None = None,
               quality: int = 95, overwrite: bool = False, size: ExportSize | None = None,
               scaled: bool = False) -> Path:
    """Write one image; the format comes from ``fmt`` or the file extension. ``size`` enlarges it
    (``scaled=True``: it already is, only record the choice)."""
    path = check_target(path, overwrite)
    fmt = image_format(path, fmt)
    image, recipe = sized(image, recipe, size, scaled)
    # Content Credentials (C2PA) signed over the finished bytes; unsigned (with a warning) if that fails
    data = sign_bytes(encode_image(image, recipe, fmt, quality), FORMAT_SUFFIX[fmt], finalize(recipe), title=path.name)
    atomic_write_bytes(path, data)
    return path


def save_images(images: Sequence[Any], paths: Sequence[str | Path], recipes: Sequence[dict[str, Any]], *,
                fmt: str | None = None, quality: int = 95, overwrite: bool = False,
                size: ExportSize | None = None) -> list[Path]:
    """A batch: every target is checked before the first file is written."""
    if not (len(images) == len(paths) == len(recipes)):
        raise ValueError(f"{len(images)} images, {len(paths)} paths and {len(recipes)} recipes do not match")
    for p in paths:
        check_target(p, overwrite)
    return [save_image(img, p, r, fmt=fmt, quality=quality, overwrite=True, size=size)
            for img, p, r in zip(images, paths, recipes)]


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizes
        return ImageFont.load_default()


def contact_sheet(images: Sequence[Any], labels: Sequence[str] | None = None, *, columns: int | None = None,
                  cell: int | None = None, padding: int = 4, background=(24, 24, 28),
                  text_colour=(230, 230, 230), size: ExportSize | None = None) -> Image.Image:
    """A grid of images with a caption under each (seed, index...). Small images are scaled up:
    by ``size`` when given (each cell exactly scale × the picture), else to at least 96 px."""
    if not len(images):
        raise ValueError("a contact sheet needs at least one image")
    columns = columns or max(1, math.ceil(math.sqrt(len(images))))
    rows = math.ceil(len(images) / columns)
    if size is not None:
        images = [to_uint8(im) for im in images]
        side = max(images[0].shape[:2]) * size.scale
        check_budget(columns * (side + padding), rows * (side + padding), what="the contact sheet")
        images = [scale_image(im, size) for im in images]
    pils = [to_pil(im).convert("RGB") for im in images]
    side = cell or (max(max(p.size) for p in pils) if size is not None else max(96, max(max(p.size) for p in pils)))
    label_h = 14 if labels else 0
    font = _font(11)
    sheet = Image.new("RGB", (columns * (side + padding) + padding,
                              rows * (side + label_h + padding) + padding), background)
    draw = ImageDraw.Draw(sheet)
    for i, pil in enumerate(pils):
        r, c = divmod(i, columns)
        x, y = padding + c * (side + padding), padding + r * (side + label_h + padding)
        # Nearest-neighbour keeps small generated pixels crisp rather than blurred.
        sheet.paste(pil.resize((side, side), Image.NEAREST), (x, y))
        if labels:
            draw.text((x + 2, y + side + 1), str(labels[i])[:40], fill=text_colour, font=font)
    return sheet
