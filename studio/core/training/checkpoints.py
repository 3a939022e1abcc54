"""Checkpoint files: ``checkpoints/step-XXXXXXXX.safetensors`` + ``step-XXXXXXXX.json``.

Safetensors only. Nothing here (or anywhere in the studio) unpickles: a file
that is not safetensors is refused before a byte of it is interpreted. The
tensors are written first, then the sidecar (config, step, metrics, RNG
positions, optimizer layout, size and BLAKE2 digest of the tensor file); a
checkpoint counts only when both are present and agree, so a write killed at
any moment leaves the previous checkpoint as the newest valid one.

Public: :func:`save_checkpoint`, :func:`read_checkpoint`, :func:`list_checkpoints`,
:func:`latest_checkpoint`, :func:`best_checkpoint`, :func:`prune`, :func:`load_model`.
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import stat
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.fileio import DiskFullError, atomic_write_bytes, atomic_write_json, read_json
from studio.core.training.run_folder import read_run

FORMAT = "studio-checkpoint/1"
NAME_RE = re.compile(r"^step-(\d{8,})\.safetensors$")
MAX_HEADER = 100 * 1024 * 1024
log = logging.getLogger("studio.training")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used, with the file and the reason in words."""


@dataclass
class CheckpointInfo:
    path: Path            # the .safetensors file
    step: int
    sidecar: dict[str, Any] = field(default_factory=dict, repr=False)
    valid: bool = True
    problem: str = ""
    is_best: bool = False

    @property
    def sidecar_path(self) -> Path:
        return self.path.with_suffix(".json")

    @property
    def metrics(self) -> dict[str, float]:
        return self.sidecar.get("metrics", {})

    @property
    def created(self) -> float:
        return float(self.sidecar.get("created", 0.0))


def checkpoint_path(ckpt_dir: str | Path, step: int) -> Path:
    return Path(ckpt_dir) / f"step-{int(step):08d}.safetensors"


# -- refusing what is not safetensors ---------------------------------------------------
def sniff(path: str | Path) -> None:
    """Raise ``CheckpointError`` unless ``path`` starts like a safetensors file. Reads 9 bytes."""
    path = Path(path)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block the open, /dev/zero never ends
            raise CheckpointError(f"{path} is not a regular file (a pipe, device or folder); not a checkpoint")
        with open(path, "rb") as fh:
            head = fh.read(9)
        size = path.stat().st_size
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if head[:1] == b"\x80" or head[:2] == b"PK" or path.suffix.lower() in (".pt", ".pth", ".ckpt", ".pkl", ".bin"):
        if not (len(head) == 9 and head[8:9] == b"{"):
            raise CheckpointError(
                f"{path} is not a safetensors checkpoint (it looks like a PyTorch/pickle file, which can run "
                f"arbitrary code when loaded); the studio only loads .safetensors checkpoints it wrote")
    if len(head) < 9:
        raise CheckpointError(f"{path}: truncated ({size} bytes), not a safetensors checkpoint")
    (n,) = struct.unpack("<Q", head[:8])
    if head[8:9] != b"{" or n > MAX_HEADER or 8 + n > size:
        raise CheckpointError(f"{path} is not a valid safetensors file (bad or truncated header)")


# -- writing ---------------------------------------------------------------------
def save_checkpoint(ckpt_dir: str | Path, step: int, tensors: dict[str, Any], sidecar: dict[str, Any]) -> CheckpointInfo:
    """Write tensors then sidecar atomically. ``DiskFullError`` ("no space left on device") keeps older ones."""
    from safetensors.torch import save

    path = checkpoint_path(ckpt_dir, step)
    data = save(tensors, metadata={"format": FORMAT, "step": str(int(step))})
    meta = {**sidecar, "format": FORMAT, "step": int(step), "created": time.time(),
            "file": {"name": path.name, "bytes": len(data), "tensors": len(tensors),
                     "blake2b": hashlib.blake2b(data, digest_size=32).hexdigest()}}
    try:
        atomic_write_bytes(path, data)
        atomic_write_json(path.with_suffix(".json"), meta)
    except OSError as exc:
        # Without its sidecar the tensor file is not a checkpoint; do not leave it half-committed.
        for p in (path, path.with_suffix(".json")):
            if p.exists() and not _sidecar_matches(p.with_suffix(".json"), path):
                p.unlink(missing_ok=True)
        if isinstance(exc, DiskFullError):
            raise DiskFullError(exc.errno, f"no space left on device while writing checkpoint {path}") from exc
        raise
    return CheckpointInfo(path, int(step), meta)


def _sidecar_matches(sidecar_path: Path, path: Path) -> bool:
    try:
        meta = read_json(sidecar_path)
        return meta.get("file", {}).get("bytes") == path.stat().st_size
    except (OSError, ValueError, AttributeError):
        return False


# -- reading ---------------------------------------------------------------------
def _info_for(path: Path) -> CheckpointInfo:
    m = NAME_RE.match(path.name)
    step = int(m.group(1)) if m else -1
    info = CheckpointInfo(path, step, valid=False)
    try:
        sniff(path)
        sidecar = read_json(path.with_suffix(".json"), max_bytes=MAX_SIDECAR_BYTES, what="checkpoint sidecar")
    except CheckpointError as exc:
        info.problem = str(exc)
        return info
    except (OSError, ValueError) as exc:
        info.problem = f"{path.with_suffix('.json')}: missing or unreadable sidecar ({exc})"
        return info
    if not isinstance(sidecar, dict) or sidecar.get("format") != FORMAT:
        info.problem = f"{path.with_suffix('.json')}: not a studio checkpoint sidecar"
        return info
    wrong = _sidecar_type_problem(sidecar)
    if wrong:
        info.problem = f"{path.with_suffix('.json')}: damaged checkpoint sidecar ({wrong})"
        return info
    expected = sidecar.get("file", {}).get("bytes")
    actual = path.stat().st_size
    if expected != actual:
        info.problem = f"{path}: {actual} bytes, expected {expected} (truncated or overwritten)"
        return info
    info.sidecar, info.valid, info.step = sidecar, True, int(sidecar.get("step", step))
    return info


MAX_SIDECAR_BYTES = 16 * 1024 * 1024


def _sidecar_type_problem(sidecar: dict[str, Any]) -> str | None:
    """What in a sidecar has the wrong type (a hand-edited or hostile file), in words; None when fine."""
    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    if "file" in sidecar and not isinstance(sidecar["file"], dict):
        return "'file' should be an object"
    if "step" in sidecar and not (is_int(sidecar["step"]) and 0 <= sidecar["step"] < 2**53):
        return f"'step' should be a whole number, not {str(sidecar['step'])[:40]!r}"
    if "metrics" in sidecar and not isinstance(sidecar["metrics"], dict):
        return "'metrics' should be an object"
    if "created" in sidecar and not (isinstance(sidecar["created"], (int, float))
                                     and not isinstance(sidecar["created"], bool)
                                     and math.isfinite(sidecar["created"])):
        return "'created' should be a time"
    return None


def list_checkpoints(run_dir: str | Path, include_invalid: bool = False) -> list[CheckpointInfo]:
    """Checkpoints of a run (or of a ``checkpoints/`` folder), oldest first; ``is_best`` set from run.json."""
    run_dir = Path(run_dir)
    ckpt_dir = run_dir if run_dir.name == "checkpoints" else run_dir / "checkpoints"
    if not ckpt_dir.is_dir():
        return []
    infos = [_info_for(p) for p in ckpt_dir.iterdir() if NAME_RE.match(p.name)]
    best_step = _best_step(ckpt_dir.parent)
    for info in infos:
        info.is_best = info.valid and best_step is not None and info.step == best_step
    infos.sort(key=lambda i: i.step)
    return infos if include_invalid else [i for i in infos if i.valid]


def _best_step(run_dir: Path) -> int | None:
    try:
        best = read_run(run_dir).get("best") or {}
        return int(best["step"]) if "step" in best else None
    except (ValueError, AttributeError, TypeError):  # no run.json (a bare checkpoints folder), or a bad one
        return None


def latest_checkpoint(run_dir: str | Path) -> CheckpointInfo | None:
    """The newest checkpoint that passes the quick checks (header, sidecar, size); newer broken ones are logged."""
    infos = list_checkpoints(run_dir, include_invalid=True)
    for info in reversed(infos):
        if info.valid:
            return info
        log.warning("skipping checkpoint %s: %s", info.path.name, info.problem)
    return None


def best_checkpoint(run_dir: str | Path) -> CheckpointInfo | None:
    for info in list_checkpoints(run_dir):
        if info.is_best:
            return info
    return None


def read_checkpoint(path: str | Path, verify: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensors on CPU, sidecar) of one checkpoint; refuses anything that is not a complete studio checkpoint."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    if path.suffix == ".json":
        path = path.with_suffix(".safetensors")
    info = _info_for(path)
    if not info.valid:
        raise CheckpointError(info.problem)
    data = path.read_bytes()
    digest = info.sidecar.get("file", {}).get("blake2b")
    if verify and digest and hashlib.blake2b(data, digest_size=32).hexdigest() != digest:
        raise CheckpointError(f"{path}: contents do not match the digest in its sidecar (corrupted)")
    try:
        tensors = load(data)
    except (SafetensorError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot read tensors ({exc})") from exc
    return tensors, info.sidecar


def prune(run_dir: str | Path, keep_last: int, best_step: int | None = None) -> list[Path]:
    """Delete valid checkpoints older than the newest ``keep_last`` (never the best) and stray temp files."""
    run_dir = Path(run_dir)
    ckpt_dir = run_dir / "checkpoints"
    removed: list[Path] = []
    valid = list_checkpoints(run_dir)
    for info in valid[: max(len(valid) - max(keep_last, 1), 0)]:
        if best_step is not None and info.step == best_step:
            continue
        for p in (info.sidecar_path, info.path):  # sidecar first: a half-deleted pair is simply invalid
            p.unlink(missing_ok=True)
            removed.append(p)
    if ckpt_dir.is_dir():
        for p in ckpt_dir.glob(".step-*.tmp"):
            if time.time() - p.stat().st_mtime > 60:  # a writer that died mid-write
                p.unlink(missing_ok=True)
    return removed


# -- loading a model for generation -------------------------------------------------------
def default_choice(run_dir: str | Path) -> str:
    """Which checkpoint opening a run without naming one gives: "best" when training ended by early
    stopping (the newest weights are the ones validation stopped trusting, several validations past the
    best; Keras' restore_best_weights does the same), else "latest"."""
    try:
        run = read_run(run_dir)
    except (OSError, ValueError, AttributeError, TypeError):  # RunFolderError is a ValueError
        return "latest"
    reason = run.get("reason")
    if isinstance(reason, str) and reason.startswith("early stopping") and best_checkpoint(run_dir) is not None:
        return "best"
    return "latest"


def _resolve(run_dir: Path, checkpoint: Any) -> list[Path]:
    """Candidate files, newest first (``None``/"latest" falls back to older valid ones; ``None`` on a run
    that stopped early starts with its best checkpoint: :func:`default_choice`)."""
    if run_dir.is_file():
        return [run_dir]
    if checkpoint is None and default_choice(run_dir) == "best":
        best = best_checkpoint(run_dir).path
        return [best] + [p for p in _resolve(run_dir, "latest") if p != best]
    if checkpoint is None or checkpoint == "latest":
        infos = list_checkpoints(run_dir, include_invalid=True)
        if not infos:
            raise CheckpointError(f"{run_dir} has no checkpoints yet")
        return [i.path for i in reversed(infos)]
    if checkpoint == "best":
        best = best_checkpoint(run_dir)
        if best is None:
            raise CheckpointError(f"{run_dir} has no best checkpoint (no validation metric recorded)")
        return [best.path]
    if isinstance(checkpoint, int) or (isinstance(checkpoint, str) and checkpoint.isdigit()):
        return [checkpoint_path(run_dir / "checkpoints", int(checkpoint))]
    return [Path(checkpoint)]


def load_model(run_dir: str | Path, checkpoint: Any = None, device: str = "cpu", plugin=None):
    """``(model, plugin, info)`` from a run folder, model in eval mode on ``device``.

    ``checkpoint``: ``None``/"latest" (newest valid; a corrupt newest one is skipped with a
    warning), "best", a step number, or a ``.safetensors`` path. ``run_dir`` may also be
    a checkpoint file. ``plugin`` overrides discovery by the id recorded in the sidecar.
    ``info`` is the :class:`CheckpointInfo` (``info.sidecar`` holds config, metrics, step).
    """
    import torch

    from studio.core.plugins.api import DataSpec, config_from_dict
    from studio.core.training.state import MODEL, strip_prefix

    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise CheckpointError(f"{run_dir} does not exist")
    errors: list[str] = []
    for path in _resolve(run_dir, checkpoint):
        try:
            tensors, sidecar = read_checkpoint(path)
        except CheckpointError as exc:
            errors.append(str(exc))
            log.warning("skipping checkpoint: %s", exc)
            continue
        break
    else:
        raise CheckpointError("; ".join(errors[:3]) or f"{run_dir}: no usable checkpoint")
    if plugin is None:
        from studio.core.plugins.registry import get_plugin
        plugin = get_plugin(sidecar.get("plugin", {}).get("id", ""))
    config = config_from_dict(plugin.Config, plugin.recorded_config(sidecar.get("config")), strict=False)
    spec = DataSpec.from_dict(sidecar.get("data_spec", {}))
    model = plugin.build(config, spec)
    try:
        model.load_state_dict(strip_prefix(tensors, MODEL), strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: does not fit plugin {plugin.id} {plugin.version} ({str(exc)[:300]})") from exc
    model.to(torch.device(device)).eval()
    info = CheckpointInfo(Path(path), int(sidecar.get("step", 0)), sidecar)
    info.is_best = _best_step(info.path.parent.parent) == info.step
    return model, plugin, info


def describe(info: CheckpointInfo) -> dict[str, Any]:
    """JSON-friendly summary for CLIs and panels."""
    return {"path": str(info.path), "step": info.step, "valid": info.valid, "problem": info.problem,
            "is_best": info.is_best, "metrics": info.metrics, "created": info.created}


__all__ = ["CheckpointError", "CheckpointInfo", "best_checkpoint", "checkpoint_path", "describe",
           "latest_checkpoint", "list_checkpoints", "load_model", "prune", "read_checkpoint", "save_checkpoint",
           "sniff"]
