"""Reading ``project.json`` safely: bounded size and depth, strict types, migrations from older schemas.

A project file may come from an older studio, a newer one, a crash, a text
editor or someone hostile. Each case ends in a plain dict of the current
schema or in a :class:`ProjectError` that says in words what is wrong, in
bounded time and memory (Pillow's decompression-bomb idea applied to JSON).
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Callable

SCHEMA_VERSION = 2
MAX_PROJECT_BYTES = 32 * 1024 * 1024  # thousands of latent bookmarks still fit comfortably
MAX_DEPTH = 64                        # real project files nest about 6 levels
MAX_TEXT = 4096                       # names, labels and folder references


class ProjectError(ValueError):
    """A project folder or file that cannot be opened, with the reason in words."""


# -- bounded reading ----------------------------------------------------------
def read_bounded(path: Path, max_bytes: int = MAX_PROJECT_BYTES) -> bytes:
    """Read a regular file of at most ``max_bytes``; FIFOs, devices and huge files are refused unread."""
    from studio.core.fileio import UnreadableFileError, read_small_file

    try:
        return read_small_file(path, max_bytes, what="project file")
    except FileNotFoundError:
        raise ProjectError(f"{path} does not exist") from None
    except UnreadableFileError as exc:
        raise ProjectError(str(exc)) from exc
    except OSError as exc:
        raise ProjectError(f"{path} could not be read: {exc.strerror or exc}") from exc


_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"')
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")


def nesting_depth(data: bytes) -> int:
    """Deepest ``[``/``{`` nesting of JSON text, found without parsing (linear, no recursion)."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return data.count(b"[") + data.count(b"{")  # cheap upper bound is enough
    import numpy as np

    brackets = _STRING.sub(b"", data).translate(None, delete=_NOT_BRACKET)
    if not brackets:
        return 0
    arr = np.frombuffer(brackets, np.uint8)
    steps = np.where((arr == ord("[")) | (arr == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps, dtype=np.int64).max())


def parse_project_bytes(data: bytes, path: Path) -> Any:
    """Bytes -> JSON value, refusing NUL bytes, bad UTF-8, deep nesting and absurd numbers in words."""
    if b"\x00" in data:
        raise ProjectError(f"{path} contains NUL bytes, so it is not a text project file "
                           "(it may be damaged or not a project file at all)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{path} is not UTF-8 text (bad byte at offset {exc.start})") from None
    depth = nesting_depth(data)
    if depth > MAX_DEPTH:
        raise ProjectError(f"{path} is nested {depth} levels deep; a project file nests at most "
                           f"{MAX_DEPTH}, so it is refused")
    try:
        return json.loads(text)
    except RecursionError:
        raise ProjectError(f"{path} is nested too deeply to be a project file") from None
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                           f"column {exc.colno} (the file may be damaged)") from None
    except ValueError as exc:  # e.g. an integer with 100,000 digits
        raise ProjectError(f"{path} holds a value that cannot be read: {exc}") from None


def read_project_file(path: Path) -> tuple[dict[str, Any], int]:
    """Read, parse, migrate and validate a project-shaped file; also returns the schema it was written in."""
    data = parse_project_bytes(read_bounded(path), path)
    version = data.get("schema_version", 0) if isinstance(data, dict) else 0
    return validate(migrate(data, path), path), version


def load_project_data(path: Path) -> dict[str, Any]:
    """Read, parse, migrate and validate a project-shaped file (project.json, autosave or backup)."""
    return read_project_file(path)[0]


# -- migrations -----------------------------------------------------------------
def _v0_to_v1(d: dict[str, Any]) -> dict[str, Any]:
    """Pre-release shape: ``title``, datasets/runs as ``{"path", "name"}`` objects,
    bookmarks as ``{name: z}``, open panels as a top-level list."""
    out = {k: v for k, v in d.items() if k not in ("title", "datasets", "runs", "bookmarks", "panels")}
    out["name"] = d.get("name", d.get("title", "Untitled"))
    labels: dict[str, str] = {}
    for key in ("datasets", "runs"):
        items = d.get(key, [])
        if not isinstance(items, list):
            out[key] = items  # left for validate() to refuse in words
            continue
        refs = []
        for item in items:
            if isinstance(item, dict) and "path" in item:
                refs.append(item["path"])
                if isinstance(item.get("name"), str) and isinstance(item["path"], str):
                    labels[item["path"]] = item["name"]
            else:
                refs.append(item)
        out[key] = refs
    marks = d.get("bookmarks", [])
    if isinstance(marks, dict):
        marks = [{"name": str(name), "z": z} for name, z in marks.items()]
    out["bookmarks"] = marks
    ui = dict(d["ui"]) if isinstance(d.get("ui"), dict) else {}
    if "panels" in d:
        ui.setdefault("open_panels", d["panels"])
    out["ui"] = ui
    if labels:
        out["labels"] = labels  # v1 had no such key; kept as an extra and adopted by v2
    out["schema_version"] = 1
    return out


def _v1_to_v2(d: dict[str, Any]) -> dict[str, Any]:
    """v2 adds display ``labels`` for datasets/runs (renames) and the ``trash`` log (undoable deletes)."""
    out = dict(d)
    out.setdefault("labels", {})
    out.setdefault("trash", [])
    out["schema_version"] = 2
    return out


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _v0_to_v1, 1: _v1_to_v2}


def migrate(data: Any, path: Path) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ProjectError(f"{path} is not a project file: expected a JSON object, found {_kind(data)}")
    version = data.get("schema_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ProjectError(f"{path} has an invalid schema_version ({_short(version)}); expected a whole number")
    if version > SCHEMA_VERSION:
        raise ProjectError(f"{path} was written by a newer Generative Studio (project schema {version}; "
                           f"this studio reads up to {SCHEMA_VERSION}). Please update the studio to open it.")
    while version < SCHEMA_VERSION:
        try:
            data = MIGRATIONS[version](data)
        except (TypeError, AttributeError, KeyError) as exc:
            raise ProjectError(f"{path}: could not upgrade the project from schema {version}: {exc}") from None
        version = data["schema_version"]
    return data


# -- validation -------------------------------------------------------------------
def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null",
            int: "a number", float: "a number"}.get(type(v), type(v).__name__)


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def _text(v: Any, where: str, path: Path, folder_ref: bool = False) -> str:
    if not isinstance(v, str):
        raise ProjectError(f"{path}: {where} should be text, found {_kind(v)}")
    if len(v) > MAX_TEXT:
        raise ProjectError(f"{path}: {where} is {len(v)} characters long (at most {MAX_TEXT})")
    if "\x00" in v:
        raise ProjectError(f"{path}: {where} contains a NUL character")
    if folder_ref and any(ord(c) < 32 for c in v):
        raise ProjectError(f"{path}: {where} contains control characters, so it cannot name a folder")
    return v


def _list_of(data: dict, key: str, item: type, path: Path) -> list:
    v = data.get(key, [])
    if not isinstance(v, list):
        raise ProjectError(f"{path}: '{key}' should be a list, found {_kind(v)}")
    for i, x in enumerate(v):
        if not isinstance(x, item):
            raise ProjectError(f"{path}: '{key}' item {i + 1} should be {_kind(item())}, found {_kind(x)}")
    return v


def validate(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Check every known key of a current-schema dict; unknown keys are kept (formats only grow)."""
    out = dict(data)
    out["name"] = _text(data.get("name", "Untitled"), "the project name", path)
    created = data.get("created", 0.0)
    if isinstance(created, bool) or not isinstance(created, (int, float)) or not math.isfinite(created):
        raise ProjectError(f"{path}: 'created' should be a time stamp, found {_short(created)}")
    out["created"] = float(created)
    for key in ("datasets", "runs"):
        refs = _list_of(data, key, str, path)
        for i, ref in enumerate(refs):
            _text(ref, f"'{key}' item {i + 1}", path, folder_ref=True)
            if not ref.strip():
                raise ProjectError(f"{path}: '{key}' item {i + 1} is empty")
        out[key] = list(dict.fromkeys(refs))  # duplicates would make deletes ambiguous
    for key in ("bookmarks", "paths", "trash"):
        items = _list_of(data, key, dict, path)
        for i, it in enumerate(items):
            if "name" in it:
                _text(it["name"], f"the name of '{key}' item {i + 1}", path)
        out[key] = items
    for key in ("ui", "labels"):
        v = data.get(key, {})
        if not isinstance(v, dict):
            raise ProjectError(f"{path}: '{key}' should be an object, found {_kind(v)}")
        out[key] = v
    for ref, label in out["labels"].items():
        _text(label, f"the label of {_short(ref)}", path)
    return out
