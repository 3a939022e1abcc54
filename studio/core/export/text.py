"""Text export: the recipe as a comment block in the file (header or footer) or a sidecar JSON.

``footer`` (the default) keeps the file starting with the generated text
itself (so it starts with the prime) while still carrying the recipe and the
disclosure; ``header`` puts the block first; ``sidecar`` writes the text
alone plus ``NAME.txt.json``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from studio.core.export.credentials import write_sidecar
from studio.core.export.naming import check_target
from studio.core.export.provenance import DISCLOSURE_LINE, finalize, from_json, to_json
from studio.core.fileio import atomic_write_text

MARKER = "# studio-provenance: "
RULE = "# ---- " + DISCLOSURE_LINE + " ----"
PLACEMENTS = ("footer", "header", "sidecar")


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


def _block(recipe: dict[str, Any]) -> str:
    return f"{RULE}\n{MARKER}{to_json(recipe)}\n"


def render_text(text: str, recipe: dict[str, Any] | None, placement: str = "footer") -> str:
    recipe = finalize(recipe)
    if placement == "header":
        return _block(recipe) + "\n" + text
    if placement == "footer":
        return text + "\n\n" + _block(recipe)
    if placement == "sidecar":
        return text
    raise ValueError(f"unknown provenance placement {placement!r}; use one of {', '.join(PLACEMENTS)}")


def save_text(text: str, path: str | Path, recipe: dict[str, Any] | None, *, placement: str = "footer",
              overwrite: bool = False) -> Path:
    path = check_target(path, overwrite)
    if placement == "sidecar":
        check_target(sidecar_path(path), overwrite)
    atomic_write_text(path, render_text(text, recipe, placement))
    if placement == "sidecar":
        atomic_write_text(sidecar_path(path), json.dumps(finalize(recipe), indent=2) + "\n")
    write_sidecar(path, finalize(recipe))  # text has no C2PA embedding: Content Credentials in NAME.txt.c2pa
    return path


def split_text(content: str, source: str = "<text>") -> tuple[str, dict[str, Any] | None]:
    """(generated text, recipe or None): undoes :func:`render_text` for header and footer blocks."""
    lines = content.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(MARKER):
            recipe = from_json(line[len(MARKER):], source)
            start = i - 1 if i > 0 and lines[i - 1].startswith("# ---- ") else i
            if start == 0:  # header: block, blank line, text
                return "\n".join(lines[i + 2:]), recipe
            body = "\n".join(lines[:start])
            return (body[:-1] if body.endswith("\n") else body), recipe
    return content, None
