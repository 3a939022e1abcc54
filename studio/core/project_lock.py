"""``project.lock``: which process has a project open, so a crash is told apart from a second instance.

The lock file holds the pid, the host, the user and the process start time.
On open, a lock whose process is gone (or whose pid now belongs to another,
newer process) is *stale*: the studio crashed with the project open. A lock
whose process still runs is a second instance, refused politely. A lock from
another machine (a project on a network share) cannot be checked and is
refused unless the user says to open anyway.
"""
from __future__ import annotations

import getpass
import json
import math
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from studio.core.fileio import read_small_file
from studio.core.project_schema import ProjectError

LOCK_FILE = "project.lock"
_MAX_LOCK_BYTES = 4096
_HELD: set[str] = set()  # folders locked by this process (a second window here is refused too)


@dataclass
class LockInfo:
    pid: int
    hostname: str
    user: str = ""
    started: float = 0.0
    proc_start: str | None = None  # /proc start time: detects a pid reused by another process

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started)) if self.started else "an unknown time"
        who = f" by {self.user}" if self.user else ""
        return f"process {self.pid} on {self.hostname}{who}, since {when}"


class ProjectLockedError(ProjectError):
    """The project is open in another running studio; ``info`` says which, ``foreign`` if on another host."""

    def __init__(self, message: str, info: LockInfo | None, foreign: bool = False):
        super().__init__(message)
        self.info = info
        self.foreign = foreign


def _hostname() -> str:
    return socket.gethostname() or "this computer"


def process_start_time(pid: int) -> str | None:
    """Kernel start time of ``pid`` (Linux /proc), or None where unavailable."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22, counted after the ")" that ends the (possibly spaced) command name.
    fields = raw[raw.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    if os.name == "posix":
        # A zombie has exited; its parent just has not reaped it yet.
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat[stat.rfind(")") + 2:].startswith("Z"):
                return False
        except OSError:
            pass
    return True


def read_lock(folder: Path) -> LockInfo | None:
    """The lock's content, or None when the file is missing, unreadable or garbage."""
    return read_lock_file(Path(folder) / LOCK_FILE)


def read_lock_file(path: Path) -> LockInfo | None:
    """A lock file's content (project or run lock), or None when missing, not a regular file, or garbage."""
    try:
        # The guarded reader: a FIFO or /dev/zero link named like a lock is refused, never waited on.
        d = json.loads(read_small_file(path, _MAX_LOCK_BYTES, what="lock file").decode("utf-8"))
        pid = d["pid"]
        if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid < 2**31:
            return None
        started = d.get("started", 0.0)
        started = float(started) if isinstance(started, (int, float)) and not isinstance(started, bool) else 0.0
        if not (math.isfinite(started) and 0 <= started < 2**33):
            started = 0.0  # an absurd time would crash the message that shows it
        return LockInfo(pid=pid, hostname=str(d.get("hostname", ""))[:255], user=str(d.get("user", ""))[:255],
                        started=started, proc_start=d.get("proc_start") and str(d["proc_start"])[:64])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OverflowError):
        return None


def lock_state(folder: Path, info: LockInfo | None, lock_file: str = LOCK_FILE) -> str:
    """'stale' (crash or garbage), 'alive' (another running studio, or this one) or 'foreign' (other host)."""
    if info is None:
        return "stale"
    if info.hostname != _hostname():
        return "foreign"
    if info.pid == os.getpid():
        return "alive" if str((Path(folder) / lock_file).resolve()) in _HELD else "stale"
    if not pid_alive(info.pid):
        return "stale"
    now = process_start_time(info.pid)
    if info.proc_start and now and now != info.proc_start:
        return "stale"  # the pid was recycled by an unrelated process
    return "alive"


class ProjectLock:
    """Holds ``project.lock`` for one open project (``run_lock.RunLock`` reuses it for run folders)."""

    FILE = LOCK_FILE

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / self.FILE
        self.held = False

    def acquire(self, force: bool = False) -> LockInfo | None:
        """Take the lock. Returns the stale lock found (the previous session crashed), else None.

        Raises :class:`ProjectLockedError` when another running studio holds it.
        """
        stale: LockInfo | None = None
        for _ in range(5):
            if self._create():
                self.held = True
                _HELD.add(str(self.path.resolve()))
                return stale
            info = read_lock_file(self.path)
            state = lock_state(self.folder, info, self.FILE)
            if state == "alive":
                raise ProjectLockedError(self._refusal(info), info)
            if state == "foreign" and not force:
                raise ProjectLockedError(self._foreign_refusal(info), info, foreign=True)
            stale = info or LockInfo(pid=0, hostname="unknown")
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise ProjectError(f"{self.path} could not be replaced: {exc.strerror or exc}") from exc
        raise ProjectError(f"{self.path} keeps changing; another program is opening this project right now")

    def _foreign_refusal(self, info: LockInfo) -> str:
        return (f"“{self.folder.name}” is marked open by {info.describe()}. If that studio is no longer "
                "running, open the project anyway.")

    def _refusal(self, info: LockInfo | None) -> str:
        if info is not None and info.pid == os.getpid():
            return f"“{self.folder.name}” is already open in this window."
        return (f"“{self.folder.name}” is already open in another Generative Studio ({info.describe()}). "
                "Switch to that window to work on it: a project is open in one studio at a time, "
                "so that neither overwrites the other's changes.")

    def _create(self) -> bool:
        me = LockInfo(pid=os.getpid(), hostname=_hostname(), user=_user(), started=time.time(),
                      proc_start=process_start_time(os.getpid()))
        payload = json.dumps(asdict(me)).encode("utf-8")
        tmp = self.folder / f".{self.FILE}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, self.path)  # atomic and never half-written: fails if the lock exists
                return True
            except FileExistsError:
                return False
            except OSError:
                return self._create_exclusive(payload)  # file systems without hard links
        except OSError as exc:
            raise ProjectError(f"could not write {self.path}: {exc.strerror or exc}") from exc
        finally:
            try:
                tmp.unlink()
            except OSError:
                pass

    def _create_exclusive(self, payload: bytes) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        return True

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        _HELD.discard(str(self.path.resolve()))
        info = read_lock_file(self.path)
        if info is None or (info.pid == os.getpid() and info.hostname == _hostname()):
            try:
                self.path.unlink()
            except OSError:
                pass


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return ""
