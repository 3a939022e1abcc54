"""Loading a model for the latent grid off the UI thread: checkpoint -> decoder backend -> PCA.

``load_run`` goes through ``studio.core.training.checkpoints.load_model``; ``load_model`` takes an
``nn.Module`` directly (tests, demos). Only the newest request's result is delivered.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

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


def _encode_dataset(model, run_dir: str) -> tuple[np.ndarray | None, str]:
    """Latent means of up to PCA_SAMPLES training items, when the model can encode and the data is there."""
    if not callable(getattr(model, "encode", None)):
        return None, "this model cannot encode, so the directions are random"
    try:
        import torch

        from studio.core.datasets import load_dataset
        from studio.core.training.run_folder import read_run
        run = read_run(run_dir)
        data = load_dataset(run["dataset"]["path"])
        batch = data.random_batch("train", min(PCA_SAMPLES, data.size("train")), generator=torch.Generator().manual_seed(0))
        with torch.inference_mode():
            codes = model.encode(batch.to(model.device if hasattr(model, "device") else "cpu"))
        if isinstance(codes, (tuple, list)):
            codes = codes[0]
        return codes.detach().cpu().numpy().reshape(len(batch), -1), ""
    except Exception as exc:  # noqa: BLE001 - PCA is a bonus; random directions still work
        return None, f"no PCA directions ({exc}); the directions are random"


class ModelLoader(QObject):
    loaded = Signal(object)     # LoadedModel
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._token = 0
        self._lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def _start(self, fn, *args) -> None:
        with self._lock:
            self._token += 1
            token = self._token
        t = threading.Thread(target=self._run, args=(token, fn, args), name="latent-load", daemon=True)
        self.threads = [x for x in self.threads if x.is_alive()] + [t]
        t.start()

    def _run(self, token, fn, args) -> None:
        try:
            result = fn(*args)
        except Exception as exc:  # noqa: BLE001 - reported in the panel, never raised into Qt
            log.warning("latent grid: could not load the model: %s", exc)
            if token == self._token:
                self.failed.emit(str(exc))
            return
        if token == self._token:
            self.loaded.emit(result)

    def busy(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def wait(self, timeout: float = 30.0) -> bool:
        """Join loads in flight (on close): a thread still inside torch at exit aborts the process."""
        with self._lock:
            self._token += 1  # whatever finishes now is not delivered to a closing panel
        end = time.monotonic() + timeout
        for t in list(self.threads):
            t.join(max(0.0, end - time.monotonic()))
        return not self.busy()

    # -- requests ---------------------------------------------------------
    def load_model(self, model, *, plugin_id: str = "", run: str = "", checkpoint: str = "",
                   backend: str = "auto", pca_codes=None, keep_view: bool = False) -> None:
        self._start(self._build, model, plugin_id, run, checkpoint, backend, pca_codes, keep_view)

    def load_run(self, run_dir: str, backend: str = "auto", keep_view: bool = False,
                 checkpoint: str | None = None) -> None:
        """The run's newest valid checkpoint, or ``checkpoint`` (a file of the run) when given."""
        self._start(self._from_run, str(run_dir), backend, keep_view, checkpoint)

    # -- worker side ------------------------------------------------------
    @staticmethod
    def _build(model, plugin_id, run, checkpoint, backend, pca_codes, keep_view, pca_note="") -> LoadedModel:
        from studio.core.latent import learned_codes, pca_directions
        from studio.core.latent_decoder import pick_decoder

        report: dict = {}
        decoder = pick_decoder(model, prefer=backend, report=report)
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
        try:
            from studio.core.training.checkpoints import load_model
        except ImportError as exc:
            raise RuntimeError(f"the training engine is not installed, so {run_dir} cannot be opened ({exc})") from exc
        model, plugin, info = load_model(run_dir, checkpoint)
        if "latent" not in getattr(plugin, "capabilities", ()) and not getattr(model, "latent_dim", 0):
            raise RuntimeError(f"{plugin.name} ({plugin.id}) has no latent space to explore; "
                               "pick a run of a VAE or GAN")
        codes, note = _encode_dataset(model, run_dir)
        return self._build(model, plugin.id, run_dir, str(info.path), backend, codes, keep_view, note)
