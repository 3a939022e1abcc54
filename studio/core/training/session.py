"""What the engine (set-up) hands the loop and the loop hands back (no torch).

Kept apart from ``engine.py`` and ``loop.py`` so that the loop never imports the
engine that starts it: ``events``/``session`` < ``loop`` < ``engine`` (a contract
in ``pyproject.toml``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from studio.core.training.events import SUCCESS_STATES, RunStatus
from studio.core.training.run_folder import RunFolder

#: called with each training event (a dict, see ``events.py``); may raise :class:`StopTraining`
Hook = Callable[[dict], None]


class StopTraining(Exception):
    """Raised by a hook to stop gracefully (finish the step, checkpoint, status ``stopped``)."""


@dataclass
class TrainResult:
    run_dir: Path
    status: RunStatus                # one of events.FINISHED_STATES
    reason: str
    step: int
    metrics: dict[str, float] = field(default_factory=dict)
    checkpoint: Path | None = None   # the newest checkpoint on disk at the end

    @property
    def ok(self) -> bool:
        return self.status in SUCCESS_STATES


@dataclass
class Session:
    """Everything the loop needs, built by ``engine._setup``."""
    plugin: Any
    data: Any
    run: RunFolder
    model: Any
    config: Any
    engine: Any            # EngineSettings
    opt: Any               # EngineOptimizers
    precision: Any         # Precision
    device: str
    device_label: str
    dist: Any              # DistContext
    dist_initialized: bool
    data_gen: Any          # torch.Generator for training batches
    start_step: int
    max_steps: int | None
    max_minutes: float | None
    threads: int
    resumed_from: Path | None = None
    resuming: bool = False        # the folder held this run before (its later metrics are redone)
    best: dict[str, Any] | None = None
    active_seconds: float = 0.0   # training time of earlier sessions (from the checkpoint)
    warnings: list[str] = field(default_factory=list)
