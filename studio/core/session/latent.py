"""``LatentDecoder``: the latent space of any model whose plugin declares the "latent" capability.

A latent plugin implements only the documented API (``docs/plugin-guide.md``):

* ``latent`` - ``model.latent_dim`` and ``model.decode(z)`` (float (n, latent_dim) -> images float
  (n,C,H,W) in [0,1], or melodies long (n,L) event ids); optionally ``model.latents(n, seed)``
  (``temperature=`` too when its ``sample`` takes one): the vectors ``sample`` decodes, which the
  recipes of exported files record so a file restores exactly its picture;
* ``encode`` (optional) - ``model.encode(x)`` returns latent means (the grid's principal directions);
* ``onnx`` (optional) - among ``model.onnx_exports()``, a module with one input of ``latent_dim``
  values per item (``z``, or a diffusion model's noise image) is the decoder onnxruntime runs.

Decoding goes through ``studio.core.latent_decoder``: torch, or onnxruntime when it agrees with torch
and is faster (``backend``).
"""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from studio.core.plugins.api import LatentDrawing, LatentModel
from studio.core.session.errors import MissingCapability


class LatentDecoder:
    """Decode, draw and (when declared) encode latent vectors of one model, as numpy arrays."""

    def __init__(self, model: Any, *, capabilities: frozenset[str] | set[str], modality: str,
                 name: str = "model"):
        caps = frozenset(capabilities)
        if "latent" not in caps:
            raise MissingCapability(f"the {name} does not declare the \"latent\" capability, so it has no "
                                    "latent space to explore or decode", "latent")
        if not isinstance(model, LatentModel) or not int(getattr(model, "latent_dim", 0) or 0):
            raise MissingCapability(f"the {name} declares \"latent\" but its model lacks latent_dim or decode(z)",
                                    "latent")
        if modality not in ("image", "melody"):
            raise MissingCapability(f"the {name} is a {modality} model: only image and melody models decode "
                                    "latent vectors", "latent")
        self.model, self.name, self.modality = model, name, modality
        self.capabilities = caps
        self.latent_dim = int(model.latent_dim)
        self.can_encode = "encode" in caps and callable(getattr(model, "encode", None))
        self.can_draw = isinstance(model, LatentDrawing)
        self._torch = None

    @classmethod
    def for_model(cls, model: Any, plugin: Any) -> "LatentDecoder":
        return cls(model, capabilities=plugin.capabilities, modality=plugin.modality, name=plugin.name)

    # -- decoding ------------------------------------------------------------------
    def torch_decoder(self):
        """The torch backend (``studio.core.latent_decoder.TorchDecoder``), built once."""
        if self._torch is None:
            from studio.core.latent_decoder import TorchDecoder

            self._torch = TorchDecoder(self.model)
        return self._torch

    def decode(self, z: Any) -> np.ndarray:
        """Images float32 (n,C,H,W) in [0,1] or melodies int64 (n,L) from z (n, latent_dim)."""
        return self.torch_decoder().decode(z)

    def onnx_export(self):
        """The plugin's own decoder among its ``onnx_exports()`` (one float input of ``latent_dim`` values per
        item, one output), or None (then ``decode`` itself is exported for onnxruntime)."""
        if "onnx" not in self.capabilities or not callable(getattr(self.model, "onnx_exports", None)):
            return None
        for export in self.model.onnx_exports():
            inputs = list(getattr(export, "example_inputs", ()) or ())
            if len(inputs) == 1 and len(getattr(export, "output_names", ()) or ()) == 1 \
                    and getattr(inputs[0], "dtype", None) is not None \
                    and inputs[0].dtype.is_floating_point \
                    and int(np.prod(tuple(inputs[0].shape[1:]))) == self.latent_dim:
                return export
        return None

    def backend(self, prefer: str = "auto", report: dict | None = None, batch: int = 64, repeats: int = 3):
        """The fastest decoder that agrees with torch (``prefer``: auto, torch or onnxruntime); ``report``
        gets each backend's time or why it was not used."""
        from studio.core.latent_decoder import pick_decoder

        source = None
        if prefer != "torch":
            try:
                source = self.onnx_export()
            except Exception as exc:  # noqa: BLE001 - a plugin's export list may fail; decode is exported instead
                if report is not None:
                    report["onnx_exports"] = f"unavailable: {exc}"
        report = {} if report is None else report
        if source is not None:
            try:
                chosen = pick_decoder(self.model, prefer=prefer, batch=batch, repeats=repeats, onnx_source=source,
                                      report=report)
            except ValueError:  # prefer="onnxruntime" and the declared module disagrees with decode()
                chosen = None
            if chosen is not None and not str(report.get("onnxruntime", "")).startswith("unavailable"):
                return chosen
            # the declared module is not what decode() computes (e.g. only its first stage): trace decode
            report["onnx_exports"] = f"{source.name}: {report.pop('onnxruntime', 'not used')}"
            report.pop("torch", None)
        return pick_decoder(self.model, prefer=prefer, batch=batch, repeats=repeats, report=report)

    # -- vectors -------------------------------------------------------------------
    def draw(self, n: int, seed: int = 0, temperature: float | None = None) -> np.ndarray | None:
        """The vectors ``sample(n, seed, temperature=)`` decodes (None when the model does not say,
        i.e. has no ``latents``). The temperature goes only to a ``latents`` that names it."""
        if not self.can_draw:
            return None
        fn = self.model.latents
        takes_t = "temperature" in inspect.signature(fn).parameters
        z = fn(int(n), int(seed), temperature=temperature) if takes_t and temperature is not None \
            else fn(int(n), int(seed))
        return _numpy(z).reshape(int(n), -1).astype(np.float32, copy=False)

    def encode(self, batch: Any) -> np.ndarray:
        """Latent means (n, latent_dim) of a batch of training items; needs "encode"."""
        if not self.can_encode:
            raise MissingCapability(f"the {self.name} does not declare the \"encode\" capability, so it cannot "
                                    "place training items in its latent space", "encode")
        import torch

        device = getattr(self.model, "device", "cpu")
        with torch.inference_mode():
            codes = self.model.encode(batch.to(device) if hasattr(batch, "to") else batch)
        if isinstance(codes, (tuple, list)):
            codes = codes[0]
        return _numpy(codes).reshape(len(batch), -1)


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)
