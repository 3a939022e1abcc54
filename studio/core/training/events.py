"""Run status and training events: the words ``run.json``, hooks and front ends share (no torch).

``RunStatus`` is what ``run.json`` records as ``status`` (stable format). Its
members are ``str``s, so ``json`` writes them as the bare words it always wrote
and a status read back from a file (a plain ``str``) compares equal to, and is
found in the sets below, without conversion.

Events are plain dicts (hooks take one dict; ``studio train --json`` prints them
as JSON lines); each kind has a ``TypedDict`` below naming its fields, and
``EVENT_TYPES`` maps a kind to it. Rank 0 alone emits events.
"""
from __future__ import annotations

from enum import Enum
from typing import TypedDict, Union


class RunStatus(str, Enum):
    CREATED = "created"   # folder claimed, training not begun yet
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"         # reached its step or time bound, or stopped early by validation
    STOPPED = "stopped"   # stopped on request (control.json, a signal, a hook)
    FAILED = "failed"     # an error, or the trainer process vanished

    # The value in str() and f-strings on every Python (3.11+ would print "RunStatus.DONE").
    __str__ = str.__str__
    __format__ = str.__format__


#: a trainer process holds the folder (unless it vanished: see ``run_folder.effective_status``)
LIVE_STATES = frozenset({RunStatus.RUNNING, RunStatus.PAUSED})
#: not ended yet: a parent may still record a failure for a trainer that died
ACTIVE_STATES = frozenset({RunStatus.CREATED, *LIVE_STATES})
#: the trainer wrote its outcome; nothing changes until the run is resumed
FINISHED_STATES = frozenset({RunStatus.DONE, RunStatus.STOPPED, RunStatus.FAILED})
#: ended as asked (``TrainResult.ok``, exit code 0)
SUCCESS_STATES = frozenset({RunStatus.DONE, RunStatus.STOPPED})
#: no trainer holds the folder: training can start (again) there (``--resume``)
STARTABLE_STATES = frozenset({RunStatus.CREATED, *FINISHED_STATES})


class EventKind(str, Enum):
    START = "start"
    STEP = "step"
    VALIDATION = "validation"
    CHECKPOINT = "checkpoint"
    SAMPLE = "sample"
    STATUS = "status"
    LR = "lr"
    WARNING = "warning"
    ERROR = "error"
    END = "end"

    __str__ = str.__str__
    __format__ = str.__format__


class StartEvent(TypedDict):
    event: EventKind
    run_dir: str
    run_id: str
    plugin: str
    step: int                       # the last completed step (a resumed run's checkpoint step)
    max_steps: int | None
    max_minutes: float | None
    device: str
    device_name: str
    precision: str
    threads: int
    world_size: int
    resumed_from: str | None        # the checkpoint a resumed run continues from


class StepEvent(TypedDict):
    event: EventKind
    step: int
    max_steps: int | None
    metrics: dict[str, float]
    lr: float
    steps_per_s: float
    eta_s: float | None
    elapsed_s: float                # training time of this session, pauses excluded


class ValidationEvent(TypedDict):
    event: EventKind
    step: int
    metrics: dict[str, float]
    best: bool


class CheckpointEvent(TypedDict):
    event: EventKind
    step: int
    path: str
    best: bool


class SampleEvent(TypedDict):
    event: EventKind
    step: int
    kind: str                       # "image" | "melody" | "text"
    path: str


class StatusEvent(TypedDict):
    event: EventKind
    status: RunStatus               # PAUSED or RUNNING (the outcome comes in "end")
    step: int


class LrEvent(TypedDict):
    event: EventKind
    lr: float
    step: int


class WarningEvent(TypedDict):
    event: EventKind
    message: str


class ErrorEvent(TypedDict):
    """The run failed with an exception (sent once ``run.json`` says failed, before "end"), or
    ``studio train`` could not start it (``step`` None; no "end" follows)."""
    event: EventKind
    message: str                    # the failure in words (the run's ``reason`` once it trained)
    step: int | None                # the step in progress when it failed
    error: str                      # the exception's type name


class EndEvent(TypedDict):
    event: EventKind
    status: RunStatus               # one of FINISHED_STATES
    reason: str
    step: int
    checkpoint: str | None          # the newest checkpoint on disk


TrainingEvent = Union[StartEvent, StepEvent, ValidationEvent, CheckpointEvent, SampleEvent, StatusEvent,
                      LrEvent, WarningEvent, ErrorEvent, EndEvent]

EVENT_TYPES: dict[EventKind, type] = {
    EventKind.START: StartEvent, EventKind.STEP: StepEvent, EventKind.VALIDATION: ValidationEvent,
    EventKind.CHECKPOINT: CheckpointEvent, EventKind.SAMPLE: SampleEvent, EventKind.STATUS: StatusEvent,
    EventKind.LR: LrEvent, EventKind.WARNING: WarningEvent, EventKind.ERROR: ErrorEvent, EventKind.END: EndEvent,
}


def error_event(message: str, exc: BaseException | None, step: int | None = None) -> ErrorEvent:
    return ErrorEvent(event=EventKind.ERROR, message=message, step=step,
                      error=type(exc).__name__ if exc is not None else "")
