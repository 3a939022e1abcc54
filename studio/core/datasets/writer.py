"""Writing a dataset folder all at once: a temp folder beside the target, renamed at the end.

A cancelled or crashed import therefore leaves either the old dataset or the new
one, never half of either. An existing folder is only replaced when it is itself
a studio dataset (or empty): the importer never deletes a user's other files.
"""
from __future__ import annotations

import errno
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.datasets.report import Progress
from studio.core.fileio import DiskFullError, atomic_write_json

FORMAT = "studio-dataset/1"
MANIFEST = "manifest.json"      # same names as training_data (which imports torch; importers must not)
TENSORS = "data.safetensors"
MAX_MANIFEST_BYTES = 64 << 20
_OWN_FILES = {MANIFEST, TENSORS}


class TargetFolderError(ValueError):
    """The dataset folder asked for cannot be written (exists as a file, or holds other files)."""


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The manifest of a dataset folder, or None when it is not one (or is unreadable, or not a plain file)."""
    from studio.core.fileio import read_json

    try:
        data = read_json(Path(folder) / MANIFEST, max_bytes=MAX_MANIFEST_BYTES, what="dataset manifest")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def _is_half_replaced(folder: Path) -> bool:
    """A dataset folder whose manifest was set aside by an in-place re-import that did not finish."""
    return (folder / TENSORS).is_file() and any(folder.glob(f".{MANIFEST}.replaced-*"))


def check_target(out_dir: str | Path) -> Path:
    """Refuse a target that exists and is neither empty nor a studio dataset."""
    out = Path(out_dir).expanduser()
    if out.exists():
        if not out.is_dir():
            raise TargetFolderError(f"{out} exists and is a file; choose a folder for the dataset")
        if read_manifest(out) is None and not _is_half_replaced(out) and any(out.iterdir()):
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


def _save_tensors(arrays: dict[str, np.ndarray], path: Path, dataset: Path) -> None:
    """``safetensors`` save whose full-disk failure reads as one (it raised a bare SafetensorError)."""
    from safetensors.numpy import save_file

    try:
        save_file(arrays, str(path))
    except Exception as exc:  # noqa: BLE001 - SafetensorError wraps the OS error in its text
        if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left" in str(exc) \
                or "os error 28" in str(exc):
            raise DiskFullError(errno.ENOSPC, f"no space left on device while writing the dataset {dataset}; "
                                "it was not changed") from None
        raise


def _user_files(out_dir: Path) -> list[str]:
    """What a dataset folder holds besides the studio's own files (notes, originals, …)."""
    try:
        return sorted(p.name for p in out_dir.iterdir()
                      if p.name not in _OWN_FILES and not p.name.startswith(f".{MANIFEST}.")
                      and not p.name.startswith(f".{TENSORS}."))
    except OSError:
        return []


def write_dataset(out_dir: Path, manifest: dict[str, Any], tensors: dict[str, np.ndarray],
                  progress: Progress | None = None) -> Path:
    """Write ``manifest.json`` + ``data.safetensors`` into ``out_dir`` atomically.

    A new folder (or one holding only the studio's two files) is written beside and renamed into
    place. A dataset folder that also holds the user's own files (notes, originals) keeps them:
    the two files are replaced inside it instead, never the folder.
    """
    progress = progress or Progress()
    out_dir = check_target(out_dir)
    if out_dir.is_dir() and _user_files(out_dir):
        return _replace_in_place(out_dir, manifest, tensors, progress)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.importing-{uuid.uuid4().hex[:8]}"
    old = out_dir.parent / f".{out_dir.name}.replaced-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
        _save_tensors(arrays, tmp / TENSORS, out_dir)
        _fsync_file(tmp / TENSORS)
        atomic_write_json(tmp / MANIFEST, manifest)
        progress.check()  # last chance to cancel: nothing visible has changed yet
        if out_dir.exists():
            if _user_files(out_dir):  # the user put a file there meanwhile: keep it, swap in place
                shutil.rmtree(tmp, ignore_errors=True)
                return _replace_in_place(out_dir, manifest, tensors, progress)
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out_dir.exists():
            os.replace(old, out_dir)  # put the previous dataset back
        raise
    shutil.rmtree(old, ignore_errors=True)
    return out_dir


def _replace_in_place(out_dir: Path, manifest: dict[str, Any], tensors: dict[str, np.ndarray],
                      progress: Progress) -> Path:
    """Re-import into a dataset folder that holds the user's files: replace only the studio's two files.

    Both are written as hidden temp files first; then the old manifest is set aside (the folder reads
    as "being replaced", never as the old manifest over new tensors), the tensors and the manifest
    are renamed into place, and the old manifest is removed. Nothing else in the folder is touched.
    """
    tag = uuid.uuid4().hex[:8]
    tmp_tensors = out_dir / f".{TENSORS}.importing-{tag}"
    tmp_manifest = out_dir / f".{MANIFEST}.importing-{tag}"
    aside = out_dir / f".{MANIFEST}.replaced-{tag}"
    tensors_swapped = False
    try:
        arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
        _save_tensors(arrays, tmp_tensors, out_dir)
        _fsync_file(tmp_tensors)
        atomic_write_json(tmp_manifest, manifest)
        progress.check()
        if (out_dir / MANIFEST).exists():
            os.replace(out_dir / MANIFEST, aside)
        os.replace(tmp_tensors, out_dir / TENSORS)
        tensors_swapped = True
        os.replace(tmp_manifest, out_dir / MANIFEST)
    except BaseException:
        for tmp in (tmp_tensors, tmp_manifest):
            tmp.unlink(missing_ok=True)
        if not tensors_swapped and aside.exists() and not (out_dir / MANIFEST).exists():
            os.replace(aside, out_dir / MANIFEST)  # the old tensors are still in place too
        raise
    for stale in out_dir.glob(f".{MANIFEST}.replaced-*"):
        stale.unlink(missing_ok=True)
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
