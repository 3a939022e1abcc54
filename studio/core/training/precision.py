"""Mixed precision, chosen once per run: bf16 autocast where the GPU supports it, else fp16 with loss scaling.

CPU trains in fp32 under ``auto`` (autocast on CPU is slower than fp32 for the
small models the studio trains); ``bf16`` may still be asked for explicitly.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any


class PrecisionError(ValueError):
    pass


@dataclass
class Precision:
    name: str              # "fp32" | "bf16" | "fp16"
    device_type: str       # "cpu" | "cuda" | "mps" | "xpu"
    dtype: Any = None      # torch dtype for autocast, None for fp32
    scaler: Any = None     # torch.amp.GradScaler for fp16

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        import torch
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)


#: Below this many parameters a model is bound by kernel launches, not arithmetic: autocast's extra
#: casts make it slower (a 1.5 M-parameter VAE on an H100 trained at 0.44x its fp32 speed in bf16).
AUTOCAST_MIN_PARAMS = 10_000_000


def choose_precision(requested: str, device: str, bf16_supported: bool | None = None,
                     num_params: int | None = None) -> Precision:
    """Resolve ``auto|fp32|bf16|fp16`` for a torch device string (``cpu``, ``cuda:0``, ...).

    ``auto``: fp32 on CPU/MPS and for small models (``num_params`` below ``AUTOCAST_MIN_PARAMS``);
    otherwise bf16 autocast where the GPU supports it, else fp16 with a loss scaler.
    """
    import torch

    kind = torch.device(device).type
    req = (requested or "auto").lower()
    if kind == "cuda" and bf16_supported is None:
        bf16_supported = bool(torch.cuda.is_bf16_supported())
    if req == "auto":
        small = num_params is not None and num_params < AUTOCAST_MIN_PARAMS
        if kind == "cuda" and not small:
            req = "bf16" if bf16_supported else "fp16"
        else:
            req = "fp32"
    if req == "fp32":
        return Precision("fp32", kind)
    if req == "bf16":
        if kind == "cuda" and not bf16_supported:
            raise PrecisionError(f"this GPU ({device}) does not support bf16; use precision=fp16 or fp32")
        if kind not in ("cuda", "cpu", "xpu"):
            raise PrecisionError(f"bf16 autocast is not available on {kind}; use precision=fp32")
        return Precision("bf16", kind, torch.bfloat16)
    if req == "fp16":
        if kind != "cuda":
            raise PrecisionError(f"fp16 training needs a CUDA GPU (device is {device}); use precision=fp32")
        return Precision("fp16", kind, torch.float16, torch.amp.GradScaler("cuda"))
    raise PrecisionError(f"precision {requested!r} is not one of auto, fp32, bf16, fp16")
