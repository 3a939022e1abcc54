"""``run.lock``: one trainer per run folder at a time.

Two ``studio train --out X`` (or two ``--resume``) writing one folder would mix
the checkpoints of two runs and log every step twice. The trainer (rank 0
under torchrun) holds ``run.lock`` in the run folder for as long as it trains,
paused included. The lock is the project lock's (``project_lock``): pid, host,
user and process start time, so a lock left by a trainer that was killed is
*stale* and taken over silently, while one whose trainer still runs refuses the
second trainer with the name of the run and of the process that holds it.

Front ends ask :func:`trained_by` whether another process is training a run
(to show it as such and not offer Train/Resume on it).
"""
from __future__ import annotations

import os
from pathlib import Path

from studio.core.project_lock import LockInfo, ProjectLock, ProjectLockedError, lock_state, read_lock_file
from studio.core.project_schema import ProjectError
from studio.core.training.run_folder import RunFolderError

RUN_LOCK_FILE = "run.lock"


class RunBusyError(RunFolderError):
    """Another live process trains this run; ``info`` says which (pid, host, user, since when)."""

    def __init__(self, message: str, info: LockInfo | None):
        super().__init__(message)
        self.info = info


class RunLock(ProjectLock):
    """Holds ``run.lock`` of one run folder while this process trains it."""

    FILE = RUN_LOCK_FILE

    def __init__(self, folder: str | Path):
        super().__init__(folder)
        self.created_folder = False

    def acquire(self, force: bool = False) -> LockInfo | None:
        """Take the lock (creating the run folder if needed); returns the stale lock taken over, if any.

        Raises :class:`RunBusyError` when another running trainer holds it, ``RunFolderError`` when the
        folder cannot hold a lock (a file is in the way, no permission).
        """
        if self.folder.exists() and not self.folder.is_dir():
            raise RunFolderError(f"{self.folder} is a file, not a run folder")
        if self.folder.is_symlink() and not self.folder.is_dir():
            raise RunFolderError(f"{self.folder} is a link to nothing; choose another run folder")
        try:
            if not self.folder.exists():
                self.folder.mkdir(parents=True)
                self.created_folder = True
        except OSError as exc:
            raise RunFolderError(f"could not create the run folder {self.folder}: {exc.strerror or exc}") from exc
        try:
            return super().acquire(force=force)
        except ProjectLockedError as exc:
            self._drop_created_folder()
            raise RunBusyError(str(exc), exc.info) from None
        except ProjectError as exc:
            self._drop_created_folder()
            raise RunFolderError(str(exc)) from None

    def release(self) -> None:
        super().release()
        self._drop_created_folder()

    def _drop_created_folder(self) -> None:
        """A run that never started leaves no empty folder behind (only one this lock created)."""
        if self.created_folder:
            try:
                self.folder.rmdir()  # fails, as it should, once the run wrote anything
            except OSError:
                pass
            self.created_folder = False

    def _refusal(self, info: LockInfo | None) -> str:
        if info is not None and info.pid == os.getpid():
            return f"run “{self.folder.name}” ({self.folder}) is already being trained by this process"
        return (f"run “{self.folder.name}” ({self.folder}) is being trained right now by {info.describe()}; "
                "stop that trainer (or wait for it to finish) first: two trainers in one run folder would "
                "mix their checkpoints")

    def _foreign_refusal(self, info: LockInfo) -> str:
        return (f"run “{self.folder.name}” ({self.folder}) is marked as being trained by {info.describe()}, "
                f"another computer, which cannot be checked from here; if that trainer no longer runs, "
                f"delete {self.path} and start again")


def trained_by(folder: str | Path, ignore_pids: tuple[int, ...] = ()) -> LockInfo | None:
    """The live process training the run in ``folder`` (from its ``run.lock``), else None.

    A stale lock (its trainer was killed) counts as none. A lock from another computer is returned
    too (it cannot be checked; its ``hostname`` says so). ``ignore_pids``: trainers the caller
    started itself (the window's own child), which are not "another process".
    """
    folder = Path(folder)
    info = read_lock_file(folder / RUN_LOCK_FILE)
    state = lock_state(folder, info, RUN_LOCK_FILE)
    if state == "stale" or info is None or info.pid in ignore_pids:
        return None
    return info


def describe_trainer(folder: str | Path, ignore_pids: tuple[int, ...] = ()) -> str | None:
    """A sentence for the window ("being trained by process 123 on host, since …"), or None when free."""
    info = trained_by(folder, ignore_pids)
    if info is None:
        return None
    return f"run “{Path(folder).name}” is being trained by {info.describe()}"
