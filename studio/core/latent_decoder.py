"""Decoder backends for the latent explorer: decode a batch of z (numpy) to images or melodies.

* ``TorchDecoder`` calls ``model.decode`` under ``torch.inference_mode`` (GPU when the model is there).
* ``OnnxDecoder`` runs an onnxruntime session (``studio.core.export.sessions.create_session``: bounded
  threads that do not spin, so it does not fight a trainer for the CPU), built from the plugin's
  declared decoder export or ``model.decode``, both through the studio's one ONNX exporter.
* ``pick_decoder`` builds the candidates, checks ONNX matches torch within a tolerance, times
  each on a grid-sized batch and returns the fastest.

Outputs are numpy: images float32 (n,C,H,W) in [0,1]; melodies int64 (n,L) event ids.
"""
from __future__ import annotations

import logging
import os
import time
import warnings
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

IMAGE_TOLERANCE = 2e-3   # max abs difference of pixels in [0,1] between onnxruntime and torch
BACKENDS = ("auto", "torch", "onnxruntime")


def _modality(model, sample: np.ndarray | None = None) -> str:
    spec = getattr(model, "spec", None)
    mod = getattr(spec, "modality", None)
    if mod in ("image", "melody"):
        return mod
    if sample is not None:
        return "image" if sample.ndim == 4 else "melody"
    return "image"


class LatentDecoder:
    """What the grid needs: ``latent_dim``, ``modality``, ``backend`` and ``decode(z)``."""

    backend = "base"

    def __init__(self, latent_dim: int, modality: str):
        self.latent_dim = int(latent_dim)
        self.modality = modality

    def decode(self, z: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def _check(self, z) -> np.ndarray:
        z = np.ascontiguousarray(np.asarray(z, dtype=np.float32))
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected z of shape (n, {self.latent_dim}), got {z.shape}")
        return z

    @staticmethod
    def _tidy(out: np.ndarray, modality: str) -> np.ndarray:
        if modality == "image":
            return np.clip(out.astype(np.float32, copy=False), 0.0, 1.0)
        if np.issubdtype(out.dtype, np.floating) and out.ndim == 3:  # logits (n,L,V) -> ids
            out = out.argmax(-1)
        return out.astype(np.int64, copy=False)


class TorchDecoder(LatentDecoder):
    backend = "torch"

    def __init__(self, model):
        if not int(getattr(model, "latent_dim", 0) or 0) or not callable(getattr(model, "decode", None)):
            raise ValueError(f"{type(model).__name__} has no latent space (needs latent_dim and decode(z))")
        self.model = model.eval()
        self._device = self._find_device(model)
        super().__init__(int(model.latent_dim), "image")
        spec_modality = getattr(getattr(model, "spec", None), "modality", None)
        # Without a spec, one probe decode tells images (n,C,H,W) from melodies (n,L).
        self.modality = spec_modality if spec_modality in ("image", "melody") else _modality(
            model, self._raw(np.zeros((1, self.latent_dim), np.float32)))
        if self._device.type != "cpu":
            self.backend = f"torch-{self._device.type}"

    @staticmethod
    def _find_device(model):
        import torch

        for p in model.parameters():
            return p.device
        return torch.device("cpu")

    def _raw(self, z: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.model.decode(torch.from_numpy(z).to(self._device))
        return out.detach().cpu().numpy()

    def decode(self, z) -> np.ndarray:
        return self._tidy(self._raw(self._check(z)), self.modality)


class _DecodeModule:
    """Built lazily so importing this module does not import torch."""

    @staticmethod
    def wrap(model):
        from torch import nn

        class DecodeOnly(nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, z):
                return self.m.decode(z)

        return DecodeOnly(model).eval()


def decode_export(model, batch: int = 2):
    """``model.decode`` as an :class:`~studio.core.plugins.api.OnnxExport` (z -> x, dynamic batch), for a
    latent model whose plugin offers no decoder of its own among its ``onnx_exports()``."""
    import torch

    from studio.core.plugins.api import OnnxExport

    return OnnxExport("decode", _DecodeModule.wrap(model), (torch.zeros(batch, int(model.latent_dim)),),
                      ["z"], ["x"], {"z": {0: "n"}, "x": {0: "n"}})


def export_decoder_onnx(model, batch: int = 2, export: Any = None) -> bytes:
    """ONNX bytes of a latent decoder: ``export`` (one of the plugin's ``onnx_exports()``) or ``model.decode``
    traced. The studio's one exporter (``studio.core.export.onnx_export``) does the tracing."""
    from studio.core.export.onnx_export import export_bytes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated but handles decode loops
        return export_bytes(export if export is not None else decode_export(model, batch))


def session_options(threads: int | None = None):
    """onnxruntime options that share the CPU politely (``studio.core.export.sessions``: bounded
    threads, no spinning); the grid's default is at most two intra-op threads."""
    from studio.core.export.sessions import session_options as shared

    return shared(default_threads(threads))


def default_threads(threads: int | None = None) -> int:
    return max(1, int(threads or min(2, os.cpu_count() or 1)))


class OnnxDecoder(LatentDecoder):
    """onnxruntime decoding through the one ``create_session``. ``model_or_bytes``: ONNX bytes or a file
    (``latent_dim`` needed), a latent model (its ``decode`` is exported), or an ``OnnxExport`` of the
    plugin whose one input holds ``latent_dim`` values per item (reshaped from z, e.g. a diffusion
    model's noise image)."""

    backend = "onnxruntime"

    def __init__(self, model_or_bytes, latent_dim: int | None = None, modality: str | None = None,
                 threads: int | None = None, use_gpu: bool = False):
        import onnxruntime as ort

        from studio.core.export.sessions import create_session

        self._item_shape: tuple[int, ...] | None = None
        if isinstance(model_or_bytes, (bytes, bytearray, str, os.PathLike)):
            source = bytes(model_or_bytes) if isinstance(model_or_bytes, (bytes, bytearray)) else str(model_or_bytes)
            if latent_dim is None:
                raise ValueError("latent_dim is needed when building an ONNX decoder from a file")
            mod = modality or "image"
        elif hasattr(model_or_bytes, "example_inputs") and hasattr(model_or_bytes, "module"):  # an OnnxExport
            example = model_or_bytes.example_inputs[0]
            self._item_shape = tuple(int(d) for d in example.shape[1:])
            latent_dim = int(latent_dim if latent_dim is not None else np.prod(self._item_shape))
            source = export_decoder_onnx(None, export=model_or_bytes)
            mod = modality or "image"
        else:
            source = export_decoder_onnx(model_or_bytes)
            latent_dim = int(model_or_bytes.latent_dim)
            mod = modality or _modality(model_or_bytes)
        providers = ["CPUExecutionProvider"]
        if use_gpu and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = create_session(source, intra_threads=default_threads(threads), providers=providers)
        self._input = self.session.get_inputs()[0].name
        super().__init__(int(latent_dim), mod)

    def decode(self, z) -> np.ndarray:
        z = self._check(z)
        feed = z.reshape((len(z),) + self._item_shape) if self._item_shape else z
        out = self.session.run(None, {self._input: feed})[0]
        return self._tidy(np.asarray(out), self.modality)


def _time(decoder: LatentDecoder, z: np.ndarray, repeats: int) -> float:
    decoder.decode(z)  # warm-up (allocations, lazy init)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        decoder.decode(z)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def pick_decoder(model, prefer: str = "auto", batch: int = 64, repeats: int = 3,
                 onnx_source: Any = None, report: dict | None = None) -> LatentDecoder:
    """The fastest decoder that agrees with torch. ``prefer`` forces one backend.

    ``report`` (a dict) is filled with each backend's median seconds per batch, or the reason
    it was not usable, so the panel and the benchmark can say what was chosen and why.
    """
    if prefer not in BACKENDS:
        raise ValueError(f"decoder backend {prefer!r} is not one of {', '.join(BACKENDS)}")
    report = {} if report is None else report
    torch_dec = TorchDecoder(model)
    if prefer == "torch":
        report["torch"] = "chosen"
        return torch_dec
    z = np.random.default_rng(0).standard_normal((batch, torch_dec.latent_dim)).astype(np.float32)
    try:
        onnx_dec = OnnxDecoder(onnx_source if onnx_source is not None else model, latent_dim=torch_dec.latent_dim,
                               modality=torch_dec.modality, use_gpu=torch_dec.backend != "torch")
        ref = torch_dec.decode(z[:8])
        got = onnx_dec.decode(z[:8])
        if ref.shape != got.shape:
            raise ValueError(f"ONNX output shape {got.shape} differs from torch {ref.shape}")
        if torch_dec.modality == "image":
            err = float(np.max(np.abs(ref - got)))
            if err > IMAGE_TOLERANCE:
                raise ValueError(f"ONNX differs from torch by {err:.2g} (tolerance {IMAGE_TOLERANCE})")
        elif float(np.mean(ref == got)) < 0.99:
            raise ValueError("ONNX melodies differ from torch")
    except Exception as exc:  # noqa: BLE001 - any export/runtime failure means: use torch
        report["onnxruntime"] = f"unavailable: {exc}"
        log.info("latent decoder: onnxruntime not used (%s)", exc)
        if prefer == "onnxruntime":
            raise ValueError(f"the ONNX decoder could not be built: {exc}") from exc
        report["torch"] = "chosen"
        return torch_dec
    if prefer == "onnxruntime":
        report["onnxruntime"] = "chosen"
        return onnx_dec
    t_torch, t_onnx = _time(torch_dec, z, repeats), _time(onnx_dec, z, repeats)
    report["torch"], report["onnxruntime"] = t_torch, t_onnx
    return onnx_dec if t_onnx < t_torch else torch_dec
