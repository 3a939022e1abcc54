"""A dropped file's recipe and what this machine still has of its run: the run folder (where the file
says, else a run of the open project with the same id) and the very checkpoint (by path, name or step;
its sha256 checked). ``Restore.request()`` is the typed ``RestoreRequest`` the panels subscribe to.
Used by the window's drop target (``restore_drop``) and its dialog (``restore_dialog``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.training.run_folder import RunFolderError, read_run
from studio.ui.restore_request import RestoreRequest, RestoreTarget

log = logging.getLogger("studio.ui.restore")
#: files the window takes from a drop (the studio writes its recipe into each of these)
RESTORE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".mp4", ".mid", ".midi", ".wav", ".flac", ".txt")
_MODALITY_BY_EXT = {**dict.fromkeys((".png", ".jpg", ".jpeg", ".webp", ".gif", ".mp4"), "image"),
                    **dict.fromkeys((".mid", ".midi", ".wav", ".flac"), "melody"), ".txt": "text"}
PANEL_TITLES = {"latent": "Latent grid", "melody": "Melody", "text": "Text"}


def dropped_files(mime) -> list[Path]:
    """The local files of a drop that may carry a recipe (folders and other kinds are left to the panels)."""
    if not mime.hasUrls():
        return []
    out = []
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in RESTORE_EXTENSIONS and path.is_file():
                out.append(path)
    return out


def run_json(folder: Path) -> dict[str, Any] | None:
    try:
        return read_run(folder)
    except RunFolderError:  # no run.json, or an unreadable one: not a run to restore from
        return None


@dataclass
class Restore:
    """One file's recipe and what was found of its run on this machine."""

    path: Path
    recipe: dict[str, Any]
    spec: dict[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None
    run_note: str = ""
    checkpoint: Path | None = None
    checkpoint_note: str = ""
    credentials: Any = None     # studio.core.export.verification.Verification, or None (not checked)

    @property
    def modality(self) -> str:
        return self.recipe.get("modality") or _MODALITY_BY_EXT.get(self.path.suffix.lower(), "image")

    @property
    def sample_seed(self) -> int | None:
        """The seed of this very sample: melodies and texts number a batch seed, seed + 1, …"""
        seed = self.spec.get("seed")
        if seed is None or self.modality == "image":
            return seed
        return int(seed) + int(self.spec.get("index") or 0)

    @property
    def target(self) -> RestoreTarget:
        """The panel that takes the restored settings."""
        if self.spec.get("vector") is not None:
            return "latent"
        return {"melody": "melody", "text": "text"}.get(self.modality, "latent")

    def request(self) -> RestoreRequest:
        """What the target panel needs to put the generation back (sent as ``ctx.restore_requested``)."""
        spec, ck = self.spec, self.recipe.get("checkpoint") or {}
        source = {"plugin_id": spec.get("plugin") or "", "plugin_version": spec.get("plugin_version") or "",
                  "run_id": spec.get("run_id") or "",
                  "run_path": str(self.run_dir.resolve()) if self.run_dir else None,
                  "checkpoint_path": str(self.checkpoint.resolve()) if self.checkpoint else None,
                  "checkpoint_step": ck.get("step"), "checkpoint_sha256": ck.get("sha256")}
        vector = spec.get("vector")
        caption = f"{self.path.name} · seed {spec['seed']}" if spec.get("seed") is not None else self.path.name
        return RestoreRequest(target=self.target, file=self.path, seed=self.sample_seed,
                              sampling=dict(spec.get("sampling") or {}), run_dir=self.run_dir,
                              checkpoint=self.checkpoint, source=source,
                              edited=bool(self.recipe.get("edited_by_hand")),
                              vector=tuple(float(v) for v in vector) if vector is not None else None,
                              caption=caption)


def locate(restore: Restore, project=None) -> None:
    """Find the run folder (the recorded path, else a run of the open project with the same id)
    and the recorded checkpoint in it; the notes say in words what was found."""
    spec = restore.spec
    run_id, recorded = spec.get("run_id") or "", spec.get("run_path")
    restore.run_dir, restore.run_note = None, ""
    if recorded and run_json(Path(recorded)) is not None:
        restore.run_dir = Path(recorded)
    elif run_id and project is not None:
        for ref in project.runs:
            folder = project.resolve(ref)
            info = run_json(folder)
            if info is not None and run_id in (str(info.get("id", "")), folder.name):
                restore.run_dir = folder
                restore.run_note = f"found in the project (the file names {recorded})" if recorded else \
                    "found in the project"
                break
    if restore.run_dir is None:
        if recorded:
            restore.run_note = f"The run folder {recorded} is missing (moved or deleted)."
        elif restore.recipe.get("privacy"):
            restore.run_note = "The file was exported privately: it does not say where its run folder is."
        else:
            restore.run_note = "The file does not say which run folder made it."
    else:
        info = run_json(restore.run_dir) or {}
        made_by = (info.get("plugin") or {}).get("id")
        if made_by and spec.get("plugin") and made_by != spec["plugin"]:
            restore.run_note = (f"{restore.run_dir} holds a {made_by} run, but the file was made by "
                                f"{spec['plugin']}.")
            restore.run_dir = None
    _find_checkpoint(restore)


def _find_checkpoint(restore: Restore) -> None:
    from studio.core.export.provenance import sha256_file

    restore.checkpoint, restore.checkpoint_note = None, ""
    ck = restore.recipe.get("checkpoint") or {}
    if restore.run_dir is None or not ck:
        return
    candidates = [Path(ck["path"])] if ck.get("path") else []
    if ck.get("path"):  # the run may have moved: the same file name in its checkpoints folder
        candidates.append(restore.run_dir / "checkpoints" / Path(ck["path"]).name)
    elif ck.get("step") is not None:
        candidates.append(restore.run_dir / "checkpoints" / f"step-{int(ck['step']):08d}.safetensors")
    found = next((p for p in candidates if p.is_file()
                  and restore.run_dir.resolve() in p.resolve().parents), None)
    if found is None:
        restore.checkpoint_note = (f"its checkpoint (step {ck.get('step', '?')}) is gone from the run: the newest "
                                   "one is used, so a regenerated sample may differ")
        return
    if ck.get("sha256") and sha256_file(found) != ck["sha256"]:
        restore.checkpoint_note = "the checkpoint file changed since (its hash differs): the result may differ"
    restore.checkpoint = found
