"""Gradient averaging across the processes of a DDP run, without the plugin knowing.

Plugins compute their losses by calling their own sub-networks, never through a wrapper's
``forward``, and a GAN updates several parameter groups in turn (discriminator, then
generator with the discriminator frozen). So the engine does not wrap the plugin's model:
it gives each parameter group its own :class:`torch.nn.parallel.DistributedDataParallel`
over a container holding that group's parameters (the same ``Parameter`` objects), whose
``forward`` is the identity. ``EngineOptimizers.step`` passes the group's loss through it
just before ``backward``: DDP then prepares its reducer for exactly that backward, and its
autograd hooks all-reduce the group's gradients in ~25 MB buckets while backward is still
running (bucketed, overlapped), averaged over the processes.

Why per group: the generator's backward also flows through the discriminator; only the
group being updated is synchronised. ``find_unused_parameters=True`` because a group's loss
need not reach every parameter of the group at every step (lazy R1 penalties, frozen parts,
tied or conditional layers): DDP walks the loss graph once per update and marks the others
ready (the walk is cheap next to a backward). The plugin's model stays unwrapped, so its
``state_dict`` names, and the checkpoints, are those of a one-process run.

``per_tensor_all_reduce`` is the previous method (one blocking all-reduce per tensor after
backward); it stays for ``benchmarks/ddp_speed.py`` only.
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

SYNC_METHODS = ("ddp", "per-tensor")


class _GroupParams(nn.Module):
    """A parameter group as a module (DDP needs one); its forward hands the loss straight back."""

    def __init__(self, params: list[nn.Parameter]):
        super().__init__()
        self.group = nn.ParameterList(params)  # the same Parameter objects: no copy, no new names

    def forward(self, loss: torch.Tensor) -> torch.Tensor:
        return loss


class GroupSync:
    """DDP for one parameter group: ``loss = sync.before_backward(loss); loss.backward()``."""

    def __init__(self, params: list[nn.Parameter]):
        from torch.nn.parallel import DistributedDataParallel

        self.container = _GroupParams(params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "find_unused_parameters=True ... no unused": expected here
            # init_sync=False: the engine already broadcast rank 0's model (buffers included)
            self.ddp = DistributedDataParallel(self.container, device_ids=None, broadcast_buffers=False,
                                               init_sync=False, find_unused_parameters=True)

    def before_backward(self, loss: torch.Tensor) -> torch.Tensor:
        # Through DDP's forward: the reducer learns which of the group's parameters the loss reaches
        # and arms its hooks for this one backward.
        return self.ddp(loss)


def make_group_syncs(groups: dict[str, list[nn.Parameter]], world_size: int, method: str) -> dict[str, GroupSync]:
    if method not in SYNC_METHODS:
        raise ValueError(f"gradient sync {method!r} is not one of {', '.join(SYNC_METHODS)}")
    if world_size <= 1 or method != "ddp":
        return {}
    return {name: GroupSync(params) for name, params in groups.items()}


def per_tensor_all_reduce(params: list[nn.Parameter], world_size: int) -> None:
    """The method DDP replaced: one blocking all-reduce per gradient tensor, after backward."""
    import torch.distributed as dist

    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad.div_(world_size)
