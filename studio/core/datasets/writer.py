"""Writing a dataset folder all at once: a temp folder beside the target, renamed at the end.

A cancelled or crashed import therefore leaves either the old dataset or the new
one, never half of either. An existing folder is only replaced when it is itself
a studio dataset (or empty): the importer never deletes a user's other files.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.datasets.report import Progress
from studio.core.fileio import atomic_write_json

FORMAT = "studio-dataset/1"
MANIFEST = "manifest.json"      # same names as training_data (which imports torch; importers must not)
TENSORS = "data.safetensors"


class TargetFolderError(ValueError):
    """The dataset folder asked for cannot be written (exists as a file, or holds other files)."""


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The manifest of a dataset folder, or None when it is not one (or is unreadable)."""
    path = Path(folder) / MANIFEST
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def check_target(out_dir: str | Path) -> Path:
    """Refuse a target that exists and is neither empty nor a studio dataset."""
    out = Path(out_dir).expanduser()
    if out.exists():
        if not out.is_dir():
            raise TargetFolderError(f"{out} exists and is a file; choose a folder for the dataset")
        if read_manifest(out) is None and any(out.iterdir()):
            raise TargetFolderError(f"{out} exists and is not a studio dataset; choose an empty or new folder")
    return out


def cached(out_dir: Path, fingerprint: str) -> dict[str, Any] | None:
    """The existing manifest when ``out_dir`` already holds exactly this import."""
    manifest = read_manifest(out_dir)
    if manifest and manifest.get("fingerprint") == fingerprint and (out_dir / TENSORS).is_file():
        return manifest
    return None


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def write_dataset(out_dir: Path, manifest: dict[str, Any], tensors: dict[str, np.ndarray],
                  progress: Progress | None = None) -> Path:
    """Write ``manifest.json`` + ``data.safetensors`` into ``out_dir`` atomically (whole-folder rename)."""
    from safetensors.numpy import save_file

    progress = progress or Progress()
    out_dir = check_target(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.importing-{uuid.uuid4().hex[:8]}"
    old = out_dir.parent / f".{out_dir.name}.replaced-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
        save_file(arrays, str(tmp / TENSORS))
        _fsync_file(tmp / TENSORS)
        atomic_write_json(tmp / MANIFEST, manifest)
        progress.check()  # last chance to cancel: nothing visible has changed yet
        if out_dir.exists():
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out_dir.exists():
            os.replace(old, out_dir)  # put the previous dataset back
        raise
    shutil.rmtree(old, ignore_errors=True)
    return out_dir


def build_manifest(modality: str, spec: dict[str, Any], report_dict: dict[str, Any], sources: list[str],
                   fingerprint: str, settings: dict[str, Any], augment: dict[str, Any],
                   license_note: str, **extra: Any) -> dict[str, Any]:
    from studio import __version__

    manifest = {"format": FORMAT, "modality": modality, "spec": spec, "sources": sources,
                "accepted": report_dict["accepted"], "skipped": report_dict["skipped"],
                "warnings": report_dict["warnings"], "stats": report_dict["stats"],
                "fingerprint": fingerprint, "settings": settings, "augment": augment,
                "license_note": license_note, "studio_version": __version__}
    manifest.update(extra)
    return manifest


DEFAULT_LICENSE_NOTE = ("Imported from your own files. Only train on material you made yourself or have "
                        "the rights and the consent to use.")
