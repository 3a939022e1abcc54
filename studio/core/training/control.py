"""The control channel: ``control.json`` written by a front end, polled by the trainer each step.

Format (stable, only extended): ``{"seq": n, "command": "pause"|"resume"|"stop"|null,
"lr": float|null, "lr_seq": m}``. A command and a learning rate are two separate fields, each
with the sequence number of its last write (``seq`` for the command, ``lr_seq`` for the rate),
drawn from one counter: every write takes ``max(seq, lr_seq) + 1``. So a command sent right after
a new rate leaves the rate in the file, and the trainer applies both. A file without ``lr_seq``
(older writers) means the rate belongs to ``seq``.
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
    """``command`` / ``lr`` are ``None`` when that field holds nothing new (:class:`ControlPoller`)."""
    seq: int
    command: str | None
    lr: float | None
    lr_seq: int = 0

    @property
    def latest(self) -> int:
        """The newest sequence number in the file (either field)."""
        return max(self.seq, self.lr_seq)


def read_control(path: str | Path) -> ControlMessage | None:
    try:  # the guarded reader: a FIFO or /dev/zero link named control.json is refused, never waited on
        data = read_json(path, max_bytes=MAX_CONTROL_BYTES, what="control file")
    except (OSError, ValueError):
        return None  # absent, or caught between writes on a filesystem without atomic rename
    if not isinstance(data, dict):
        return None
    # Type-confused values (``"seq": Infinity``, a string, a list) make the message unreadable, not
    # the trainer crash: int(inf) once raised OverflowError inside the training loop.
    seq = _count(data.get("seq", 0))
    lr = data.get("lr")
    if lr is not None:
        lr = float(lr) if _is_number(lr) and 0 < float(lr) < float("inf") else None
        if lr is None:
            return None
    lr_seq = _count(data["lr_seq"]) if data.get("lr_seq") is not None else (seq if lr is not None else 0)
    if seq is None or lr_seq is None:
        return None
    command = data.get("command")
    return ControlMessage(seq, command if isinstance(command, str) and command in COMMANDS else None, lr, lr_seq)


MAX_CONTROL_BYTES = 64 * 1024


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _count(v) -> int | None:
    """A sequence number: a non-negative integer below 2**53 (JSON's exact range), else None."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 2**53:
        return None
    return v


def current_seq(path: str | Path) -> int:
    """The newest sequence number written (command or learning rate); 0 without a file."""
    msg = read_control(path)
    return msg.latest if msg else 0


def send_control(path: str | Path, command: str | None = None, lr: float | None = None) -> int:
    """Write a command and/or a new learning rate; returns the new seq. ``path``: the file or the run folder.

    The other field is kept as it was (with its old sequence number), so neither replaces the other.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "control.json"
    if command is not None and command not in COMMANDS:
        raise ValueError(f"control command {command!r} is not one of {', '.join(COMMANDS)}")
    if lr is not None and not (float(lr) > 0 and float(lr) < float("inf")):
        raise ValueError(f"learning rate {lr!r} must be a positive number")
    old = read_control(path) or ControlMessage(0, None, None, 0)
    seq = old.latest + 1
    data = {"seq": old.seq, "command": old.command, "lr": old.lr, "lr_seq": old.lr_seq}
    if command is not None or lr is None:
        data.update(seq=seq, command=command)
    if lr is not None:
        data.update(lr=float(lr), lr_seq=seq)
    atomic_write_json(path, data)
    return seq


class ControlPoller:
    """Trainer side: ``poll()`` returns what is new since the last look (command, rate or both), else ``None``."""

    def __init__(self, path: str | Path, after_seq: int | None = None):
        self.path = Path(path)
        # Commands written before the trainer started belong to an earlier session, unless
        # the launcher says from which seq on they are meant for us (``after_seq``).
        self.seen = current_seq(self.path) if after_seq is None else int(after_seq)
        self.seen_lr = self.seen
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
        new_command = msg.seq > self.seen
        new_lr = msg.lr is not None and msg.lr_seq > self.seen_lr
        self.seen = max(self.seen, msg.seq)
        self.seen_lr = max(self.seen_lr, msg.lr_seq)
        if not (new_command or new_lr):
            return None
        # ``seq`` of a polled message: the newest number in the file (what the trainer has now seen).
        return ControlMessage(msg.latest, msg.command if new_command else None, msg.lr if new_lr else None,
                              msg.lr_seq)
