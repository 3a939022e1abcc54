"""Loading a model for the latent grid off the UI thread: run -> session -> decoder backend -> PCA.

``load_run`` opens the run with ``studio.core.session.open_run`` (through ``studio.ui.model_loader``)
and uses only its ``latent`` adapter, i.e. what the plugin declares; ``load_model`` takes an
``nn.Module`` directly (tests, demos). Only the newest request's result is delivered.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from studio.ui.model_loader import ModelLoader as SessionLoader
from studio.ui.model_loader import open_session

log = logging.getLogger(__name__)
PCA_SAMPLES = 256


@dataclass
class LoadedModel:
    decoder: Any
    model: Any
    plugin_id: str = ""
    run: str = ""
    checkpoint: str = ""
    pca: Any = None                 # studio.core.latent.PCADirections or None
    keep_view: bool = False
    report: dict = field(default_factory=dict)
    pca_note: str = ""
    min_pitch: int = 36
    learned: Any = None             # latents where the model's samples live (the default plane)
    learned_note: str = ""          # where they came from, for the status line
    originality: Any = None         # studio.core.originality.TrainingIndex of the run's training items, or None

    @property
    def latent_dim(self) -> int:
        return self.decoder.latent_dim

    @property
    def modality(self) -> str:
        return self.decoder.modality


def latest_checkpoint_path(run_dir: str) -> str:
    """The newest valid checkpoint of a run ("" when none or the engine is not installed)."""
    try:
        from studio.core.training.checkpoints import latest_checkpoint
    except ImportError:
        files = sorted(Path(run_dir, "checkpoints").glob("step-*.safetensors"))
        return str(files[-1]) if files else ""
    try:
        info = latest_checkpoint(run_dir)
    except (OSError, ValueError):
        return ""
    return str(info.path) if info is not None else ""


def _run_dataset(run_dir: str):
    """The run's training data, or (None, why not)."""
    try:
        from studio.core.datasets import load_dataset
        from studio.core.training.run_folder import read_run
        return load_dataset(read_run(run_dir)["dataset"]["path"]), ""
    except Exception as exc:  # noqa: BLE001 - the grid works without its dataset (moved, deleted)
        return None, str(exc)


def _training_index(data):
    """The originality index of the training items ("closest training image: …"), or None."""
    if data is None or data.spec.modality != "image":  # melodies: the Melody panel checks copies by figures
        return None
    try:
        from studio.core.originality import index_for_dataset
        return index_for_dataset(data)
    except (ValueError, RuntimeError) as exc:  # fewer than 2 items, text data
        log.info("no originality check: %s", exc)
        return None


def _encode_dataset(latent, data, why: str = "") -> tuple[np.ndarray | None, str]:
    """Latent means of up to PCA_SAMPLES training items, when the plugin declares "encode" and the data is there."""
    if not latent.can_encode:
        return None, "this model cannot encode, so the directions are random"
    if data is None:
        return None, f"no PCA directions ({why}); the directions are random"
    try:
        import torch

        batch = data.random_batch("train", min(PCA_SAMPLES, data.size("train")), generator=torch.Generator().manual_seed(0))
        return latent.encode(batch), ""
    except Exception as exc:  # noqa: BLE001 - PCA is a bonus; random directions still work
        return None, f"no PCA directions ({exc}); the directions are random"


class ModelLoader(SessionLoader):
    """The latent grid's loader: ``loaded(LoadedModel)`` / ``failed(str)``, newest request only."""

    thread_name = "latent-load"

    # -- requests ---------------------------------------------------------
    def load_model(self, model, *, plugin_id: str = "", run: str = "", checkpoint: str = "",
                   backend: str = "auto", pca_codes=None, keep_view: bool = False) -> None:
        self.submit(lambda: self._build(model, plugin_id, run, checkpoint, backend, pca_codes, keep_view))

    def load_run(self, run_dir: str, backend: str = "auto", keep_view: bool = False,
                 checkpoint: str | None = None) -> None:
        """The run's newest valid checkpoint, or ``checkpoint`` (a file of the run) when given."""
        self.submit(lambda: self._from_run(str(run_dir), backend, keep_view, checkpoint))

    # -- worker side ------------------------------------------------------
    @staticmethod
    def _build(model, plugin_id, run, checkpoint, backend, pca_codes, keep_view, pca_note="",
               latent=None) -> LoadedModel:
        from studio.core.latent import learned_codes, pca_directions
        from studio.core.latent_decoder import pick_decoder

        report: dict = {}
        decoder = (latent.backend(prefer=backend, report=report) if latent is not None
                   else pick_decoder(model, prefer=backend, report=report))
        pca = None
        if pca_codes is not None:
            try:
                pca = pca_directions(pca_codes, k=8)
            except ValueError as exc:
                pca_note = str(exc)
        spec = getattr(model, "spec", None)
        learned, learned_note = learned_codes(model, decoder.latent_dim, encoded=pca_codes)
        return LoadedModel(decoder, model, plugin_id, run, checkpoint, pca, keep_view, report, pca_note,
                           int(getattr(spec, "min_pitch", 0) or 36), learned, learned_note)

    def _from_run(self, run_dir: str, backend: str, keep_view: bool, checkpoint: str | None = None) -> LoadedModel:
        session = open_session(run_dir, checkpoint, adapter="latent",
                               hint="the latent grid needs a model with a latent space: pick a run of a VAE or GAN")
        data, why = _run_dataset(session.origin.run_dir)
        codes, note = _encode_dataset(session.latent, data, why)
        loaded = self._build(session.model, session.plugin.id, run_dir, session.origin.checkpoint_path, backend, codes,
                             keep_view, note, latent=session.latent)
        loaded.originality = _training_index(data)
        return loaded
