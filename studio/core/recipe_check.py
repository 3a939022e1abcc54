"""Type-checking a recipe read back from a file, before anything uses it.

A recipe travels inside exported files (PNG text chunks, MIDI text events, ``.txt``
sidecars), so a dropped file can carry any JSON at all: ``"format": 5``, ``"plugin":
"vae"``, ``"vector": "abc"``, ``"seed": 1e300``. Readers used to trust the types and
raised AttributeError/TypeError far from the file. :func:`check_recipe` checks every
field the studio uses and raises :class:`RecipeError` naming the file and the field;
what it returns can be handed to ``export.provenance.restore_spec`` and the panels as is.

    recipe = check_recipe(read_provenance(path), source=str(path))   # RecipeError in words
"""
from __future__ import annotations

import math
from typing import Any

MODALITIES = ("image", "melody", "text")
MAX_SEED = 2**63 - 1
MAX_VECTOR_VALUES = 1024     # as export.provenance: longer vectors are recorded by hash only
MAX_TEXT = 4096              # ids, versions, paths
MAX_PRIME_CHARS = 1 << 20
MAX_PRIME_EVENTS = 1 << 20
MAX_BATCH = 10_000_000


class RecipeError(ValueError):
    """A recipe with a field of the wrong type or an absurd value; the message names the file and the field."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(v), "a number" if isinstance(v, (int, float)) else type(v).__name__)


class _Checker:
    def __init__(self, source: str):
        self.source = source

    def fail(self, field: str, why: str) -> None:
        raise RecipeError(f"{self.source}: the recipe's '{field}' {why}; the file's recipe cannot be used")

    def text(self, v: Any, field: str, limit: int = MAX_TEXT) -> str | None:
        if v is None:
            return None
        if not isinstance(v, str):
            self.fail(field, f"should be text, not {_kind(v)}")
        if len(v) > limit:
            self.fail(field, f"is {len(v):,} characters long (at most {limit:,})")
        if "\x00" in v:
            self.fail(field, "holds a NUL character")
        return v

    def obj(self, v: Any, field: str) -> dict[str, Any]:
        if v is None:
            return {}
        if not isinstance(v, dict):
            self.fail(field, f"should be an object, not {_kind(v)}")
        return v

    def whole(self, v: Any, field: str, low: int, high: int) -> int | None:
        if v is None:
            return None
        if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
            v = int(v)
        if not _is_int(v):
            self.fail(field, f"should be a whole number, not {_kind(v)}")
        if not low <= v <= high:
            self.fail(field, f"is {v}, outside {low}..{high}")
        return v

    def number(self, v: Any, field: str, low: float, high: float) -> float | None:
        if v is None:
            return None
        if not _is_number(v):
            shown = repr(v)[:40] if isinstance(v, (int, float)) and not isinstance(v, bool) else _kind(v)
            self.fail(field, f"should be a finite number, not {shown}")
        if not low <= v <= high:
            self.fail(field, f"is {v:g}, outside {low:g}..{high:g}")
        return v


def check_recipe(recipe: Any, source: str = "<recipe>") -> dict[str, Any]:
    """A type-checked copy of ``recipe`` (fields the studio does not know are kept as they are).

    Raises :class:`RecipeError` naming ``source`` and the field whose type or value is wrong.
    """
    c = _Checker(source)
    if not isinstance(recipe, dict):
        raise RecipeError(f"{source}: the recipe should be a JSON object, not {_kind(recipe)}")
    out = dict(recipe)
    c.text(recipe.get("format"), "format")
    modality = recipe.get("modality")
    if modality is not None and modality not in MODALITIES:
        c.fail("modality", f"is {str(modality)[:40]!r}, not one of {', '.join(MODALITIES)}")
    plugin = c.obj(recipe.get("plugin"), "plugin")
    out["plugin"] = {**plugin, "id": c.text(plugin.get("id"), "plugin.id"),
                     "version": c.text(plugin.get("version"), "plugin.version")}
    run = c.obj(recipe.get("run"), "run")
    out["run"] = {**run, "id": c.text(run.get("id"), "run.id"), "path": c.text(run.get("path"), "run.path")}
    ck = c.obj(recipe.get("checkpoint"), "checkpoint")
    out["checkpoint"] = {**ck, "sha256": c.text(ck.get("sha256"), "checkpoint.sha256", 128),
                         "step": c.whole(ck.get("step"), "checkpoint.step", 0, 2**53),
                         "path": c.text(ck.get("path"), "checkpoint.path")}
    out["checkpoint"] = {k: v for k, v in out["checkpoint"].items() if v is not None}
    out["run"] = {k: v for k, v in out["run"].items() if v is not None}
    out["plugin"] = {k: v for k, v in out["plugin"].items() if v is not None}
    if "seed" in recipe:
        out["seed"] = c.whole(recipe["seed"], "seed", 0, MAX_SEED)
    if "batch" in recipe:
        batch = c.obj(recipe["batch"], "batch")
        n = c.whole(batch.get("n", 1), "batch.n", 1, MAX_BATCH)
        index = c.whole(batch.get("index", 0), "batch.index", 0, max(0, (n or 1) - 1))
        out["batch"] = {**batch, "n": n, "index": index}
    if recipe.get("vector") is not None:
        vec = recipe["vector"]
        if not isinstance(vec, list):
            c.fail("vector", f"should be a list of numbers, not {_kind(vec)}")
        if len(vec) > MAX_VECTOR_VALUES:
            c.fail("vector", f"has {len(vec):,} values (at most {MAX_VECTOR_VALUES:,})")
        if not all(_is_number(v) for v in vec):
            c.fail("vector", "holds something that is not a finite number")
        out["vector"] = [float(v) for v in vec]
    c.text(recipe.get("vector_sha256"), "vector_sha256", 128)
    c.whole(recipe.get("vector_dims"), "vector_dims", 0, 1 << 24)
    for flag in ("privacy", "edited_by_hand"):
        if recipe.get(flag) is not None and not isinstance(recipe[flag], bool):
            c.fail(flag, f"should be true or false, not {_kind(recipe[flag])}")
    c.number(recipe.get("bpm"), "bpm", 20.0, 400.0)  # melodies: the tempo written into the file
    c.whole(recipe.get("program"), "program", 0, 127)
    c.text(recipe.get("instrument"), "instrument")
    out["sampling"] = _sampling(c, recipe.get("sampling"))
    return out


def _sampling(c: _Checker, sampling: Any) -> dict[str, Any]:
    sampling = c.obj(sampling, "sampling")
    out: dict[str, Any] = {}
    for key, value in sampling.items():
        field = f"sampling.{key}"
        if not isinstance(key, str) or len(key) > 64:
            c.fail("sampling", "has a key that is not a short name")
        if value is None:
            continue
        if key == "temperature":
            out[key] = c.number(value, field, 1e-6, 100.0)
        elif key == "top_k":
            out[key] = c.whole(value, field, 0, 1 << 24)
        elif key == "top_p":
            out[key] = c.number(value, field, 0.0, 1.0)
        elif key in ("length", "steps"):
            out[key] = c.whole(value, field, 0, 1 << 24)
        elif key == "prime":
            out[key] = c.text(value, field, MAX_PRIME_CHARS)
        elif key == "prime_events":
            if not isinstance(value, list) or len(value) > MAX_PRIME_EVENTS or not all(_is_int(v) and 0 <= v < 1 << 16 for v in value):
                c.fail(field, "should be a list of event numbers")
            out[key] = value
        elif isinstance(value, bool) or _is_number(value):
            out[key] = value
        elif isinstance(value, str):
            out[key] = c.text(value, field)
        else:
            c.fail(field, f"should be a number or text, not {_kind(value)}")
    return out
