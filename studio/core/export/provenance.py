"""The recipe every exported file carries: how it was made, and that it is AI-generated.

A recipe is a plain JSON-able dict (stable, only ever extended)::

    {"format": "studio-provenance/1",
     "disclosure": "AI-generated",
     "digital_source_type": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
     "generator": "Generative Studio 0.1.0", "studio_version": "0.1.0",
     "created": "2025-01-31",
     "plugin": {"id": "vae", "version": "1.0.0"},
     "run": {"id": "run-1", "path": "/abs/run"},
     "checkpoint": {"sha256": "...", "step": 500, "path": "/abs/run/checkpoints/..."},
     "seed": 7, "batch": {"n": 16, "index": 3},
     "vector": [...], "vector_sha256": "...", "vector_dims": 32,
     "sampling": {"temperature": 0.8, ...},
     "privacy": false}

The disclosure and the IPTC digital source type are written by
:func:`finalize`, which every writer calls last, so no caller (and no
privacy setting) can leave them out. ``created`` is a UTC *date* (no time of
day) so that generating twice with the same seed gives the same bytes; the
``SOURCE_DATE_EPOCH`` convention of reproducible builds overrides it.
"""
from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any, Iterable

from studio import __version__

FORMAT = "studio-provenance/1"
DISCLOSURE = "AI-generated"
IPTC_DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
GENERATOR = f"Generative Studio {__version__}"
#: Longer latent vectors are stored as their hash only (metadata fields stay readable).
MAX_VECTOR_VALUES = 1024
#: One human-readable line for fields that only hold short text (EXIF, MP4 description, WAV subject).
DISCLOSURE_LINE = f"{DISCLOSURE} with {GENERATOR} (IPTC digital source type: trainedAlgorithmicMedia)"

_PATH_KEYS = ("path",)


class ProvenanceError(ValueError):
    """A file's embedded recipe is missing or unreadable (message names the file)."""


def today() -> str:
    """UTC date of generation; ``SOURCE_DATE_EPOCH`` (seconds) pins it for reproducible output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc).date().isoformat()
        except (ValueError, OverflowError, OSError):
            pass
    return _dt.datetime.now(_dt.timezone.utc).date().isoformat()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def vector_values(vector: Any) -> list[float]:
    """A latent vector (tensor, array or list) as float32-exact Python floats."""
    if hasattr(vector, "detach"):
        vector = vector.detach().cpu().float().reshape(-1).tolist()
    elif hasattr(vector, "tolist"):
        vector = vector.reshape(-1).astype("float32").tolist()
    # Round through float32 so that json -> float32 restores the exact same bits.
    return [struct.unpack("f", struct.pack("f", float(v)))[0] for v in vector]


def vector_hash(values: Iterable[float]) -> str:
    data = b"".join(struct.pack("<f", float(v)) for v in values)
    return hashlib.sha256(data).hexdigest()


def make_recipe(*, plugin_id: str, plugin_version: str = "", run_id: str = "", run_path: str | None = None,
                checkpoint_sha256: str | None = None, checkpoint_step: int | None = None,
                checkpoint_path: str | None = None, seed: int | None = None, n: int | None = None,
                index: int | None = None, vector: Any = None, sampling: dict[str, Any] | None = None,
                modality: str | None = None, extra: dict[str, Any] | None = None,
                private: bool = False) -> dict[str, Any]:
    """Build a recipe. ``private=True`` drops the vector values and every file path.

    Long vectors (more than ``MAX_VECTOR_VALUES``) are recorded by hash only.
    """
    recipe: dict[str, Any] = {
        "format": FORMAT,
        "plugin": {"id": str(plugin_id), "version": str(plugin_version)},
        "run": {"id": str(run_id)},
        "checkpoint": {},
    }
    if modality:
        recipe["modality"] = modality
    if run_path:
        recipe["run"]["path"] = str(run_path)
    if checkpoint_sha256:
        recipe["checkpoint"]["sha256"] = checkpoint_sha256
    if checkpoint_step is not None:
        recipe["checkpoint"]["step"] = int(checkpoint_step)
    if checkpoint_path:
        recipe["checkpoint"]["path"] = str(checkpoint_path)
    if seed is not None:
        recipe["seed"] = int(seed)
    if n is not None or index is not None:
        recipe["batch"] = {"n": int(n if n is not None else 1)}
        if index is not None:
            recipe["batch"]["index"] = int(index)
    if vector is not None:
        values = vector_values(vector)
        recipe["vector_dims"] = len(values)
        recipe["vector_sha256"] = vector_hash(values)
        if len(values) <= MAX_VECTOR_VALUES:
            recipe["vector"] = values
    recipe["sampling"] = {k: v for k, v in (sampling or {}).items() if v is not None}
    if extra:
        recipe.update(extra)
    return finalize(recipe, private=private)


def apply_privacy(recipe: dict[str, Any]) -> dict[str, Any]:
    """A copy without the vector values and without any file path (hashes stay: they reveal nothing)."""
    out = copy.deepcopy(recipe)
    out.pop("vector", None)
    _strip_paths(out)
    out["privacy"] = True
    return out


def _strip_paths(node: Any) -> None:
    if isinstance(node, dict):
        for key in list(node):
            if key in _PATH_KEYS or key.endswith("_path"):
                node.pop(key)
            else:
                _strip_paths(node[key])
    elif isinstance(node, list):
        for item in node:
            _strip_paths(item)


#: ``--share`` / the project's "share_exports" setting: recipes leave local paths out (see set_sharing)
_sharing = {"on": False}


def set_sharing(on: bool) -> None:
    """Share-safe exports for this process from now on: recipes keep run id, checkpoint digest, seed,
    vector and settings (enough to restore the generation by digest) but no local file path."""
    _sharing["on"] = bool(on)


def sharing() -> bool:
    return _sharing["on"]


def apply_sharing(recipe: dict[str, Any]) -> dict[str, Any]:
    """A copy without local file paths, marked ``"shared": true`` (the vector and digests stay)."""
    out = copy.deepcopy(recipe)
    _strip_paths(out)
    out["shared"] = True
    return out


def finalize(recipe: dict[str, Any] | None, *, private: bool = False, share: bool | None = None) -> dict[str, Any]:
    """The recipe as written: disclosure, source type, generator and date always present.

    Writers call this on whatever they are given, so a recipe that lost (or
    tried to change) its disclosure is corrected rather than trusted. ``share``
    (default: the process setting, :func:`set_sharing`) leaves local paths out.
    """
    out = copy.deepcopy(dict(recipe or {}))
    if private or out.get("privacy"):
        out = apply_privacy(out)
    if (sharing() if share is None else share) or out.get("shared"):
        out = apply_sharing(out)
    out.setdefault("format", FORMAT)
    out.setdefault("studio_version", __version__)
    out.setdefault("created", today())
    out.setdefault("privacy", False)
    out["disclosure"] = DISCLOSURE
    out["digital_source_type"] = IPTC_DIGITAL_SOURCE_TYPE
    out["generator"] = GENERATOR
    # Disclosure first, so a person skimming raw metadata sees it before the numbers.
    head = {k: out.pop(k) for k in ("format", "disclosure", "digital_source_type", "generator", "studio_version", "created")}
    return {**head, **out}


def to_json(recipe: dict[str, Any]) -> str:
    """Compact ASCII JSON (safe for Latin-1-only fields: RIFF INFO, MIDI text, PNG tEXt)."""
    return json.dumps(finalize(recipe), ensure_ascii=True, separators=(",", ":"), sort_keys=False, default=str)


def from_json(text: str | bytes, source: str = "<metadata>") -> dict[str, Any]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProvenanceError(f"{source}: the studio metadata is not valid JSON ({exc})") from exc
    fmt = obj.get("format") if isinstance(obj, dict) else None
    if not isinstance(fmt, str) or fmt.split("/")[0] != FORMAT.split("/")[0]:
        raise ProvenanceError(f"{source}: the metadata is not a studio recipe")
    return obj


def restore_spec(recipe: dict[str, Any]) -> dict[str, Any]:
    """What a front end needs to regenerate: plugin, run, seed, batch, vector, sampling."""
    return {
        "plugin": recipe.get("plugin", {}).get("id"),
        "plugin_version": recipe.get("plugin", {}).get("version"),
        "run_id": recipe.get("run", {}).get("id"),
        "run_path": recipe.get("run", {}).get("path"),
        "checkpoint_sha256": recipe.get("checkpoint", {}).get("sha256"),
        "seed": recipe.get("seed"),
        "n": recipe.get("batch", {}).get("n", 1),
        "index": recipe.get("batch", {}).get("index", 0),
        "vector": recipe.get("vector"),
        "sampling": dict(recipe.get("sampling", {})),
    }


def source_label(recipe: dict[str, Any]) -> str:
    """Short caption: ``vae · run-1 · seed 7 #3``."""
    parts = [recipe.get("plugin", {}).get("id", "?"), recipe.get("run", {}).get("id", "") or "?"]
    seed = recipe.get("seed")
    label = " · ".join(parts)
    if seed is not None:
        label += f" · seed {seed}"
        idx = recipe.get("batch", {}).get("index")
        if idx is not None:
            label += f" #{idx}"
    return label


def as_path(p: str | os.PathLike) -> Path:
    return Path(os.fspath(p))
