"""``open_run``: one run's model as a :class:`ModelSession` - the plugin, the model, where it came from
and the adapters its plugin's declared capabilities allow (``latent``, ``text``, ``melody``, ``scorer``).

Every front end opens models this way: ``studio generate``, the Latent grid, Melody and Text panels
(through ``studio.ui.model_loader``). An adapter that the plugin does not declare raises
:class:`MissingCapability`, naming the run and the capability.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from studio.core.plugins.api import DataSpec
from studio.core.session.errors import MissingCapability

DEVICES = ("cpu", "cuda", "auto")


@dataclass(frozen=True)
class RunOrigin:
    """Where a session's model came from: goes into every recipe of what it generates."""
    run_id: str
    run_dir: str
    checkpoint_path: str
    checkpoint_step: int | None
    checkpoint_sha256: str | None          # of the checkpoint's tensor file, as recipes record it
    data_spec: DataSpec
    dataset: dict[str, Any] = field(default_factory=dict)   # run.json "dataset" {path, fingerprint}; {} if unknown
    spec_known: bool = True  # False: neither the model nor its checkpoint says its data spec (modality only)

    def recipe_source(self, plugin: Any) -> dict[str, Any]:
        """Plain values for the recipes of later exports (the keys ``export.generate.run_source`` gives)."""
        return {"plugin_id": plugin.id, "plugin_version": plugin.version, "run_id": self.run_id,
                "run_path": self.run_dir, "checkpoint_path": self.checkpoint_path,
                "checkpoint_step": self.checkpoint_step, "checkpoint_sha256": self.checkpoint_sha256}


class ModelSession:
    """A loaded model and its typed adapters. Adapters are built on first use and then kept."""

    def __init__(self, plugin: Any, model: Any, origin: RunOrigin, device: str = "cpu"):
        self.plugin, self.model, self.origin, self.device = plugin, model, origin, device

    # -- what it is ----------------------------------------------------------------
    @property
    def modality(self) -> str:
        return self.plugin.modality

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(self.plugin.capabilities)

    @property
    def label(self) -> str:
        """'Plugin name · run folder' for a panel's title (the full path belongs in a tooltip)."""
        return f"{self.plugin.name} · {Path(self.origin.run_dir).name}"

    def declares(self, capability: str) -> bool:
        return capability in self.capabilities

    def _missing(self, exc: MissingCapability) -> MissingCapability:
        declared = ", ".join(sorted(self.capabilities)) or "none"
        return MissingCapability(f"run {self.origin.run_id} ({self.origin.run_dir}): {exc} "
                                 f"[declared capabilities: {declared}]", exc.capability)

    # -- adapters ------------------------------------------------------------------
    @cached_property
    def latent(self):
        """:class:`~studio.core.session.latent.LatentDecoder` (needs "latent")."""
        from studio.core.session.latent import LatentDecoder
        try:
            return LatentDecoder.for_model(self.model, self.plugin)
        except MissingCapability as exc:
            raise self._missing(exc) from None

    @cached_property
    def text(self):
        """:class:`~studio.core.session.text.TokenStream` (a text model that declares "continue")."""
        from studio.core.session.text import TokenStream
        try:
            return TokenStream.for_model(self.model, self.plugin)
        except MissingCapability as exc:
            raise self._missing(exc) from None

    @cached_property
    def melody(self):
        """:class:`~studio.core.session.melody.MelodySampler` (a melody model)."""
        from studio.core.session.melody import MelodySampler
        try:
            return MelodySampler.for_model(self.model, self.plugin)
        except MissingCapability as exc:
            raise self._missing(exc) from None

    @cached_property
    def scorer(self):
        """:class:`~studio.core.session.scorer.Scorer` (needs "score")."""
        from studio.core.session.scorer import Scorer
        try:
            return Scorer.for_model(self.model, self.plugin)
        except MissingCapability as exc:
            raise self._missing(exc) from None

    def sample(self, n: int, seed: int = 0, **kw: Any) -> Any:
        """``n`` samples for seed ``seed`` (what ``studio generate`` writes), through the adapter of the
        modality: text through ``text`` when "continue" is declared, melodies through ``melody`` (event ids
        checked), images - and text models without "continue" - through the documented ``sample``."""
        if self.modality == "text" and self.declares("continue"):
            return self.text.sample(int(n), seed=int(seed), **kw)
        if self.modality == "melody":
            return self.melody.sample(int(n), int(seed), **kw)
        import torch

        with torch.no_grad():
            return self.model.sample(int(n), int(seed), **kw)

    def draw_vectors(self, n: int, seed: int, temperature: float | None = None):
        """The latent vectors ``sample(n, seed)`` decodes, or None (no "latent", or the model does not say)."""
        if not self.declares("latent"):
            return None
        return self.latent.draw(n, seed, temperature)


def resolve_device(device: str = "cpu") -> str:
    """``cpu``, ``cuda`` or ``auto`` -> a torch device name; ``DeviceUnavailable`` (one line) when absent."""
    if device not in DEVICES and not str(device).startswith("cuda:"):
        raise ValueError(f"device {device!r} is not one of {', '.join(DEVICES)}")
    if device == "cpu":
        return "cpu"
    from studio.core.devices import choose

    acc = choose(device)
    return "cpu" if acc.kind == "cpu" else acc.id


def open_run(run_dir: str | Path, checkpoint: Any = None, *, device: str = "cpu", plugin: Any = None) -> ModelSession:
    """Open a run folder (or one ``.safetensors`` checkpoint of it).

    ``checkpoint``: None/"latest" (newest valid), "best", a step number or a checkpoint file.
    Raises ``CheckpointError`` (no usable checkpoint), ``PluginNotFound`` (its plugin is not
    installed or broken) and ``DeviceUnavailable``, each a ``ValueError``/``LookupError`` in words.
    Reads and hashes the checkpoint: call it off the UI thread.
    """
    from studio.core.export.generate import source_for_run
    from studio.core.training.checkpoints import load_model
    from studio.core.training.run_folder import RunFolderError, read_run

    dev = resolve_device(device)
    model, plugin, info = load_model(run_dir, checkpoint=checkpoint, device=dev, plugin=plugin)
    src = source_for_run(run_dir, info)
    try:
        dataset = dict(read_run(src.run_path).get("dataset") or {})
    except (RunFolderError, OSError, ValueError, TypeError):
        dataset = {}
    spec, known = getattr(model, "spec", None), True
    if not isinstance(spec, DataSpec):
        recorded = (getattr(info, "sidecar", {}) or {}).get("data_spec")
        known = isinstance(recorded, dict) and bool(recorded)
        # a model that keeps no spec, saved without one: its plugin's modality is all that is known
        spec = DataSpec.from_dict({"modality": plugin.modality, **(recorded if known else {})})
    origin = RunOrigin(src.run_id, src.run_path or str(run_dir), src.checkpoint_path or "", src.checkpoint_step,
                       src.checkpoint_sha256, spec, dataset, known)
    return ModelSession(plugin, model, origin, dev)
