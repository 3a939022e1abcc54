"""A sampler exported as an ONNX Loop: its network stored once, run once per step.

A plain export of a DDIM sampler unrolls its loop: the network's nodes once per
step (the weights are shared, the nodes are not). Quantised, every step's
activations get their own QuantizeLinear/DequantizeLinear pairs, scales and zero
points, and that bookkeeping outweighed the int8 weights (55 % of the fp32 size
for a default DDPM, 20 steps, against 26-38 % for the other plugins).

A module that offers ``onnx_loop()`` (plain values, so that plugins need not import
the exporter) describes itself as

* ``step``: a module ``(x, row) -> x``, run once per row of ``schedule``;
* ``schedule``: a 2-D float tensor, one row per step (a DDIM step's times and scales);
* ``finish``: a module ``x -> output`` run once after the last step.

:func:`loop_model_bytes` exports ``step`` and ``finish`` and joins them into one
model with the module's own input and output names: ``Loop(steps, x0)`` whose body
gathers row ``i`` of the schedule and runs the step graph, then the finish graph.
The weights live in the body (as initializers of the subgraph: referenced from the
outer graph onnxruntime ran the same loop about 25 % slower). The int8 export
(:func:`studio.core.export.onnx_quantize.quantize_loop_int8`) quantises the step graph on
its own, calibrated on the inputs it sees at every step (:func:`step_calibration`), and
joins the quantised step the same way.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

STEP_INPUTS = ("x", "row")
STEP_OUTPUT = "x_next"
#: the schedule row is an input of the step graph: what only it feeds stays float (see onnx_quantize)
SCHEDULE_INPUT = "row"


def loop_of(spec) -> dict[str, Any] | None:
    """The module's loop description, or None (no ``onnx_loop``, or not one input and one output)."""
    describe = getattr(spec.module, "onnx_loop", None)
    if not callable(describe) or len(spec.input_names) != 1 or len(spec.output_names) != 1:
        return None
    form = describe()
    if not all(k in form for k in ("step", "schedule", "finish")) or form["schedule"].dim() != 2 \
            or len(form["schedule"]) < 1:
        return None
    return form


def _part_specs(spec, form):
    """OnnxExport specs of the step and the finish, with the module's batch axis."""
    from studio.core.plugins.api import OnnxExport

    x = spec.example_inputs[0]
    batch = dict(spec.dynamic_axes.get(spec.input_names[0], {}))
    out_axes = dict(spec.dynamic_axes.get(spec.output_names[0], {}))
    step = OnnxExport("step", form["step"].eval(), (x, form["schedule"][0].clone()), list(STEP_INPUTS),
                      [STEP_OUTPUT], {"x": batch, STEP_OUTPUT: batch})
    finish = OnnxExport("finish", form["finish"].eval(), (x,), ["x"], list(spec.output_names),
                        {"x": batch, spec.output_names[0]: out_axes})
    return step, finish


def step_model_bytes(spec, opset: int) -> bytes:
    """The step graph alone: ``(x, row) -> x_next`` (what the int8 export quantises)."""
    from studio.core.export.onnx_export import export_bytes

    form = loop_of(spec)
    step, _ = _part_specs(spec, form)
    return export_bytes(step, exporter="legacy", opset=opset)


def finish_model_bytes(spec, opset: int) -> bytes:
    from studio.core.export.onnx_export import export_bytes

    _, finish = _part_specs(spec, loop_of(spec))
    return export_bytes(finish, exporter="legacy", opset=opset)


def join_loop(step_model, finish_model, schedule: np.ndarray, input_name: str, output_name: str):
    """One model: ``input -> Loop(len(schedule)) of the step -> finish -> output`` (ModelProtos in, one out)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    schedule = np.ascontiguousarray(schedule, dtype=np.float32)
    sg = step_model.graph
    x_in = next(i for i in sg.input if i.name == "x")
    # body: (iteration, condition, x) -> (condition, x_next); the schedule row gathered by iteration
    body_nodes = [helper.make_node("Gather", ["loop_schedule", "loop_iter"], [SCHEDULE_INPUT], axis=0),
                  helper.make_node("Identity", ["loop_cond_in"], ["loop_cond_out"])]
    body_nodes += list(sg.node)
    body = helper.make_graph(
        body_nodes, "step",
        [helper.make_tensor_value_info("loop_iter", TensorProto.INT64, []),
         helper.make_tensor_value_info("loop_cond_in", TensorProto.BOOL, []), x_in],
        [helper.make_tensor_value_info("loop_cond_out", TensorProto.BOOL, []),
         next(o for o in sg.output if o.name == STEP_OUTPUT)],
        initializer=[numpy_helper.from_array(schedule, "loop_schedule"), *sg.initializer])
    fg = finish_model.graph
    rename = {"x": "loop_x_last"}

    def fin(name: str) -> str:  # finish-graph names kept apart from the body's
        if not name or name == output_name:
            return name
        return rename.setdefault(name, f"finish/{name}")

    finish_nodes = []
    for n in fg.node:
        m = onnx.NodeProto()
        m.CopyFrom(n)
        m.input[:] = [fin(i) for i in n.input]
        m.output[:] = [fin(o) for o in n.output]
        finish_nodes.append(m)
    finish_inits = []
    for t in fg.initializer:
        c = onnx.TensorProto()
        c.CopyFrom(t)
        c.name = fin(t.name)
        finish_inits.append(c)
    x_outer = onnx.ValueInfoProto()
    x_outer.CopyFrom(x_in)
    x_outer.name = input_name
    main = helper.make_graph(
        [helper.make_node("Loop", ["loop_steps", "loop_true", input_name], ["loop_x_last"], body=body),
         *finish_nodes],
        "sampler", [x_outer], [next(o for o in fg.output if o.name == output_name)],
        initializer=[numpy_helper.from_array(np.array(len(schedule), dtype=np.int64), "loop_steps"),
                     numpy_helper.from_array(np.array(True), "loop_true"), *finish_inits])
    opsets = {o.domain: o.version for o in finish_model.opset_import}
    opsets.update({o.domain: o.version for o in step_model.opset_import})
    model = helper.make_model(main, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = step_model.ir_version
    return model


def loop_model_bytes(spec, opset: int) -> bytes:
    """The module as one ONNX Loop model (fp32), not verified."""
    import onnx

    form = loop_of(spec)
    step = onnx.load_from_string(step_model_bytes(spec, opset))
    finish = onnx.load_from_string(finish_model_bytes(spec, opset))
    model = join_loop(step, finish, form["schedule"].detach().cpu().numpy(), spec.input_names[0],
                      spec.output_names[0])
    return model.SerializeToString()


def export_loop_module(spec, path: str | Path, *, metadata: dict[str, str] | None = None, opset: int,
                       tol: float | None = None):
    """Like :func:`~studio.core.export.onnx_export.export_module`, as a Loop: verified against torch
    (the module's own ``forward``, which unrolls the steps) before it is written."""
    import onnx

    from studio.core.export.onnx_export import DEFAULT_TOL, ExportResult, save_verified, verify

    tol = DEFAULT_TOL if tol is None else tol
    t0 = time.perf_counter()
    spec.module.eval()
    data = loop_model_bytes(spec, opset)
    worst, checks = verify(data, spec, tol=tol)
    steps = len(loop_of(spec)["schedule"])
    size = save_verified(onnx.load_from_string(data), path, spec, exporter="legacy", opset=opset, tol=tol,
                         worst=worst, checks=checks, metadata=metadata,
                         extra={"studio.loop": f"ONNX Loop: the step stored once, run {steps} times"})
    return ExportResult(spec.name, str(path), "legacy", int(opset), size, worst, checks,
                        [f"exported as an ONNX Loop: the network stored once and run {steps} times"],
                        time.perf_counter() - t0)


def step_calibration(step_fp32: bytes | str | Path, schedule: np.ndarray, calibration):
    """The step graph's inputs at every step of every calibration draw (the fp32 step run in turn)."""
    from studio.core.export.onnx_calibration import Calibration
    from studio.core.export.sessions import create_session

    session = create_session(step_fp32, intra_threads=1)
    schedule = np.ascontiguousarray(schedule, dtype=np.float32)
    batches = []
    for feeds in calibration:
        x = next(iter(feeds.values()))
        for row in schedule:
            batches.append({"x": x, SCHEDULE_INPUT: row})
            x = session.run(None, {"x": x, SCHEDULE_INPUT: row})[0]
    return Calibration(batches, f"{calibration.source}, run through all {len(schedule)} steps",
                       calibration.count, list(calibration.notes))
