"""onnxruntime sessions for the studio's interactive generation (latent grid, melody and text previews).

Configured so they never fight the trainer for the CPU: thread pools do not
spin while idle (``session.intra_op.allow_spinning`` = 0 and the inter-op
equivalent) and intra-op threads are bounded (half the cores, at most 4).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

MAX_INTRA_THREADS = 4


def default_intra_threads() -> int:
    return max(1, min(MAX_INTRA_THREADS, (os.cpu_count() or 2) // 2))


def session_options(intra_threads: int | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(intra_threads or default_intra_threads())
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    opts.log_severity_level = 3  # errors only: shape-annotation warnings are noise to a user
    return opts


def create_session(model: str | Path | bytes, *, intra_threads: int | None = None,
                   providers: list[str] | None = None):
    """An ``InferenceSession`` on the CPU (or the given providers) with the studio's thread settings."""
    import onnxruntime as ort

    source = model if isinstance(model, (bytes, bytearray)) else str(model)
    if not isinstance(model, (bytes, bytearray)) and not Path(model).is_file():
        raise FileNotFoundError(f"{model}: ONNX model not found")
    try:
        return ort.InferenceSession(source, sess_options=session_options(intra_threads),
                                    providers=providers or ["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types
        name = "<bytes>" if isinstance(model, (bytes, bytearray)) else str(model)
        raise ValueError(f"{name}: onnxruntime cannot load this model ({str(exc).splitlines()[0][:300]})") from exc


class OnnxRunner:
    """A loaded ONNX generator: ``runner(z=array)`` -> dict of output arrays, plus its studio metadata."""

    def __init__(self, model: str | Path | bytes, *, intra_threads: int | None = None):
        self.session = create_session(model, intra_threads=intra_threads)
        meta = self.session.get_modelmeta()
        self.metadata: dict[str, str] = dict(meta.custom_metadata_map or {})
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def __call__(self, **feeds: Any) -> dict[str, np.ndarray]:
        missing = [n for n in self.input_names if n not in feeds]
        if missing:
            raise ValueError(f"missing ONNX input(s) {', '.join(missing)}; the model takes {', '.join(self.input_names)}")
        arrays = {n: np.ascontiguousarray(np.asarray(feeds[n])) for n in self.input_names}
        return dict(zip(self.output_names, self.session.run(None, arrays)))
