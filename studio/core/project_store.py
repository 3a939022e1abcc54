"""An open project: lock, autosave, crash recovery, backups (Krita/Blender behaviour, no Qt).

    session = ProjectSession.open(folder)      # raises ProjectLockedError / ProjectError in words
    if session.recovery:                       # the studio did not exit cleanly last time
        session.restore_autosave()             # or session.discard_autosave()
    ...edit session.project...
    session.changed()                          # a structural change: autosave now
    session.autosave()                         # the timer, every minute
    session.close()                            # clean exit: save, drop autosave, drop lock

``project.autosave.json`` exists only while there are unsaved edits; a clean
exit removes it, so finding one on open means the last session ended early.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from studio.core.fileio import atomic_write_text
from studio.core.project import BACKUPS_DIR, PROJECT_FILE, SCHEMA_VERSION, Project, list_backups
from studio.core.project_lock import LockInfo, ProjectLock, ProjectLockedError  # noqa: F401 - re-exported
from studio.core.project_paths import owned_subfolder
from studio.core.project_schema import ProjectError, read_bounded

log = logging.getLogger("studio.project")

AUTOSAVE_FILE = "project.autosave.json"


@dataclass
class RecoveryInfo:
    """Unsaved work found on open: an autosave newer than ``project.json``."""

    autosave: Path
    autosave_time: float
    crashed: bool              # a stale lock was found: the studio died with the project open
    lock: LockInfo | None

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.autosave_time))
        why = ("Generative Studio stopped unexpectedly while this project was open"
               if self.crashed else "This project was not closed properly last time")
        return f"{why}. Changes autosaved at {when} were not saved to the project."


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _wrap_os_error(exc: OSError, what: str) -> ProjectError:
    return ProjectError(f"{what}: {exc.strerror or exc}")


class ProjectSession:
    """One project open in one studio: owns the lock and the autosave file."""

    def __init__(self, project: Project, lock: ProjectLock | None, recovery: RecoveryInfo | None = None):
        self.project = project
        self.lock = lock
        self.recovery = recovery
        self.notes: list[str] = []  # things the user should hear about (a broken autosave set aside...)
        self._autosaved_text: str | None = None
        self.closed = False

    @property
    def folder(self) -> Path:
        return self.project.folder

    @property
    def autosave_path(self) -> Path:
        return self.folder / AUTOSAVE_FILE

    # -- opening --------------------------------------------------------------
    @classmethod
    def open(cls, folder: str | Path, force: bool = False) -> "ProjectSession":
        folder = Path(folder)
        if not (folder / PROJECT_FILE).exists():
            raise ProjectError(f"{folder} is not a studio project (no {PROJECT_FILE})")
        lock = ProjectLock(folder)
        stale = lock.acquire(force=force)
        try:
            return cls._open_locked(folder, lock, stale)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def create(cls, folder: str | Path, name: str | None = None) -> "ProjectSession":
        project = Project.create(folder, name)
        lock = ProjectLock(project.folder)
        lock.acquire()
        return cls(project, lock)

    @classmethod
    def adopt(cls, project: Project) -> "ProjectSession":
        """Autosave for a project someone else opened (tests, tools); takes no lock."""
        return cls(project, None)

    @classmethod
    def open_backup(cls, folder: str | Path, backup: str | Path, force: bool = False) -> "ProjectSession":
        """Put ``backup`` back as ``project.json`` (the current file is set aside, not deleted) and open it."""
        folder, backup = Path(folder), Path(backup)
        restored = Project.load_file(folder, backup)  # refuse a bad backup before touching anything
        lock = ProjectLock(folder)
        stale = lock.acquire(force=force)
        try:
            current = folder / PROJECT_FILE
            if current.exists():
                aside = folder / f"project.set-aside-{_stamp()}.json"
                os.replace(current, aside)
                log.warning("%s was set aside as %s; restored %s", current, aside.name, backup.name)
            restored.save()
            return cls._open_locked(folder, lock, stale)
        except OSError as exc:
            lock.release()
            raise _wrap_os_error(exc, f"could not restore {backup}") from exc
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _open_locked(cls, folder: Path, lock: ProjectLock, stale: LockInfo | None) -> "ProjectSession":
        project = Project.open(folder)
        session = cls(project, lock)
        _remove_leftover_temp_files(folder)  # a crash mid-write leaves these; we hold the lock now
        if project.loaded_version < SCHEMA_VERSION:
            session._keep_original(project.loaded_version)
        session.recovery = session._find_recovery(stale)
        if stale is not None and session.recovery is None:
            log.info("%s: the previous session ended without closing (%s); nothing unsaved was lost",
                     folder, stale.describe())
        return session

    def _keep_original(self, version: int) -> None:
        """Keep the file as an older studio wrote it, before the next save upgrades it."""
        try:
            data = read_bounded(self.folder / PROJECT_FILE)
            dest = owned_subfolder(self.folder, BACKUPS_DIR, create=True) / f"migrated-from-v{version}-{_stamp()}.json"
            dest.write_bytes(data)
            self.notes.append(f"This project was upgraded from an older studio (schema {version}); "
                              f"the original file is kept as {BACKUPS_DIR}/{dest.name}.")
        except (OSError, ProjectError) as exc:
            log.warning("could not keep the original of %s: %s", self.folder, exc)

    def _find_recovery(self, stale: LockInfo | None) -> RecoveryInfo | None:
        path = self.autosave_path
        if not path.exists():
            return None
        try:
            saved = Project.load_file(self.folder, path)
        except ProjectError as exc:
            aside = self.folder / f"project.autosave.broken-{_stamp()}.json"
            try:
                os.replace(path, aside)
            except OSError:
                pass
            msg = f"The autosave of this project could not be used and was set aside as {aside.name}: {exc}"
            log.warning(msg)
            self.notes.append(msg)
            return None
        if saved.text() == self.project.text():
            path.unlink(missing_ok=True)  # nothing the project does not already hold
            return None
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = time.time()
        return RecoveryInfo(autosave=path, autosave_time=mtime, crashed=stale is not None, lock=stale)

    # -- recovery -------------------------------------------------------------
    def restore_autosave(self) -> Project:
        """Replace the project in memory by the autosave; it stays unsaved until the next save."""
        if self.recovery is None:
            raise ProjectError("there is no autosave to restore")
        restored = Project.load_file(self.folder, self.recovery.autosave)
        restored._saved_text = self.project._saved_text
        self.project = restored
        self._autosaved_text = restored.text()
        self.recovery = None
        return restored

    def discard_autosave(self) -> None:
        """Keep ``project.json`` as saved; the autosave is moved into .backups in case of second thoughts."""
        if self.recovery is not None and self.recovery.autosave.exists():
            try:
                dest = owned_subfolder(self.folder, BACKUPS_DIR, create=True) / f"discarded-autosave-{_stamp()}.json"
                os.replace(self.recovery.autosave, dest)
            except (OSError, ProjectError):
                self.recovery.autosave.unlink(missing_ok=True)
        self.recovery = None

    # -- saving ---------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return not self.project.is_saved

    def autosave(self) -> bool:
        """Write the unsaved state to ``project.autosave.json``; True when something was written."""
        if self.closed or self.recovery is not None:
            return False  # never overwrite an autosave the user has not decided about yet
        if not self.dirty:
            self._drop_autosave()
            return False
        text = self.project.text()
        if text == self._autosaved_text and self.autosave_path.exists():
            return False
        try:
            atomic_write_text(self.autosave_path, text)
        except OSError as exc:
            raise _wrap_os_error(exc, f"could not autosave {self.autosave_path}") from exc
        self._autosaved_text = text
        return True

    def changed(self) -> bool:
        """Call after a structural change (dataset, run, bookmark added or removed): autosave at once."""
        return self.autosave()

    def save(self) -> None:
        try:
            self.project.save()
        except OSError as exc:
            raise _wrap_os_error(exc, f"could not save {self.folder / PROJECT_FILE}") from exc
        self._drop_autosave()

    def _drop_autosave(self) -> None:
        self._autosaved_text = None
        if self.recovery is None:
            try:
                self.autosave_path.unlink(missing_ok=True)
            except OSError:
                pass

    def backups(self) -> list[Path]:
        return list_backups(self.folder)

    def close(self, save: bool = True) -> None:
        """Clean exit: save unsaved edits, remove the autosave, release the lock (idempotent).

        When the save fails (disk full) the autosave stays, so the next open offers it back.
        """
        if self.closed:
            return
        try:
            if save and self.recovery is None and self.dirty:
                self.save()
            if not self.dirty:
                self._drop_autosave()
        finally:
            self.closed = True
            if self.lock is not None:
                self.lock.release()


def _remove_leftover_temp_files(folder: Path) -> None:
    patterns = [(folder, f".{PROJECT_FILE}.*.tmp"), (folder, f".{AUTOSAVE_FILE}.*.tmp"),
                (folder / BACKUPS_DIR, ".project-*.tmp")]
    for where, pattern in patterns:
        if where.is_symlink():
            continue  # a .backups link out of the project: delete nothing there
        try:
            for tmp in where.glob(pattern):
                tmp.unlink(missing_ok=True)
        except OSError:
            pass


def needs_recovery(folder: str | Path) -> bool:
    """True when ``folder`` holds an autosave that no running studio owns (checked at start-up)."""
    from studio.core.project_lock import lock_state, read_lock

    folder = Path(folder)
    if not (folder / AUTOSAVE_FILE).is_file():
        return False
    if not (folder / "project.lock").exists():
        return True
    return lock_state(folder, read_lock(folder)) == "stale"
