"""Scenario 8: hostile files, each refused in words, in bounded time and memory, running nothing.

:data:`CASES` lists (id, what it attacks, builder); a builder gets a fresh folder and returns a callable
that offers the file to the studio and returns the refusal message (or raises ``Accepted`` when the
studio took the file). ``run_case`` measures the refusal with :class:`Measure`.
"""
from __future__ import annotations

import hashlib
import io
import json
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Callable

from tests.faults.fault_helpers import Measure, Measured

TIME_LIMIT_S = 5.0
RSS_LIMIT = 256 * 2**20     # bytes the process may grow while refusing one file
PY_LIMIT = 128 * 2**20      # Python-level allocation peak


class Accepted(AssertionError):
    """The studio took a file it should have refused."""


class CreatesFile:
    """A pickle payload: unpickling it would create ``path`` (proof that code ran)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _marker_untouched(marker: Path, msg: str) -> str:
    if marker.exists():
        raise Accepted(f"the pickle payload RAN (created {marker})")
    return msg


# -- checkpoints ---------------------------------------------------------------------------------
def _refuse_checkpoint(path: Path, marker: Path | None = None) -> str:
    from studio.core.training.checkpoints import CheckpointError, load_model

    try:
        load_model(path)
    except CheckpointError as exc:
        return _marker_untouched(marker, str(exc)) if marker else str(exc)
    raise Accepted(f"{path} was loaded as a checkpoint")


def pickle_named(suffix: str):
    def build(tmp: Path):
        marker, evil = tmp / "pwned", tmp / f"model{suffix}"
        evil.write_bytes(pickle.dumps(CreatesFile(marker)))
        return lambda: _refuse_checkpoint(evil, marker)
    return build


def torch_save_zip(tmp: Path):
    """``torch.save`` output (a zip holding a pickle), the usual .pt/.ckpt format."""
    import torch

    marker, evil = tmp / "pwned", tmp / "model.ckpt"
    torch.save({"state_dict": CreatesFile(marker)}, evil)
    return lambda: _refuse_checkpoint(evil, marker)


def _run_with_checkpoint(tmp: Path) -> Path:
    from studio.core.training.checkpoints import save_checkpoint

    run = tmp / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"id": "r", "status": "done", "plugin": {"id": "x"}}))
    import torch
    save_checkpoint(run / "checkpoints", 5, {"w": torch.zeros(4)}, {"plugin": {"id": "x"}})
    return run


def _disguise(run: Path, step: int, payload: bytes, digest_ok: bool = True) -> Path:
    """A checkpoint file with ``payload`` and a sidecar copied from the real one, sizes and digest made to match."""
    good = run / "checkpoints" / "step-00000005.json"
    fake = run / "checkpoints" / f"step-{step:08d}.safetensors"
    fake.write_bytes(payload)
    meta = json.loads(good.read_text())
    meta.update(step=step)
    meta["file"] = {**meta["file"], "bytes": len(payload),
                    "blake2b": hashlib.blake2b(payload, digest_size=32).hexdigest() if digest_ok else "0" * 64}
    fake.with_suffix(".json").write_text(json.dumps(meta))
    return fake


def _newest_is_skipped(run: Path, fake: Path, marker: Path | None = None) -> str:
    from studio.core.training.checkpoints import CheckpointError, list_checkpoints, read_checkpoint

    try:
        read_checkpoint(fake)
    except CheckpointError as exc:
        msg = str(exc)
    else:
        raise Accepted(f"{fake} was read as a checkpoint")
    valid = [c.step for c in list_checkpoints(run) if c.path != fake]
    if valid != [5]:
        raise Accepted(f"the genuine checkpoint is no longer listed: {valid}")
    return _marker_untouched(marker, msg) if marker else msg


def pickle_as_newest_checkpoint(tmp: Path):
    run = _run_with_checkpoint(tmp)
    marker = tmp / "pwned"
    fake = _disguise(run, 9, pickle.dumps(CreatesFile(marker)))
    return lambda: _newest_is_skipped(run, fake, marker)


def _safetensors(header: bytes, body: bytes = b"") -> bytes:
    return struct.pack("<Q", len(header)) + header + body


def st_huge_header_length(tmp: Path):
    run = _run_with_checkpoint(tmp)
    fake = _disguise(run, 9, struct.pack("<Q", 2**62) + b"{" + b"\0" * 64)
    return lambda: _newest_is_skipped(run, fake)


def st_garbage_header(tmp: Path):
    run = _run_with_checkpoint(tmp)
    fake = _disguise(run, 9, _safetensors(b'{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16' + b" " * 8,
                                          b"\0" * 16))
    return lambda: _newest_is_skipped(run, fake)


def st_absurd_shape(tmp: Path):
    """A header claiming 10^12 float32 elements (4 TB) over 16 bytes of data."""
    run = _run_with_checkpoint(tmp)
    header = json.dumps({"w": {"dtype": "F32", "shape": [1_000_000, 1_000_000],
                               "data_offsets": [0, 4 * 10**12]}}).encode()
    fake = _disguise(run, 9, _safetensors(header, b"\0" * 16))
    return lambda: _newest_is_skipped(run, fake)


def st_overlapping_offsets(tmp: Path):
    run = _run_with_checkpoint(tmp)
    header = json.dumps({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                         "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}).encode()
    fake = _disguise(run, 9, _safetensors(header, b"\0" * 24))
    return lambda: _newest_is_skipped(run, fake)


def dataset_absurd_shape(tmp: Path):
    """A dataset folder whose data.safetensors claims 10^12 pixels."""
    from studio.core.datasets import DatasetError, load_dataset
    from tests.fixtures.toy_plugins import data as toy_data

    folder = toy_data.write_image_dataset(tmp / "ds")
    header = json.dumps({"images": {"dtype": "U8", "shape": [10**6, 1, 1000, 1000], "data_offsets": [0, 10**12]},
                         "labels": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}).encode()
    (folder / "data.safetensors").write_bytes(_safetensors(header, b"\0" * 64))

    def offer():
        try:
            load_dataset(folder)
        except DatasetError as exc:
            return str(exc)
        raise Accepted("a dataset claiming 10^12 pixels loaded")
    return offer


# -- importers -----------------------------------------------------------------------------------------
def _import(modality: str, sources: list, out: Path, words: str) -> Callable[[], str]:
    from studio.core.datasets import import_dataset

    def offer():
        before = set(out.parent.rglob("*"))
        try:
            res = import_dataset(modality, sources, out, executor="inline") if modality == "image" else \
                import_dataset(modality, sources, out)
        except (ValueError, OSError) as exc:  # DatasetError: nothing usable at all
            msg = str(exc)
            skipped = []
        else:
            if res.accepted and words != "unsafe path":
                raise Accepted(f"accepted {res.accepted}")
            skipped = res.skipped
            msg = "; ".join(f"{s['path']}: {s['reason']}" for s in skipped)
        escaped = [p for p in set(out.parent.rglob("*")) - before if not str(p).startswith(str(out))]
        if escaped:
            raise Accepted(f"files created outside the dataset folder: {escaped}")
        return msg
    return offer


def zip_traversal(tmp: Path):
    from tests.core.datasets.corpus import write_evil_zip

    z = tmp / "in" / "pics.zip"
    z.parent.mkdir()
    write_evil_zip(z)
    return _import("image", [z], tmp / "ds", "unsafe path")


def zip_bomb(tmp: Path):
    """A 64 MB member of zeros packed into ~64 kB (ratio ~1000)."""
    z = tmp / "bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("bomb.png", "w", force_zip64=True) as fh:
            block = b"\0" * (1 << 20)
            for _ in range(64):
                fh.write(block)
    return _import("image", [z], tmp / "ds", "zip bomb")


def png_bomb(tmp: Path):
    from tests.core.datasets.corpus import bomb_png

    (tmp / "src").mkdir()
    (tmp / "src" / "bomb.png").write_bytes(bomb_png(60000, 60000))
    return _import("image", [tmp / "src"], tmp / "ds", "megapixel")


def midi_far_ticks(tmp: Path):
    """Two notes 10^8 ticks apart (about 12 days at 120 bpm)."""
    from tests.core.datasets.corpus import midi_raw

    events = [(0, bytes([0x90, 60, 90])), (96, bytes([0x80, 60, 0])),
              (10**8, bytes([0x90, 62, 90])), (96, bytes([0x80, 62, 0]))]
    (tmp / "src").mkdir()
    (tmp / "src" / "long.mid").write_bytes(midi_raw(events, tpb=96))
    return _import("melody", [tmp / "src"], tmp / "ds", "")


def sparse_text(tmp: Path):
    (tmp / "src").mkdir()
    with open(tmp / "src" / "huge.txt", "wb") as fh:
        fh.truncate(2 * 2**30)  # 2 GB that takes no disk space
    return _import("text", [tmp / "src"], tmp / "ds", "limit")


# -- deeply nested JSON -------------------------------------------------------------------------------
def _deep(n: int = 1_000_000) -> bytes:
    return b"[" * n + b"]" * n


def project_nested(tmp: Path):
    from studio.core.project import Project
    from studio.core.project_schema import ProjectError

    (tmp / "p").mkdir()
    (tmp / "p" / "project.json").write_bytes(b'{"name": "x", "ui": ' + _deep() + b"}")

    def offer():
        try:
            Project.open(tmp / "p")
        except ProjectError as exc:
            return str(exc)
        raise Accepted("a project nested a million deep opened")
    return offer


def run_json_nested(tmp: Path):
    from studio.core.training.run_folder import RunFolderError, read_run

    (tmp / "r").mkdir()
    (tmp / "r" / "run.json").write_bytes(_deep())

    def offer():
        try:
            read_run(tmp / "r")
        except RunFolderError as exc:
            return str(exc)
        raise Accepted("a run.json nested a million deep was read")
    return offer


def sidecar_nested(tmp: Path):
    run = _run_with_checkpoint(tmp)
    fake = _disguise(run, 9, (run / "checkpoints" / "step-00000005.safetensors").read_bytes())
    fake.with_suffix(".json").write_bytes(_deep())
    return lambda: _newest_is_skipped(run, fake)


def manifest_nested(tmp: Path):
    from studio.core.datasets import DatasetError, load_dataset
    from tests.fixtures.toy_plugins import data as toy_data

    folder = toy_data.write_image_dataset(tmp / "ds")
    (folder / "manifest.json").write_bytes(b'{"spec": ' + _deep() + b"}")

    def offer():
        try:
            load_dataset(folder)
        except DatasetError as exc:
            return str(exc)
        raise Accepted("a manifest nested a million deep loaded")
    return offer


# (id, attack, builder, words the refusal must contain, lower case)
CASES: list[tuple[str, str, Callable, str]] = [
    ("pickle-as-pt", "pickle posing as checkpoint", pickle_named(".pt"), "not a safetensors"),
    ("pickle-as-safetensors", "pickle posing as checkpoint", pickle_named(".safetensors"), "safetensors"),
    ("torch-save-zip", "pickle posing as checkpoint", torch_save_zip, "not a safetensors"),
    ("pickle-as-newest-checkpoint", "pickle posing as checkpoint", pickle_as_newest_checkpoint, "safetensors"),
    ("safetensors-header-2^62", "malformed safetensors", st_huge_header_length, "header"),
    ("safetensors-garbage-header", "malformed safetensors", st_garbage_header, "cannot read tensors"),
    ("safetensors-10^12-elements", "absurd safetensors shapes", st_absurd_shape, "cannot read tensors"),
    ("safetensors-overlapping", "malformed safetensors", st_overlapping_offsets, "cannot read tensors"),
    ("dataset-10^12-pixels", "absurd safetensors shapes", dataset_absurd_shape, "cannot read the cached tensors"),
    ("zip-path-traversal", "zip path traversal", zip_traversal, "unsafe path"),
    ("zip-bomb", "decompression bomb", zip_bomb, "zip bomb"),
    ("png-3.6-gigapixel", "decompression bomb", png_bomb, "megapixel limit"),
    ("midi-10^8-ticks", "MIDI with 10^8 ticks", midi_far_ticks, "no phrase"),
    ("text-2GB-sparse", "2 GB sparse text", sparse_text, "limit"),
    ("project-nested-10^6", "deeply nested JSON", project_nested, "nested"),
    ("run-json-nested-10^6", "deeply nested JSON", run_json_nested, "nested"),
    ("sidecar-nested-10^6", "deeply nested JSON", sidecar_nested, "nested"),
    ("manifest-nested-10^6", "deeply nested JSON", manifest_nested, "nested"),
]


def run_case(builder: Callable, tmp: Path, words: str) -> tuple[str, Measured, list[str]]:
    """(refusal message, measurements, problems)."""
    tmp.mkdir(parents=True, exist_ok=True)
    offer = builder(tmp)
    problems: list[str] = []
    with Measure() as m:
        try:
            msg = offer()
        except Accepted as exc:
            msg = ""
            problems.append(str(exc))
    r = m.result
    if not problems and (not msg or words not in msg.lower()):
        problems.append(f"refusal does not say {words!r}: {msg!r}")
    if r.wall_s > TIME_LIMIT_S:
        problems.append(f"took {r.wall_s:.1f} s")
    if r.rss_growth > RSS_LIMIT or r.py_peak > PY_LIMIT:
        problems.append(f"memory: {r.describe()}")
    return msg, r, problems
