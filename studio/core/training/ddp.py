"""Several processes (``torchrun --nproc_per_node=N -m studio train ...``): DDP helpers.

torchrun sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``; the engine reads them
here. Backend: NCCL on CUDA/ROCm GPUs, gloo elsewhere. Gradients are averaged
by ``EngineOptimizers`` through one ``DistributedDataParallel`` per parameter group
(bucketed, overlapped with backward: ``grad_sync.py``), so any plugin that calls
``opt.step(group, loss)`` works unchanged and its model stays unwrapped. Rank 0 alone
writes the run folder; it also decides, each step, whether to pause/stop and
which learning rate to use, and broadcasts that decision (:func:`agree`), so
every process stops at the same step. ``batch_size`` is per process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env(env: dict[str, str] | None = None) -> DistContext:
    env = os.environ if env is None else env
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise ValueError(f"RANK/WORLD_SIZE/LOCAL_RANK must be integers ({exc})") from exc
    return DistContext(rank=rank, world_size=max(world, 1), local_rank=local)


def backend_for(device_kind: str) -> str:
    return "nccl" if device_kind in ("cuda", "rocm") else "gloo"


def init(ctx: DistContext, device_kind: str, init_method: str | None = None) -> DistContext:
    """Join the process group (no-op for one process). Returns the context with its backend."""
    if not ctx.enabled:
        return ctx
    import torch.distributed as dist

    backend = backend_for(device_kind)
    if not dist.is_initialized():
        dist.init_process_group(backend, init_method=init_method or "env://", rank=ctx.rank,
                                world_size=ctx.world_size, timeout=timedelta(minutes=10))
    return DistContext(ctx.rank, ctx.world_size, ctx.local_rank, backend)


def device_for(ctx: DistContext, accelerator_id: str) -> str:
    """One GPU per process: ``cuda:<local_rank>`` under DDP on CUDA, else the chosen device."""
    if ctx.enabled and accelerator_id.startswith("cuda"):
        return f"cuda:{ctx.local_rank}"
    return accelerator_id


def broadcast_module(model, src: int = 0) -> None:
    """Make every process start from rank 0's parameters and buffers."""
    import torch.distributed as dist

    for t in list(model.parameters()) + list(model.buffers()):
        dist.broadcast(t.data, src)


def agree(values: list[float], device="cpu", src: int = 0) -> list[float]:
    """Rank ``src``'s ``values`` on every process (one small broadcast)."""
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.broadcast(t, src)
    return t.tolist()


def barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def shutdown(wait_for_peers: bool = True) -> None:
    """Leave the process group. After a normal end, wait for the others first: a rank that tears
    gloo down while a peer still writes its last checkpoint can abort at exit."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if wait_for_peers:
            dist.barrier()
        dist.destroy_process_group()
