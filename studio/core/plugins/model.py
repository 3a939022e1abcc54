"""The model side of the plugin contract (imports torch)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import nn


class Optimizers:
    """What a model's ``training_step`` uses to apply a loss to one parameter group.

    The engine provides the implementation (optimizer kind, learning-rate
    schedule, mixed precision, gradient clipping, NaN guard, DDP averaging);
    models only say *which* group a loss updates, so a GAN can update its
    discriminator and generator in the order it needs.
    """

    def step(self, group: str, loss: torch.Tensor) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def zero_grad(self, group: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class StudioModel(nn.Module):
    """Base class for a plugin's model. Subclasses set ``config`` and ``spec``.

    Required:
      * ``training_step(batch, opt) -> dict[str, float]`` - one optimisation step;
        returns the metrics to log (losses etc.). ``batch`` comes from
        ``studio.core.datasets.TrainingData.random_batch``: images float (N,C,H,W)
        in [0,1]; melodies long (N,L) events; text long (N,T+1) token windows.
      * ``sample(n, seed, **kw)`` - images: float (n,C,H,W) in [0,1];
        melodies: long (n,L) event tensors; text: list of str.
    Optional: ``param_groups``, ``validation_step``, ``evaluate``, ``preview``,
    and the capability methods (``decode``/``encode``/``generate``/``onnx_exports``).
    """

    #: For sequence models: the length of a training window (context + 1 tokens).
    sequence_length: int | None = None
    #: For ``latent`` models: the size of z.
    latent_dim: int = 0

    def __init__(self, config: Any, spec: Any):
        super().__init__()
        self.config = config
        self.spec = spec

    # -- training ---------------------------------------------------------
    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Named parameter groups, each with its own optimizer (``lr_scale`` below)."""
        return {"model": [p for p in self.parameters() if p.requires_grad]}

    def lr_scale(self, group: str) -> float:
        """Multiplier on the engine's learning rate per group (two-timescale GANs)."""
        return 1.0

    def training_step(self, batch: torch.Tensor, opt: Optimizers) -> dict[str, float]:
        raise NotImplementedError

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor) -> dict[str, float]:
        """Metrics on a held-out batch; keys should start with ``val_``."""
        return {}

    def after_step(self, step: int) -> None:
        """Called after each optimisation step (EMA updates and the like)."""

    # -- generation -------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, **kwargs: Any) -> Any:
        raise NotImplementedError

    @torch.no_grad()
    def preview(self, seed: int = 0) -> Any:
        """A small sample shown while training."""
        n = {"image": 16, "melody": 4}.get(self.spec.modality, 1)
        if self.spec.modality == "text":
            return self.sample(1, seed, length=200)
        return self.sample(n, seed)

    @torch.no_grad()
    def evaluate(self, batches: Iterator[torch.Tensor]) -> dict[str, float]:
        """Held-out figures in the model's natural unit (``studio eval``)."""
        totals: dict[str, float] = {}
        count = 0
        for batch in batches:
            for k, v in self.validation_step(batch).items():
                totals[k] = totals.get(k, 0.0) + float(v)
            count += 1
        return {k: v / max(count, 1) for k, v in totals.items()}

    # -- device -----------------------------------------------------------
    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")


def generator_for(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A seeded generator, so sampling is deterministic for a seed on a device."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed) & 0xFFFF_FFFF_FFFF)
    return g


#: models up to this size decode on one CPU thread (see :func:`small_model_decoding`)
SINGLE_THREAD_DECODE_PARAMS = 8_000_000


@contextmanager
def small_model_decoding(model: nn.Module) -> Iterator[None]:
    """Wrap token-by-token generation on the calling thread: a small model on the CPU runs it on one
    intra-op thread, and the thread count is put back afterwards.

    A step is ~20 tiny ops per layer. With more threads, every op that opens an OpenMP region
    (attention, GELU) waits at a barrier for the whole team, which costs far more than the op
    itself, and 10-40x more when other work (a training, the window) keeps the cores busy:
    profiled on 2 busy cores, scaled_dot_product_attention took 0.6-10 ms a call with 2
    threads and 10 us with one. ``studio generate`` and the Text panel both use this, so a model
    runs at the same speed in both.
    """
    params = list(model.parameters())
    before = torch.get_num_threads()
    small = sum(p.numel() for p in params) <= SINGLE_THREAD_DECODE_PARAMS
    on_cpu = not params or params[0].device.type == "cpu"
    switch = small and before > 1 and on_cpu
    if switch:  # also the default of threads that first touch torch meanwhile; restored below
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if switch:
            torch.set_num_threads(before)
