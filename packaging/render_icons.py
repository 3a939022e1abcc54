"""Render the SVG icon (``studio/resources/icons/``) to PNGs at the freedesktop sizes (``packaging/icons/hicolor/NxN/apps/``).

    python packaging/render_icons.py            # uses Qt's SVG renderer (PySide6-Essentials has QtSvg)

The PNGs are committed, so packaging needs no Qt at build time; rerun after editing the SVG.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SVG = HERE.parent / "studio" / "resources" / "icons" / "generative-studio.svg"  # package data: the window icon too
SIZES = (16, 32, 48, 64, 128, 256)
NAME = "generative-studio"


def png_path(size: int) -> Path:
    return HERE / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{NAME}.png"


def render(svg: Path = SVG, sizes=SIZES) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - QPainter needs one
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG for Qt's renderer")
    out = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        path = png_path(size)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path), "PNG"):
            raise SystemExit(f"could not write {path}")
        out.append(path)
    return out


if __name__ == "__main__":
    for p in render():
        print(p.relative_to(HERE.parent))
