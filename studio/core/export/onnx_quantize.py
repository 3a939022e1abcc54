"""Static int8 quantisation of exported modules (onnxruntime ``quantize_static``, QDQ, per-channel weights).

Why static: dynamic quantisation only covers MatMul/Gemm/LSTM, so a conv
decoder kept its convolutions in float (88 % of the fp32 size, no faster).
Static quantisation calibrates every activation's int8 range on real inputs
(:mod:`studio.core.export.onnx_calibration`) and stores all Conv, ConvTranspose,
Gemm and MatMul weights as int8, one scale per output channel.

onnxruntime's CPU provider has int8 kernels for Conv/MatMul but none for
ConvTranspose (a QDQ ConvTranspose is dequantised and run in float, slower than
fp32). So before quantising, each stride-s ConvTranspose is rewritten exactly
as a Conv with s x s output phases followed by DepthToSpace (the sub-pixel
form), checked against the original graph, and the Conv then runs in int8.

A sampler that describes itself as a loop (a DDIM decoder, ``onnx_loop``) is exported
as an ONNX Loop, fp32 and int8 alike (:mod:`studio.core.export.onnx_loop`): unrolled, each
step repeated the network's QDQ bookkeeping. Its step graph is quantised on its own; the
nodes reading the schedule row (time embedding, sampler arithmetic) stay float.

Recurrent modules (LSTM/GRU) are quantised dynamically instead: onnxruntime has
no static (QDQ) LSTM, and its dynamic LSTM stores the recurrent weights as int8.
"""
from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("studio.export")

RECURRENT_OPS = {"LSTM", "GRU", "RNN"}
#: ops that only move or describe data: neither "quantised" nor "float" compute
_PLUMBING = {"QuantizeLinear", "DequantizeLinear", "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze",
             "Concat", "Reshape", "Slice", "DepthToSpace", "Transpose", "Flatten", "Identity", "Cast",
             "ConstantOfShape", "Range", "Expand"}
_CONTROL = {"Loop", "Scan", "If"}
CHECK_BATCHES = (1, 3, 64)
REWRITE_TOL = 1e-4


@dataclass
class Int8Report:
    name: str
    fp32_path: str
    int8_path: str
    method: str                      # "static-qdq-per-channel" or "dynamic"
    fp32_bytes: int
    int8_bytes: int
    size_ratio: float                # int8 / fp32
    fp32_ms: float                   # median latency at timing_batch
    int8_ms: float
    speedup: float                   # fp32_ms / int8_ms
    timing_batch: int
    max_abs_error: float             # int8 vs fp32 on held-out inputs
    mean_abs_error: float
    psnr_db: float | None            # images only: vs fp32, peak 1.0
    top1_agreement: float | None     # outputs named logits: share of rows whose most likely token is fp32's
    batches_checked: list[int] = field(default_factory=list)
    float_ops: list[str] = field(default_factory=list)   # op types left computing in float
    calibration: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- analysis ------------------------------------------------------------------------------------
def op_types(path_or_model) -> set[str]:
    import onnx

    model = onnx.load(str(path_or_model)) if isinstance(path_or_model, (str, Path)) else path_or_model
    return {n.op_type for n in model.graph.node}


def static_op_types() -> list[str]:
    """Op types static quantisation handles: onnxruntime's QDQ and QLinear registries, less a
    BatchNormalization left over (not after a convolution: rank-1 weights, no per-channel axis)."""
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    return sorted((set(QDQRegistry) | set(QLinearOpsRegistry)) - {"BatchNormalization"})


def _graphs(graph):
    """The graph and every subgraph in it (a Loop's body), outermost first."""
    yield graph
    for n in graph.node:
        for a in n.attribute:
            for sub in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                yield from _graphs(sub)


def float_ops(path: str | Path, quantised: list[str] | None = None) -> list[str]:
    """Compute op types of a quantised model that run in float: no int8 (dequantised) input, or
    (given ``quantised``, the op types the quantiser handles) not one of those. Subgraphs (a
    sampler's Loop body) count; the control-flow node itself does not."""
    import onnx

    model = onnx.load(str(path))
    left = set()
    for g in _graphs(model.graph):
        made_by = {o: n.op_type for n in g.node for o in n.output}
        for n in g.node:
            if n.op_type in _PLUMBING or n.op_type in _CONTROL or n.domain not in ("", "ai.onnx"):
                continue
            int8_kernel = n.op_type.startswith(("QLinear", "DynamicQuantize", "MatMulInteger", "ConvInteger"))
            fed_int8 = any(made_by.get(i) == "DequantizeLinear" for i in n.input)
            if not int8_kernel and (not fed_int8 or (quantised is not None and n.op_type not in quantised)):
                left.add(n.op_type)
    return sorted(left)


def _max_rel_error(a_list, b_list) -> float:
    worst = 0.0
    for a, b in zip(a_list, b_list):
        scale = max(1.0, float(np.abs(b).max()) if b.size else 1.0)
        worst = max(worst, float(np.abs(a.astype(np.float32) - b.astype(np.float32)).max() / scale) if b.size else 0.0)
    return worst


# -- quantisation ----------------------------------------------------------------------------------
class _Reader:
    """onnxruntime's CalibrationDataReader protocol over prepared batches."""

    def __init__(self, batches):
        self._batches = list(batches)
        self._it = iter(self._batches)

    def get_next(self):
        return next(self._it, None)

    def rewind(self):
        self._it = iter(self._batches)


def schedule_only_nodes(model, inputs) -> list[str]:
    """Names of the nodes that read a tensor computed from ``inputs`` and constants alone.

    A sampler step's schedule row (t, alpha, sigma) is such an input: one activation range shared by
    all steps would round each step's scales to 8 bits, and the time embedding's arguments (t x 1000
    x frequencies) with them. Those nodes (the time MLP, the sampler arithmetic) stay float.
    Unnamed nodes are named here, so that the quantiser can be told which to leave."""
    g = model.graph
    derived = set(inputs)
    constant = {i.name for i in g.initializer}
    for k, n in enumerate(g.node):
        if not n.name:
            n.name = f"node{k}_{n.op_type}"
    names = []
    for n in g.node:  # topological order: a tensor is classified before it is read
        ins = [i for i in n.input if i]
        if n.op_type in ("Constant", "Shape") or all(i in constant for i in ins):  # shapes: not values
            constant.update(n.output)
            continue
        if any(i in derived for i in ins):
            names.append(n.name)
            if all(i in derived or i in constant for i in ins):
                derived.update(n.output)
    return names


_LAYERS = {"Conv", "ConvTranspose", "Gemm", "MatMul"}


def state_input_layers(model, inputs) -> list[str]:
    """Names of a sampler step's first layers: the ones reading its carried state (``inputs``).

    That input is the noise at the first step (about +-4.5) and nearly the image at the last
    (+-1), so one int8 range for all steps leaves the late steps few levels, and the error carries
    over from step to step. Measured on a default DDPM (20 steps, fresh weights), PSNR of int8
    against fp32: 27.7 dB with this layer in int8, 31.3 dB with it float, at the same speed
    (a 3-channel convolution is cheap); the last layer float as well gained nothing and cost 20 %."""
    return [n.name for n in model.graph.node if n.op_type in _LAYERS and any(i in inputs for i in n.input)]


def quantize_static_int8(src: str | Path, dst: str | Path, calibration, *, per_channel: bool = True,
                         rewrite: bool = True, schedule_inputs=(), state_inputs=()) -> list[str]:
    """Write a static int8 (QDQ) copy of ``src`` calibrated on ``calibration`` batches; returns notes.

    A sampler's step: ``schedule_inputs``, graph inputs whose own arithmetic stays float
    (:func:`schedule_only_nodes`); ``state_inputs``, the carried state, whose first layers stay
    float (:func:`state_input_layers`)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from studio.core.export.onnx_rewrite import compact_names, conv_transpose_as_conv, fold_batch_norm
    from studio.core.export.sessions import create_session
    from studio.core.fileio import atomic_write_bytes

    src, dst = Path(src), Path(dst)
    notes: list[str] = []
    model = onnx.load(str(src))
    meta = {p.key: p.value for p in model.metadata_props}
    batches = list(calibration)
    with tempfile.TemporaryDirectory(prefix="studio-int8-") as tmp:
        work = Path(tmp) / "fp32.onnx"
        folded = fold_batch_norm(model) if rewrite else 0
        count = conv_transpose_as_conv(model) if rewrite else 0
        if count or folded:  # exact in theory; proven on the calibration inputs before it is used
            data = model.SerializeToString()
            ref, new = create_session(src, intra_threads=1), create_session(data, intra_threads=1)
            err = max(_max_rel_error(new.run(None, b), ref.run(None, b)) for b in batches[:2])
            what = ", ".join(filter(None, [
                f"{count} ConvTranspose rewritten as Conv + DepthToSpace for int8 kernels" if count else "",
                f"{folded} BatchNormalization folded into the convolution before it" if folded else ""]))
            if err <= REWRITE_TOL:
                notes.append(f"{what} (checked: {err:.1g} from the original)")
                work.write_bytes(data)
            else:
                notes.append(f"graph rewrite rejected ({what}: {err:.3g} from the original); kept as is")
                count = folded = 0
        if not (count or folded):
            work.write_bytes(src.read_bytes())
        source = work
        # shape inference + clean-up first, as onnxruntime recommends; without its symbolic shape
        # inference, which on failure (the unrolled DDIM graph) leaves files in the working folder
        # and gave the same int8 models for the other plugins
        try:
            from onnxruntime.quantization.shape_inference import quant_pre_process
            quant_pre_process(str(work), str(Path(tmp) / "pre.onnx"), skip_symbolic_shape=True)
            source = Path(tmp) / "pre.onnx"
        except Exception as exc:  # optional step
            log.info("quantisation pre-processing skipped for %s: %s", src, exc)
            notes.append(f"onnxruntime's pre-processing (shape inference) failed, quantised without it "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})")
        out = Path(tmp) / "int8.onnx"
        ops = static_op_types()
        exclude: list[str] = []
        if schedule_inputs or state_inputs:
            pre = onnx.load(str(source))
            exclude = schedule_only_nodes(pre, schedule_inputs)  # names unnamed nodes too
            if exclude:
                notes.append(f"{len(exclude)} nodes reading the schedule input {', '.join(schedule_inputs)} "
                             "(time embedding, sampler arithmetic) kept float")
            io = [n for n in state_input_layers(pre, state_inputs) if n not in exclude]
            if io:
                notes.append(f"{len(io)} layer{'s' if len(io) > 1 else ''} reading the carried state "
                             f"{', '.join(state_inputs)} kept float (its range changes from step to step)")
            exclude += io
            source = Path(tmp) / "named.onnx"
            onnx.save(pre, str(source))
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantiser's advice goes to the root logger, i.e. the user's terminal
        try:
            quantize_static(str(source), str(out), _Reader(batches), quant_format=QuantFormat.QDQ,
                            op_types_to_quantize=ops, nodes_to_exclude=exclude, per_channel=per_channel,
                            activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
        finally:
            root.setLevel(level)
        q = onnx.load(str(out))
        compact_names(q)
        meta["studio.quantization"] = "int8-static-qdq" + ("-per-channel" if per_channel else "")
        meta["studio.calibration"] = getattr(calibration, "source", "")
        onnx.helper.set_model_props(q, meta)
        atomic_write_bytes(dst, q.SerializeToString())
    return notes


def quantize_loop_int8(spec, fp32: str | Path, dst: str | Path, calibration) -> list[str]:
    """Write the int8 Loop model of ``spec`` (its fp32 Loop model at ``fp32``): the step graph quantised
    statically on its own, joined with the float schedule and finish; returns the quantiser's notes."""
    import tempfile

    import onnx

    from studio.core.export.onnx_loop import (SCHEDULE_INPUT, STEP_INPUTS, finish_model_bytes, join_loop,
                                              loop_of, step_calibration, step_model_bytes)
    from studio.core.fileio import atomic_write_bytes

    ref = onnx.load(str(fp32))
    opset = next((o.version for o in ref.opset_import if o.domain in ("", "ai.onnx")), 18)
    meta = {p.key: p.value for p in ref.metadata_props}
    form = loop_of(spec)
    schedule = form["schedule"].detach().cpu().numpy()
    with tempfile.TemporaryDirectory(prefix="studio-int8-loop-") as tmp:
        step32, step8 = Path(tmp) / "step.fp32.onnx", Path(tmp) / "step.int8.onnx"
        step32.write_bytes(step_model_bytes(spec, opset))
        cal = step_calibration(step32, schedule, calibration)
        notes = quantize_static_int8(step32, step8, cal, schedule_inputs=(SCHEDULE_INPUT,),
                                     state_inputs=(STEP_INPUTS[0],))
        step = onnx.load(str(step8))
        meta.update({p.key: p.value for p in step.metadata_props})
        q = join_loop(step, onnx.load_from_string(finish_model_bytes(spec, opset)), schedule,
                      spec.input_names[0], spec.output_names[0])
    q.producer_name, q.producer_version = ref.producer_name, ref.producer_version
    onnx.helper.set_model_props(q, meta)
    atomic_write_bytes(Path(dst), q.SerializeToString())
    return [f"the network quantised once and run {len(schedule)} times in an ONNX Loop, as in the fp32 model "
            f"beside it (a plain export unrolls the steps); activation ranges calibrated over all steps", *notes]


def _median_ms(session, feeds, repeats: int) -> float:
    session.run(None, feeds)  # warm-up
    times = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


def compare_int8(fp32: str | Path, int8: str | Path, feeds: dict[str, np.ndarray], *, image: bool,
                 repeats: int = 5, intra_threads: int | None = None) -> dict[str, Any]:
    """Error (max/mean abs, PSNR for images) and median latency of int8 against fp32 on ``feeds``."""
    from studio.core.export.sessions import create_session

    s32, s8 = create_session(fp32, intra_threads=intra_threads), create_session(int8, intra_threads=intra_threads)
    a, b = s32.run(None, feeds), s8.run(None, feeds)
    diffs = [np.abs(x.astype(np.float32) - y.astype(np.float32)) for x, y in zip(a, b) if x.size]
    psnr, top1 = None, None
    names = [o.name for o in s32.get_outputs()]
    if "logits" in names:
        la, lb = a[names.index("logits")], b[names.index("logits")]
        top1 = float(np.mean(la.reshape(-1, la.shape[-1]).argmax(1) == lb.reshape(-1, lb.shape[-1]).argmax(1)))
    if image:
        mse = float(np.mean((a[0].astype(np.float64) - b[0].astype(np.float64)) ** 2))
        psnr = 10 * math.log10(1.0 / max(mse, 1e-20))  # identical outputs: 200 dB (JSON has no infinity)
    ms32, ms8 = _median_ms(s32, feeds, repeats), _median_ms(s8, feeds, repeats)
    return {"max_abs_error": float(max(d.max() for d in diffs)),
            "mean_abs_error": float(np.mean([d.mean() for d in diffs])), "psnr_db": psnr, "top1_agreement": top1,
            "fp32_ms": ms32, "int8_ms": ms8, "speedup": ms32 / ms8 if ms8 else 0.0}


def check_batches(int8: str | Path, spec, feeds: dict[str, np.ndarray], sizes=CHECK_BATCHES) -> list[int]:
    """Run the int8 model at each batch size; raise ValueError naming the size that fails."""
    from studio.core.export.onnx_calibration import feeds_at_batch
    from studio.core.export.sessions import create_session

    session = create_session(int8, intra_threads=1)
    outs = [o.name for o in session.get_outputs()]
    done = []
    for size in sizes:
        got = session.run(None, feeds_at_batch(feeds, spec, size))
        for name, arr in zip(outs, got):
            axis = next((int(a) for a, n in spec.dynamic_axes.get(name, {}).items() if "batch" in n.lower()), None)
            if axis is not None and arr.shape[axis] != size:
                raise ValueError(f"{int8}: output {name} has batch {arr.shape[axis]} for an input batch of {size}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{int8}: output {name} is not finite at batch {size}")
        done.append(size)
    return done


def quantize_module(model, spec, fp32: str | Path, int8: str | Path, run_data=None, *,
                    repeats: int = 5, timing_batch: int = 64, intra_threads: int | None = None) -> Int8Report:
    """Quantise one exported module (static, or dynamic for recurrent graphs), check and measure it."""
    from studio.core.export.onnx_calibration import calibration_for, parity_feeds
    from studio.core.export.onnx_loop import loop_of

    fp32, int8 = Path(fp32), Path(int8)
    ops = op_types(fp32)
    recurrent = sorted(ops & RECURRENT_OPS)
    if recurrent:
        from studio.core.export.quantize import quantize_int8
        quantize_int8(fp32, int8)
        method = "dynamic"
        calib = {"source": "none (dynamic quantisation needs no calibration)", "count": 0, "notes": []}
        notes = [f"{', '.join(recurrent)}: onnxruntime has no static int8 {recurrent[0]}; "
                 "quantised dynamically (int8 weights, activations quantised at run time)"]
    else:
        cal = calibration_for(model, spec, fp32, run_data)
        loop = loop_of(spec) if "Loop" in ops else None
        if loop is not None:  # a sampler exported as a Loop: its step quantised once
            notes = quantize_loop_int8(spec, fp32, int8, cal)
            source = f"{cal.source}, run through all {len(loop['schedule'])} steps"
        else:
            notes = quantize_static_int8(fp32, int8, cal)
            source = cal.source
        method = "static-qdq-per-channel"
        calib = {"source": source, "count": cal.count, "notes": cal.notes}
    feeds = parity_feeds(model, spec, fp32, batch=timing_batch, run_data=run_data)
    image = getattr(getattr(model, "spec", None), "modality", "") == "image" and \
        any(n == "images" for n in spec.output_names)
    cmp = compare_int8(fp32, int8, feeds, image=image, repeats=repeats, intra_threads=intra_threads)
    checked = check_batches(int8, spec, feeds)
    n32, n8 = fp32.stat().st_size, int8.stat().st_size
    return Int8Report(spec.name, str(fp32), str(int8), method, n32, n8, n8 / n32, cmp["fp32_ms"], cmp["int8_ms"],
                      cmp["speedup"], timing_batch, cmp["max_abs_error"], cmp["mean_abs_error"], cmp["psnr_db"],
                      cmp["top1_agreement"], checked, float_ops(int8, None if recurrent else static_op_types()),
                      calib, notes)


def fp32_companion(path: str | Path) -> Path:
    """Where the fp32 reference of an int8 export goes: ``NAME.fp32.onnx`` beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem}.fp32{path.suffix or '.onnx'}")


def cleanup(paths) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass


def export_fp32(spec, path: str | Path, *, metadata: dict[str, str] | None = None, exporter: str = "auto",
                opset: int | None = None):
    """The fp32 reference of an int8 export: a sampler that describes itself as a loop (``onnx_loop``)
    as an ONNX Loop, the network stored once as in its int8 model (unless the dynamo exporter is asked
    for: it has no loop form), anything else as ``export_module`` writes it."""
    from studio.core.export.onnx_export import DEFAULT_OPSET, export_module
    from studio.core.export.onnx_loop import export_loop_module, loop_of

    notes = []
    if exporter in ("auto", "legacy") and loop_of(spec) is not None:
        try:
            return export_loop_module(spec, path, metadata=metadata, opset=opset or DEFAULT_OPSET)
        except Exception as exc:  # the exporter or the check: the plain (unrolled) export still serves
            notes.append(f"loop form not used ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); steps unrolled")
    res = export_module(spec, path, metadata=metadata, exporter=exporter, opset=opset or DEFAULT_OPSET)
    res.notes[:0] = notes
    return res


def export_int8(model, out: str | Path, *, plugin=None, provenance: dict[str, Any] | None = None,
                run_data=None, exporter: str = "auto", opset: int | None = None,
                overwrite: bool = False, repeats: int = 5, intra_threads: int | None = None):
    """``studio export-onnx --quantize int8``: int8 modules at the ``--out`` path(s), each fp32
    reference beside it as ``NAME.fp32.onnx``; returns (fp32 ExportResults, Int8Reports).

    ``run_data``: an :class:`~studio.core.export.onnx_calibration.RunData` with the run's dataset."""
    from studio.core.export.naming import check_target
    from studio.core.export.onnx_export import (DEFAULT_OPSET, OnnxExportError, export_paths, exportable_specs,
                                                model_metadata)

    specs = exportable_specs(model, plugin)
    targets = export_paths(out, [s.name for s in specs])
    for p in targets:
        check_target(p, overwrite)
        check_target(fp32_companion(p), overwrite)
    meta = model_metadata(plugin, getattr(model, "config", None), provenance)
    results, reports = [], []
    for spec, target in zip(specs, targets):
        res = export_fp32(spec, fp32_companion(target), metadata=meta, exporter=exporter,
                          opset=opset or DEFAULT_OPSET)
        results.append(res)
        try:
            reports.append(quantize_module(model, spec, res.path, target, run_data, repeats=repeats,
                                           intra_threads=intra_threads))
        except OnnxExportError:
            raise
        except Exception as exc:  # onnxruntime's quantiser raises many kinds: one line, naming the module
            cleanup([target])
            raise OnnxExportError(f"{spec.name}: int8 quantisation failed ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0][:300] if str(exc) else ''})") from exc
    return results, reports
