"""Accelerator detection and choice, in one place (Lightning style).

``auto`` picks the best available: CUDA (NVIDIA, or AMD through a ROCm build),
then Intel XPU, then Apple MPS, then CPU. An explicit choice that is not
available fails with the list of what is.
"""
from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Accelerator:
    id: str            # "cpu", "cuda:0", "mps", "xpu:0"
    kind: str          # "cpu" | "cuda" | "rocm" | "mps" | "xpu"
    name: str
    memory_bytes: int = 0
    capability: str = ""
    bf16: bool = False

    @property
    def label(self) -> str:
        mem = f", {self.memory_bytes / 2**30:.1f} GiB" if self.memory_bytes else ""
        return f"{self.name} ({self.id}{mem})"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["label"] = self.label
        return d


class DeviceUnavailable(ValueError):
    pass


def _cpu_name() -> str:
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"CPU: {name}, {os.cpu_count() or 1} cores"


def detect() -> list[Accelerator]:
    """Every accelerator torch can use here; CPU is always the last entry."""
    import torch

    found: list[Accelerator] = []
    try:
        if torch.cuda.is_available():
            rocm = getattr(torch.version, "hip", None) is not None
            for i in range(torch.cuda.device_count()):
                props = torch.cuda.get_device_properties(i)
                cap = getattr(props, "gcnArchName", "") if rocm else f"{props.major}.{props.minor}"
                found.append(Accelerator(
                    id=f"cuda:{i}", kind="rocm" if rocm else "cuda", name=props.name,
                    memory_bytes=int(props.total_memory), capability=str(cap),
                    bf16=bool(torch.cuda.is_bf16_supported()) if i == 0 else False))
    except Exception:  # a broken driver must not stop the studio
        pass
    try:
        xpu = getattr(torch, "xpu", None)
        if xpu is not None and xpu.is_available():
            for i in range(xpu.device_count()):
                props = xpu.get_device_properties(i)
                found.append(Accelerator(id=f"xpu:{i}", kind="xpu", name=props.name,
                                         memory_bytes=int(getattr(props, "total_memory", 0))))
    except Exception:
        pass
    try:
        if torch.backends.mps.is_available():
            found.append(Accelerator(id="mps", kind="mps", name="Apple GPU (Metal)"))
    except Exception:
        pass
    found.append(Accelerator(id="cpu", kind="cpu", name=_cpu_name()))
    return found


def choose(requested: str = "auto", available: list[Accelerator] | None = None) -> Accelerator:
    """Resolve ``auto``/``cpu``/``cuda``/``cuda:1``/``mps``/``xpu`` to one accelerator."""
    available = available if available is not None else detect()
    req = (requested or "auto").strip().lower()
    if req == "auto":
        return available[0]
    for acc in available:
        if req == acc.id or (":" not in req and (req == acc.kind or (req == "cuda" and acc.kind == "rocm"))):
            return acc
    names = ", ".join(a.id for a in available)
    raise DeviceUnavailable(f"device {requested!r} is not available here; available: {names}")


def training_threads(reserve_for_ui: bool) -> int:
    """Intra-op threads for training: leave one core's share to the UI when it runs beside us."""
    cores = os.cpu_count() or 1
    return max(1, cores - 1) if reserve_for_ui and cores > 1 else cores
