"""Export a plugin's generating modules (``onnx_exports()``) to ONNX, and prove they match torch.

Every export is checked by running onnxruntime against torch on random inputs
at two batch sizes (and two lengths for each sequence axis), none equal to the
example's, and fails loudly beyond ``tol`` (1e-4, relative to the output scale,
fp32). The exporter's known pitfalls are the reason for that check:

* legacy (TorchScript) exporter: a Python ``int`` taken from a shape is traced
  as a constant, freezing the batch size; LSTM/GRU without initial-state
  inputs warn that a batch other than the traced one may fail (give h0/c0 as
  inputs in sequence-step exports);
* dynamo exporter (``torch.export``): slower (seconds per module), refuses some
  data-dependent code, and for GRU/LSTM records the traced sequence length in
  its shape annotations (intermediate and output shapes), which onnxruntime
  then reports and warns about at other lengths; we drop/rename those.

``exporter="auto"`` tries the legacy exporter first (fast, mature on RNNs;
measured on torch 2.13: ~0.1 s vs ~5 s per module) and falls back to dynamo
when it is missing, fails, or fails verification. What was tried, and why it
was rejected, is in ``ExportResult.notes`` and the model's metadata.
"""
from __future__ import annotations

import io
import json
import logging
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio import __version__
from studio.core.fileio import atomic_write_bytes

DEFAULT_OPSET = 18
DEFAULT_TOL = 1e-4
EXPORTERS = ("auto", "legacy", "dynamo")
BATCH_SIZES = (1, 5)


class OnnxExportError(RuntimeError):
    """Export or verification failed; the message names the module and every reason."""


@dataclass
class ExportResult:
    name: str
    path: str
    exporter: str
    opset: int
    size_bytes: int
    max_error: float
    checks: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- inputs -------------------------------------------------------------------
def _is_batch(axis_name: str) -> bool:
    return "batch" in axis_name.lower()


def _int_high(module, example) -> int:
    """Upper bound for random integer inputs: the smallest embedding table, else the example's range."""
    import torch

    sizes = [m.num_embeddings for m in module.modules() if isinstance(m, torch.nn.Embedding)]
    if sizes:
        return int(min(sizes))
    return int(example.max().item()) + 1 if example.numel() else 2


def verification_shapes(spec) -> list[dict[str, int]]:
    """Axis-name -> size combinations to check: two batch sizes x two lengths per sequence axis."""
    sizes: dict[str, int] = {}
    for i, name in enumerate(spec.input_names):
        for axis, axis_name in spec.dynamic_axes.get(name, {}).items():
            sizes.setdefault(axis_name, int(spec.example_inputs[i].shape[int(axis)]))
    combos: list[dict[str, int]] = [{}]
    for axis_name, example in sizes.items():
        if _is_batch(axis_name):
            options = list(BATCH_SIZES)
        else:  # a length: 1 and the example's (another length than 1 when the example is 1)
            options = [1, example] if example > 1 else [1, 2]
        combos = [dict(c, **{axis_name: o}) for c in combos for o in options]
    if len(combos) > 4:  # keep it cheap: the corners are enough
        combos = [combos[0], combos[-1], combos[len(combos) // 2], combos[len(combos) // 3]]
    return combos


def random_inputs(spec, sizes: dict[str, int], seed: int = 0, safe: bool = False) -> list:
    """Random inputs at ``sizes``. Integers stay below the example's values per static position;
    an all-zero integer example (token ids) draws from the smallest embedding table unless ``safe``."""
    import torch

    g = torch.Generator().manual_seed(seed)
    out = []
    for i, name in enumerate(spec.input_names):
        ex = spec.example_inputs[i]
        shape = list(ex.shape)
        for axis, axis_name in spec.dynamic_axes.get(name, {}).items():
            shape[int(axis)] = sizes.get(axis_name, shape[int(axis)])
        if ex.dtype.is_floating_point:
            out.append(torch.randn(shape, generator=g, dtype=ex.dtype))
        elif ex.dtype == torch.bool:
            out.append(torch.rand(shape, generator=g) > 0.5)
        elif ex.numel() and int(ex.max()) > 0:
            # Integer features with columns of different ranges (event, lookback, bar position):
            # draw each static position below the example's largest value there, which keeps
            # every index valid for tables indexed from 0.
            dyn = tuple(int(a) for a in spec.dynamic_axes.get(name, {}))
            hi = (ex.amax(dim=dyn, keepdim=True) if dyn else ex).double() + 1
            out.append(torch.floor(torch.rand(shape, generator=g, dtype=torch.float64) * hi).to(ex.dtype))
        elif safe:
            out.append(torch.zeros(shape, dtype=ex.dtype))
        else:  # token ids given as zeros: use the vocabulary (smallest embedding table)
            out.append(torch.randint(0, _int_high(spec.module, ex), shape, generator=g, dtype=ex.dtype))
    return out


def usable_inputs(spec, sizes: dict[str, int], seed: int = 0) -> tuple[list, Any]:
    """(inputs, torch outputs) for random inputs the module accepts.

    An all-zero integer example that is not a token id (a bar position, say) makes the
    vocabulary range wrong for it; then such inputs keep the example's values.
    """
    import torch

    inputs = random_inputs(spec, sizes, seed)
    with torch.no_grad():
        try:
            return inputs, spec.module(*inputs)
        except (IndexError, RuntimeError):
            inputs = random_inputs(spec, sizes, seed, safe=True)
            return inputs, spec.module(*inputs)


def _flatten(obj) -> list:
    if isinstance(obj, (list, tuple)):
        return [t for item in obj for t in _flatten(item)]
    return [obj]


# -- exporters ----------------------------------------------------------------
def _export_legacy(spec, opset: int) -> tuple[bytes, list[str]]:
    import torch

    buf = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.onnx.export(spec.module, tuple(spec.example_inputs), buf, input_names=list(spec.input_names),
                          output_names=list(spec.output_names), dynamic_axes=spec.dynamic_axes,
                          opset_version=opset, do_constant_folding=True, dynamo=False)
    notes = sorted({f"legacy exporter warned: {str(w.message).strip()[:200]}" for w in caught
                    if issubclass(w.category, UserWarning) and "batch" in str(w.message).lower()})
    return buf.getvalue(), notes


def _export_dynamo(spec, opset: int) -> tuple[bytes, list[str]]:
    import torch
    from torch.export import Dim

    dims: dict[str, Any] = {}
    shapes = []
    for name in spec.input_names:
        axes = spec.dynamic_axes.get(name, {})
        shapes.append({int(a): dims.setdefault(n, Dim(_ident(n))) for a, n in axes.items()} or None)
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # torchvision-missing notices and progress lines
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prog = torch.onnx.export(spec.module, tuple(spec.example_inputs), input_names=list(spec.input_names),
                                     output_names=list(spec.output_names), dynamic_shapes=tuple(shapes),
                                     opset_version=opset, dynamo=True, verbose=False, optimize=True)
    finally:
        quiet.setLevel(level)
    model = prog.model_proto
    # torch.export specialises GRU/LSTM sequence lengths in its shape annotations (value_info and the
    # declared outputs say the traced length although the graph computes any length, as verify() shows);
    # drop the stale intermediate annotations (onnxruntime re-infers them) and name the dynamic output dims.
    del model.graph.value_info[:]
    for out in model.graph.output:
        for axis, axis_name in spec.dynamic_axes.get(out.name, {}).items():
            dims_ = out.type.tensor_type.shape.dim
            if int(axis) < len(dims_):
                dims_[int(axis)].dim_param = axis_name
    return model.SerializeToString(), []


def _ident(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name) or "dim"


# -- verification ---------------------------------------------------------------
def verify(model_bytes: bytes, spec, *, tol: float = DEFAULT_TOL, seed: int = 0) -> tuple[float, list[dict]]:
    """Run onnxruntime and torch on random inputs; raise :class:`OnnxExportError` beyond ``tol``.

    The error is ``max|onnx - torch| / max(1, max|torch|)`` per output, so logits
    in the tens are held to the same relative standard as images in [0, 1].
    """
    import torch

    from studio.core.export.sessions import create_session

    session = create_session(model_bytes, intra_threads=1)
    checks, worst = [], 0.0
    for k, sizes in enumerate(verification_shapes(spec)):
        inputs, out = usable_inputs(spec, sizes, seed + k)
        ref = [t.detach().float().cpu().numpy() for t in _flatten(out)]
        try:
            got = session.run(None, {n: t.numpy() for n, t in zip(spec.input_names, inputs)})
        except Exception as exc:  # onnxruntime raises its own exception types
            raise OnnxExportError(f"{spec.name}: onnxruntime failed at {sizes} ({str(exc).splitlines()[0][:300]})") from exc
        if len(got) != len(ref):
            raise OnnxExportError(f"{spec.name}: ONNX gives {len(got)} outputs, torch {len(ref)}")
        errs = []
        for name, a, b in zip(spec.output_names or [f"out{i}" for i in range(len(ref))], got, ref):
            if a.shape != b.shape:
                raise OnnxExportError(f"{spec.name}: output {name} has shape {a.shape} in ONNX, {b.shape} in torch "
                                      f"at {sizes} (a size frozen at export?)")
            scale = max(1.0, float(np.abs(b).max()) if b.size else 1.0)
            errs.append(float(np.abs(a.astype(np.float32) - b).max() / scale) if b.size else 0.0)
        err = max(errs)
        checks.append({"sizes": sizes, "max_error": err})
        worst = max(worst, err)
        if not err <= tol:
            raise OnnxExportError(f"{spec.name}: ONNX differs from torch by {err:.3g} at {sizes} "
                                  f"(tolerance {tol:g})")
    return worst, checks


# -- public API -------------------------------------------------------------------
def export_module(spec, path: str | Path, *, metadata: dict[str, str] | None = None, exporter: str = "auto",
                  opset: int = DEFAULT_OPSET, tol: float = DEFAULT_TOL) -> ExportResult:
    """Export one :class:`~studio.core.plugins.api.OnnxExport`, verify it, write it with metadata."""
    import onnx
    import torch

    if exporter not in EXPORTERS:
        raise ValueError(f"unknown exporter {exporter!r}; use one of {', '.join(EXPORTERS)}")
    spec.module.eval()
    order = ["legacy", "dynamo"] if exporter == "auto" else [exporter]
    notes: list[str] = []
    t0 = time.perf_counter()
    for kind in order:
        try:
            with torch.no_grad():
                data, warn = (_export_legacy if kind == "legacy" else _export_dynamo)(spec, opset)
            notes += warn
            worst, checks = verify(data, spec, tol=tol)
        except OnnxExportError as exc:
            notes.append(f"{kind} exporter rejected: {exc}")
            continue
        except Exception as exc:  # exporter internals raise many kinds
            notes.append(f"{kind} exporter failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}")
            continue
        model = onnx.load_from_string(data)
        actual_opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), opset)
        size = save_verified(model, path, spec, exporter=kind, opset=actual_opset, tol=tol, worst=worst,
                             checks=checks, metadata=metadata)
        return ExportResult(spec.name, str(path), kind, int(actual_opset), size, worst, checks, notes,
                            time.perf_counter() - t0)
    raise OnnxExportError(f"could not export {spec.name!r} to ONNX: " + "; ".join(notes))


def save_verified(model, path: str | Path, spec, *, exporter: str, opset: int, tol: float, worst: float,
                  checks: list, metadata: dict[str, str] | None = None, extra: dict[str, str] | None = None) -> int:
    """Write a verified export atomically with the studio's metadata props (what ``read_metadata`` and the
    runtime read: the export's name, exporter, opset, inputs/outputs and how it was verified); its size."""
    import onnx

    props = {
        "studio.export": spec.name,
        "studio.exporter": exporter,
        **(extra or {}),
        "studio.opset": str(opset),
        "studio.inputs": json.dumps({n: {str(a): d for a, d in spec.dynamic_axes.get(n, {}).items()}
                                     for n in spec.input_names}),
        "studio.outputs": json.dumps(list(spec.output_names)),
        "studio.verified": json.dumps({"tolerance": tol, "max_error": worst, "checks": checks}),
        "studio.version": __version__,
        **(metadata or {}),
    }
    onnx.helper.set_model_props(model, {k: str(v) for k, v in props.items()})
    model.producer_name, model.producer_version = "generative-studio", __version__
    out = model.SerializeToString()
    atomic_write_bytes(Path(path), out)
    return len(out)


def export_bytes(spec, *, exporter: str = "legacy", opset: int = DEFAULT_OPSET) -> bytes:
    """ONNX bytes of one :class:`~studio.core.plugins.api.OnnxExport`, not verified and not written:
    for a caller that compares onnxruntime with torch itself (the latent grid's decoder choice)."""
    import torch

    if exporter not in ("legacy", "dynamo"):
        raise ValueError(f"unknown exporter {exporter!r}; use legacy or dynamo")
    spec.module.eval()
    with torch.no_grad():
        data, _ = (_export_legacy if exporter == "legacy" else _export_dynamo)(spec, opset)
    return data


def model_metadata(plugin=None, config=None, provenance: dict[str, Any] | None = None) -> dict[str, str]:
    from studio.core.plugins.api import config_to_dict

    meta: dict[str, str] = {}
    if plugin is not None:
        meta["studio.plugin.id"] = plugin.id
        meta["studio.plugin.version"] = plugin.version
        meta["studio.plugin.modality"] = plugin.modality
    if config is not None:
        cfg = config_to_dict(config) if not isinstance(config, dict) else config
        meta["studio.config"] = json.dumps(cfg, default=str)
    if provenance:
        meta["studio.provenance"] = json.dumps(provenance, default=str)
    return meta


def export_paths(out: str | Path, names: list[str]) -> list[Path]:
    """One module: ``out`` itself; several: ``STEM-NAME.onnx`` beside it."""
    out = Path(out)
    if len(names) == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{n}{out.suffix or '.onnx'}") for n in names]


def exportable_specs(model, plugin=None) -> list:
    """The model's ``onnx_exports()`` (model put in eval mode), or ``OnnxExportError`` in words."""
    if not hasattr(model, "onnx_exports"):
        name = plugin.id if plugin is not None else type(model).__name__
        raise OnnxExportError(f"{name}: this model does not offer ONNX export (no 'onnx' capability)")
    model.eval()
    specs = list(model.onnx_exports())
    if not specs:
        raise OnnxExportError("the model listed no modules to export")
    return specs


def export_model(model, out: str | Path, *, plugin=None, provenance: dict[str, Any] | None = None,
                 exporter: str = "auto", opset: int = DEFAULT_OPSET, tol: float = DEFAULT_TOL,
                 overwrite: bool = True) -> list[ExportResult]:
    """Export every module of ``model.onnx_exports()``; see :func:`export_paths` for the file names."""
    from studio.core.export.naming import check_target

    specs = exportable_specs(model, plugin)
    paths = export_paths(out, [s.name for s in specs])
    for p in paths:
        check_target(p, overwrite)
    meta = model_metadata(plugin, getattr(model, "config", None), provenance)
    return [export_module(s, p, metadata=meta, exporter=exporter, opset=opset, tol=tol)
            for s, p in zip(specs, paths)]


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file (plugin id, config, provenance, opset, verification)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}
