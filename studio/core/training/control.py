"""The control channel: ``control.json`` written by a front end, polled by the trainer each step.

Format (stable): ``{"seq": n, "command": "pause"|"resume"|"stop"|null, "lr": float|null}``.
Each write increments ``seq``; the trainer acts on a seq it has not seen yet.
Polling costs one ``stat`` per step: the file is only read when it changed.
Killing is not a control command: a front end kills the process (see ``process.py``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from studio.core.fileio import atomic_write_json, read_json

COMMANDS = ("pause", "resume", "stop")


@dataclass(frozen=True)
class ControlMessage:
    seq: int
    command: str | None
    lr: float | None


def read_control(path: str | Path) -> ControlMessage | None:
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return None  # absent, or caught between writes on a filesystem without atomic rename
    if not isinstance(data, dict):
        return None
    try:
        seq = int(data.get("seq", 0))
        lr = data.get("lr")
        lr = float(lr) if lr is not None else None
    except (TypeError, ValueError):
        return None
    command = data.get("command")
    return ControlMessage(seq, command if command in COMMANDS else None, lr)


def current_seq(path: str | Path) -> int:
    msg = read_control(path)
    return msg.seq if msg else 0


def send_control(path: str | Path, command: str | None = None, lr: float | None = None) -> int:
    """Write a command and/or a new learning rate; returns the new seq. ``path``: the file or the run folder."""
    path = Path(path)
    if path.is_dir():
        path = path / "control.json"
    if command is not None and command not in COMMANDS:
        raise ValueError(f"control command {command!r} is not one of {', '.join(COMMANDS)}")
    if lr is not None and not (float(lr) > 0 and float(lr) < float("inf")):
        raise ValueError(f"learning rate {lr!r} must be a positive number")
    seq = current_seq(path) + 1
    atomic_write_json(path, {"seq": seq, "command": command, "lr": float(lr) if lr is not None else None})
    return seq


class ControlPoller:
    """Trainer side: ``poll()`` returns a message not seen before, else ``None``."""

    def __init__(self, path: str | Path, after_seq: int | None = None):
        self.path = Path(path)
        # Commands written before the trainer started belong to an earlier session, unless
        # the launcher says from which seq on they are meant for us (``after_seq``).
        self.seen = current_seq(self.path) if after_seq is None else int(after_seq)
        self._stamp: tuple[int, int, int] | None = None

    def poll(self) -> ControlMessage | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)  # atomic rename: new inode
        if stamp == self._stamp:
            return None
        msg = read_control(self.path)
        if msg is None:
            return None  # unreadable right now; retry next step
        self._stamp = stamp
        if msg.seq <= self.seen:
            return None
        self.seen = msg.seq
        return msg
