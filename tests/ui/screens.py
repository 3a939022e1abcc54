"""Screenshot helpers for panel tests: save under tests/_screens and check the picture is not blank."""
from __future__ import annotations

from pathlib import Path

SCREENS = Path(__file__).resolve().parents[1] / "_screens"


def distinct_colours(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as im:
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    return len(colours or [])


def save_widget(widget, name: str, min_colours: int = 8) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    assert widget.grab().save(str(path)), f"could not save {path}"
    n = distinct_colours(path)
    assert n >= min_colours, f"{path} looks blank ({n} colours)"
    return path
