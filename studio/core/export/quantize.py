"""int8 dynamic quantisation of exported models (onnxruntime.quantization), measured against fp32.

Dynamic quantisation stores weights as int8 and quantises activations on the
fly, so it needs no calibration data. It pays off on MatMul/Gemm/LSTM-heavy
models; ConvTranspose is not quantised, so conv decoders shrink less.
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("studio.export")


@dataclass
class QuantReport:
    fp32_path: str
    int8_path: str
    fp32_bytes: int
    int8_bytes: int
    size_ratio: float        # int8 / fp32
    fp32_ms: float           # median latency on the comparison inputs
    int8_ms: float
    speedup: float           # fp32_ms / int8_ms
    max_abs_error: float     # int8 vs fp32 outputs
    mean_abs_error: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def quantize_int8(src: str | Path, dst: str | Path, *, per_channel: bool = False) -> Path:
    """Write an int8 dynamically quantised copy of ``src`` (metadata kept, quantisation recorded)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src, dst = Path(src), Path(dst)
    meta = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.stem}.", suffix=".onnx", dir=dst.parent)
    os.close(fd)
    try:
        source = str(src)
        try:  # shape inference + graph clean-up first, as onnxruntime recommends
            from onnxruntime.quantization.shape_inference import quant_pre_process
            quant_pre_process(str(src), tmp)
            source = tmp
        except Exception as exc:  # optional step; quantise the plain export instead
            log.info("quantisation pre-processing skipped for %s: %s", src, exc)
        quantize_dynamic(source, tmp, weight_type=QuantType.QInt8, per_channel=per_channel)
        model = onnx.load(tmp)
        meta["studio.quantization"] = "int8-dynamic" + ("-per-channel" if per_channel else "")
        onnx.helper.set_model_props(model, meta)
        from studio.core.fileio import atomic_write_bytes
        atomic_write_bytes(dst, model.SerializeToString())
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dst


def _median_ms(session, feeds: dict[str, np.ndarray], repeats: int) -> float:
    session.run(None, feeds)  # warm-up
    times = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


def compare(fp32: str | Path, int8: str | Path, feeds: dict[str, np.ndarray], *, repeats: int = 10,
            intra_threads: int | None = None) -> QuantReport:
    """Size, speed and output error of the int8 model against the fp32 one on ``feeds``."""
    from studio.core.export.sessions import create_session

    s32 = create_session(fp32, intra_threads=intra_threads)
    s8 = create_session(int8, intra_threads=intra_threads)
    a = s32.run(None, feeds)
    b = s8.run(None, feeds)
    diffs = [np.abs(x.astype(np.float32) - y.astype(np.float32)) for x, y in zip(a, b)]
    ms32, ms8 = _median_ms(s32, feeds, repeats), _median_ms(s8, feeds, repeats)
    n32, n8 = Path(fp32).stat().st_size, Path(int8).stat().st_size
    return QuantReport(str(fp32), str(int8), n32, n8, n8 / n32, ms32, ms8, ms32 / ms8 if ms8 else 0.0,
                       float(max(d.max() for d in diffs)), float(np.mean([d.mean() for d in diffs])))


def feeds_for(path: str | Path, batch: int = 8, seed: int = 0, int_high: int = 2) -> dict[str, np.ndarray]:
    """Random inputs for an ONNX model from its declared input shapes (dynamic dims -> ``batch`` / 8)."""
    from studio.core.export.sessions import create_session

    rng = np.random.default_rng(seed)
    feeds = {}
    for inp in create_session(path, intra_threads=1).get_inputs():
        shape = []
        for d in inp.shape:
            if isinstance(d, int):
                shape.append(d)
            else:
                shape.append(batch if "batch" in str(d).lower() else 8)
        if "int" in inp.type:
            feeds[inp.name] = rng.integers(0, int_high, size=shape).astype(np.int64)
        else:
            feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds
