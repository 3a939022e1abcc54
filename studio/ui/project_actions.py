"""File > New/Open/Open Recent/Save, autosave timer, crash recovery prompt, Edit > Undo/Redo.

The GUI face of :mod:`studio.core.project_store`: every decision (lock,
recovery, backups) is made in the core; this module asks the user and shows
the answers in words. Panels change the project through :func:`push_edit`
so that their edits land on the undo stack and are autosaved at once.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QMenu, QMessageBox

from studio.core import paths
from studio.core.project import PROJECT_FILE, Project, list_backups
from studio.core.project_edits import ProjectEdit, empty_trash, trash_problem, trash_size
from studio.core.project_recent import RecentProjects
from studio.core.project_store import ProjectError, ProjectLockedError, ProjectSession, needs_recovery
from studio.ui.project_dialogs import accepted, ask, recovery_question

log = logging.getLogger("studio.project")
AUTOSAVE_KEY = "project/autosave_seconds"
DEFAULT_AUTOSAVE_S = 60


class ProjectCommand(QUndoCommand):
    """A core :class:`ProjectEdit` on the undo stack (already applied when pushed)."""

    def __init__(self, actions: "ProjectActions", edit: ProjectEdit):
        super().__init__(edit.text)
        self.actions, self.edit, self._applied = actions, edit, True

    def redo(self):
        if self._applied:  # push() calls redo(); the edit already ran, and succeeded
            self._applied = False
            return
        self.actions._replay(self, self.edit.apply)

    def undo(self):
        self.actions._replay(self, self.edit.revert)


class ProjectActions(QObject):
    """Owns the open :class:`ProjectSession`, the undo stack and the autosave timer of one window."""

    def __init__(self, window):
        super().__init__(window)
        self.window, self.ctx = window, window.ctx
        self.session: ProjectSession | None = None
        self.recent = RecentProjects()
        self.undo_stack = QUndoStack(self)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.autosave_now)
        self._build_actions()
        self.set_autosave_interval(self.autosave_interval())
        self.ctx.project_changed.connect(self._on_project_changed)
        self.ctx.dataset_added.connect(lambda _f: self.autosave_now())
        self.ctx.run_started.connect(lambda _f: self.autosave_now())
        self.ctx.project_actions = self  # lets panels find push_edit() without importing the window
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        if self.ctx.project is not None:
            self._on_project_changed()

    # -- menus ------------------------------------------------------------------
    def _action(self, text, tip, slot, shortcut=None) -> QAction:
        act = QAction(text, self.window)
        act.setToolTip(tip)
        act.setStatusTip(tip)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        return act

    def _build_actions(self) -> None:
        w, K = self.window, QKeySequence.StandardKey
        self.new_action = self._action("&New project…", "Create a project folder for datasets, runs and exports",
                                       self.new_project, K.New)
        self.open_action = self._action("&Open project…", "Open a project folder", self.open_project, K.Open)
        self.recent_menu = QMenu("Open &Recent", w)
        self.recent_menu.setToolTipsVisible(True)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.save_action = self._action("&Save project", "Save the project now (it is also autosaved)",
                                        self.save_project, K.Save)
        self.autosave_action = self._action("Autosave &interval…", "How often unsaved changes are autosaved",
                                            self.choose_autosave_interval)
        menu = w.file_menu
        quit_action = menu.actions()[0] if menu.actions() else None
        for item in (self.new_action, self.open_action, self.recent_menu, None, self.save_action,
                     self.autosave_action, None):
            if item is None:
                menu.insertSeparator(quit_action)
            elif isinstance(item, QMenu):
                menu.insertMenu(quit_action, item)
            else:
                menu.insertAction(quit_action, item)
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence(K.Undo))
        self.undo_action.setToolTip("Undo the last change to the project")
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence(K.Redo))
        self.redo_action.setToolTip("Redo the change just undone")
        self.trash_action = self._action("&Empty project trash…", "Delete the datasets and runs in the "
                                         "project trash for good (this cannot be undone)", self.empty_trash)
        self.edit_menu = QMenu("&Edit", w)
        self.edit_menu.setToolTipsVisible(True)
        for act in (self.undo_action, self.redo_action):
            self.edit_menu.addAction(act)
        self.edit_menu.addSeparator()
        self.edit_menu.addAction(self.trash_action)
        view = getattr(w, "view_menu", None)
        w.menuBar().insertMenu(view.menuAction() if view else None, self.edit_menu)
        menu.setToolTipsVisible(True)
        self._update_enabled()

    def _update_enabled(self) -> None:
        has = self.session is not None
        for act in (self.save_action, self.trash_action):
            act.setEnabled(has)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        entries = self.recent.entries()
        for e in entries:
            folder = Path(e["folder"])
            missing = not (folder / PROJECT_FILE).exists()
            act = self.recent_menu.addAction(f"{e['name']}{'  (missing)' if missing else ''}")
            act.setToolTip(str(folder))
            act.setData(str(folder))
            act.triggered.connect(lambda _=False, f=folder: self.open_recent(f))
        if not entries:
            empty = self.recent_menu.addAction("No recent projects")
            empty.setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            clear = self.recent_menu.addAction("Clear list")
            clear.setToolTip("Forget the recent projects (the folders stay)")
            clear.triggered.connect(self.recent.clear)

    # -- user commands --------------------------------------------------------------
    def _start_dir(self) -> str:
        folders = self.recent.folders()
        return str(folders[0].parent) if folders else str(Path.home())

    def new_project(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self.window, "New project: choose its folder name", self._start_dir())
        if not path:
            return False
        folder = Path(path)
        if (folder / PROJECT_FILE).exists():
            QMessageBox.information(self.window, "New project",
                                    f"{folder} already holds a project. Use File > Open project to open it.")
            return False
        if folder.exists() and not folder.is_dir():
            QMessageBox.warning(self.window, "New project", f"{folder} is a file; choose a folder name.")
            return False
        return self.open_folder(folder, create=True)

    def open_project(self) -> bool:
        path = QFileDialog.getExistingDirectory(self.window, "Open project folder", self._start_dir())
        return self.open_folder(Path(path)) if path else False

    def open_recent(self, folder: Path) -> bool:
        if not (Path(folder) / PROJECT_FILE).exists() and not list_backups(folder):
            QMessageBox.information(self.window, "Open recent", f"{folder} no longer holds a project; "
                                    "it was removed from the recent list.")
            self.recent.remove(folder)
            return False
        return self.open_folder(Path(folder))

    def save_project(self) -> bool:
        if self.session is None:
            return False
        try:
            self.session.save()
        except ProjectError as exc:
            QMessageBox.warning(self.window, "Could not save", f"{exc}\n\nNothing older was lost; the "
                                "autosave keeps your changes.")
            return False
        self.ctx.status_message.emit(f"Saved {self.session.project.name}")
        return True

    def autosave_interval(self) -> int:
        try:
            return max(10, int(self.ctx.settings.value(AUTOSAVE_KEY, DEFAULT_AUTOSAVE_S)))
        except (TypeError, ValueError):
            return DEFAULT_AUTOSAVE_S

    def set_autosave_interval(self, seconds: int) -> None:
        seconds = max(1, int(seconds))
        self.ctx.settings.setValue(AUTOSAVE_KEY, seconds)
        self.timer.start(seconds * 1000)

    def choose_autosave_interval(self) -> None:
        s, ok = QInputDialog.getInt(self.window, "Autosave", "Autosave unsaved changes every (seconds):",
                                    self.autosave_interval(), 10, 3600, 10)
        if ok:
            self.set_autosave_interval(s)

    def empty_trash(self) -> None:
        if self.session is None:
            return
        problem = trash_problem(self.session.project)
        if problem:  # trash/ is a link or a file: nothing is counted or deleted there
            QMessageBox.warning(self.window, "Project trash", f"{problem}\n\nNothing was deleted.")
            return
        n, size = trash_size(self.session.project)
        if not n and not self.session.project.trash:
            QMessageBox.information(self.window, "Project trash", "The project trash is empty.")
            return
        if ask(self.window, "Empty project trash?", f"Delete {n} item(s), {size / 2**20:.1f} MiB, for good?",
               "Delete for good", "Cancel", "Deleted datasets and runs can no longer be brought back with Undo.",
               QMessageBox.Icon.Warning):
            empty_trash(self.session.project)
            self.undo_stack.clear()  # undoing a delete needs the trash
            self._save_quietly()

    # -- opening ----------------------------------------------------------------
    def open_at_start(self, project_dir: str | None = None, demo: bool = False) -> bool:
        """What ``studio gui`` opens: the given folder, the demo, or an offer to recover a crashed project."""
        if project_dir:
            return self.open_folder(Path(project_dir), create=True)
        if demo:
            return self.open_demo()
        return self.offer_crash_recovery()

    def open_demo(self) -> bool:
        """The demo project with its shipped runs, opened in the explorer panels (``studio.ui.demo_start``)."""
        from studio.ui.demo_start import open_demo
        return open_demo(self)

    def offer_crash_recovery(self) -> bool:
        for folder in self.recent.folders()[:3]:
            if needs_recovery(folder):
                if ask(self.window, "Recover your work?", f"Generative Studio did not close properly while "
                       f"“{folder.name}” was open, and it has unsaved changes.", "Open and recover", "Not now",
                       f"Folder: {folder}"):
                    return self.open_folder(folder)
                return False
        return False

    def open_folder(self, folder: Path, create: bool = False, name: str | None = None, force: bool = False) -> bool:
        folder = Path(folder)
        if self.session is not None and folder.resolve() == self.session.folder.resolve():
            if self.session.lock is not None:
                self.ctx.status_message.emit(f"{self.session.project.name} is already open")
                return True
            self._close_session()  # an unlocked (adopted) copy: save it before reading the file again
        try:
            if create and not (folder / PROJECT_FILE).exists() and not list_backups(folder):
                session = ProjectSession.create(folder, name)
            else:
                session = ProjectSession.open(folder, force=force)
        except ProjectLockedError as exc:
            if exc.foreign and ask(self.window, "Project in use elsewhere", str(exc), "Open anyway", "Cancel",
                                   icon=QMessageBox.Icon.Warning):
                return self.open_folder(folder, create, name, force=True)
            if not exc.foreign:
                QMessageBox.information(self.window, "Project already open", str(exc))
            return False
        except ProjectError as exc:
            return self._offer_backup(folder, exc)
        except OSError as exc:
            QMessageBox.warning(self.window, "Cannot open project", f"{folder}: {exc.strerror or exc}")
            return False
        if session.recovery is not None:
            box = recovery_question(self.window, session)
            box.exec()
            if accepted(box):
                try:
                    session.restore_autosave()
                except ProjectError as exc:
                    QMessageBox.warning(self.window, "Could not restore", str(exc))
                    session.discard_autosave()
            else:
                session.discard_autosave()
        self._switch_to(session)
        for note in session.notes:
            log.warning(note)
            self.ctx.status_message.emit(note)
        return True

    def _offer_backup(self, folder: Path, exc: ProjectError) -> bool:
        usable = []
        for b in list_backups(folder):
            try:
                Project.load_file(folder, b)
                usable.append(b)
            except ProjectError:
                continue
        if not usable:
            QMessageBox.warning(self.window, "Cannot open project", f"{exc}\n\nNo usable backup of this "
                                f"project was found in {folder / '.backups'}.")
            return False
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(usable[0].stat().st_mtime))
        if not ask(self.window, "Cannot open project", str(exc), "Open backup", "Cancel",
                   f"A backup saved {when} can be opened instead. The current {PROJECT_FILE} is set aside "
                   "next to it, not deleted.", QMessageBox.Icon.Warning):
            return False
        try:
            session = ProjectSession.open_backup(folder, usable[0])
        except ProjectError as exc2:
            QMessageBox.warning(self.window, "Cannot open backup", str(exc2))
            return False
        self._switch_to(session)
        self.ctx.status_message.emit(f"Opened the backup {usable[0].name}")
        return True

    def _switch_to(self, session: ProjectSession) -> None:
        self._close_session()
        self.session = session
        self.undo_stack.clear()
        self.recent.add(session.folder, session.project.name)
        self._update_enabled()
        self.ctx.set_project(session.project)

    def _close_session(self) -> None:
        if self.session is None:
            return
        old, self.session = self.session, None
        try:
            old.close()
        except ProjectError as exc:
            log.error("%s (its autosave was kept and will be offered next time)", exc)

    def _on_project_changed(self) -> None:
        project = self.ctx.project
        if project is None:
            return
        if self.session is None or self.session.project is not project:
            # Someone handed the window a project directly (tests, tools): autosave it, no lock.
            self._close_session()
            self.session = ProjectSession.adopt(project)
            self.undo_stack.clear()
            self._update_enabled()
        self.autosave_now()

    # -- autosave and edits ---------------------------------------------------------
    def autosave_now(self) -> bool:
        if self.session is None:
            return False
        try:
            wrote = self.session.autosave()
        except ProjectError as exc:
            log.error("%s", exc)
            self.ctx.status_message.emit(f"Autosave failed: {exc}")
            return False
        if wrote:
            self.ctx.status_message.emit("Autosaved")
        return wrote

    def _save_quietly(self) -> None:
        try:
            self.session.save()
        except ProjectError as exc:
            log.error("%s", exc)
            self.ctx.status_message.emit(str(exc))

    def push_edit(self, edit: ProjectEdit) -> bool:
        """Apply ``edit`` to the open project and put it on the undo stack; False (with a message) if refused."""
        if self.session is None:
            self.ctx.status_message.emit("Open or create a project first")
            return False
        try:
            edit.apply(self.session.project)
        except ProjectError as exc:
            QMessageBox.warning(self.window, edit.text, str(exc))
            return False
        self.undo_stack.push(ProjectCommand(self, edit))
        self._after_edit(edit)
        return True

    def _replay(self, cmd: ProjectCommand, step) -> None:
        if self.session is None:
            cmd.setObsolete(True)
            return
        try:
            step(self.session.project)
        except ProjectError as exc:
            cmd.setObsolete(True)  # cannot be replayed any more (e.g. the trash was emptied)
            log.warning("%s", exc)
            self.ctx.status_message.emit(str(exc))
            return
        self._after_edit(cmd.edit)

    def _after_edit(self, edit: ProjectEdit) -> None:
        if edit.touches_disk:
            self._save_quietly()  # folders moved: keep project.json in step with them
        self.ctx.project_changed.emit()  # panels refresh; _on_project_changed autosaves

    def shutdown(self) -> None:
        """Clean exit: save, remove the autosave and the lock (idempotent)."""
        self.timer.stop()
        self._close_session()
        self._update_enabled()


def install_project_actions(window) -> ProjectActions:
    """Add the project actions to ``window.file_menu`` (before Quit) and an Edit menu."""
    return ProjectActions(window)


def push_edit(ctx, edit: ProjectEdit) -> bool:
    """For panels: apply an undoable project edit through the window's undo stack."""
    actions = ctx.project_actions
    if actions is not None:
        return actions.push_edit(edit)
    if ctx.project is None:
        return False
    edit.apply(ctx.project)
    ctx.project.save()
    ctx.project_changed.emit()
    return True
