"""File > New/Open/Recent/Save, autosave, crash recovery prompt, backups and undo/redo, driven like a user."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from studio.core.project import PROJECT_FILE, Project
from studio.core.project_edits import TrashItem, add_bookmark
from studio.core.project_lock import LOCK_FILE
from studio.core.project_store import AUTOSAVE_FILE, ProjectSession
from studio.ui.project_actions import push_edit
from studio.ui.project_dialogs import recovery_question
from tests.ui.screens import SCREENS, distinct_colours, save_widget


@pytest.fixture
def window(make_studio_window):
    win = make_studio_window(load_panels=False, discover=False)
    yield win
    win.project_actions.set_autosave_interval(60)


@pytest.fixture
def answer(monkeypatch):
    """Answer every question box (QMessageBox.exec) with its accept or reject button; record the texts."""
    asked: list[str] = []
    choice = {"accept": True}

    def fake_exec(box):
        asked.append(f"{box.text()} {box.informativeText()}")
        want = QMessageBox.ButtonRole.AcceptRole if choice["accept"] else QMessageBox.ButtonRole.RejectRole
        next(b for b in box.buttons() if box.buttonRole(b) == want).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    told: list[str] = []
    for name in ("information", "warning"):
        monkeypatch.setattr(QMessageBox, name, lambda _parent, _title, text, *a, **k: told.append(text))
    return type("Answer", (), {"asked": asked, "told": told, "choice": choice})


def _crash_state(folder: Path, bookmark: str) -> None:
    """What a studio killed mid-session leaves: a stale lock and an autosave with unsaved work."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (folder / LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "hostname": socket.gethostname()}))
    proj = Project.open(folder)
    proj.bookmarks.append({"name": bookmark, "z": [0.0, 1.0]})
    (folder / AUTOSAVE_FILE).write_text(proj.text())


def test_file_and_edit_menus_are_installed_before_quit(window):
    texts = [a.text() for a in window.file_menu.actions()]
    assert texts.index("&New project…") < texts.index("&Open project…") < texts.index("Open &Recent")
    assert texts[-1] == "&Quit"
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus[:3] == ["&File", "&Edit", "&View"]
    for act in window.file_menu.actions() + window.project_actions.edit_menu.actions():
        assert act.isSeparator() or act.toolTip(), act.text()


def test_new_open_and_recent_through_the_menu(window, tmp_path, monkeypatch, answer):
    actions = window.project_actions
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "Songs"), ""))
    actions.new_action.trigger()
    folder = tmp_path / "Songs"
    assert (folder / PROJECT_FILE).exists() and (folder / LOCK_FILE).exists()
    assert window.ctx.project.name == "Songs" and "Songs" in window.windowTitle()
    Project.create(tmp_path / "Faces")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "Faces"))
    actions.open_action.trigger()
    assert window.ctx.project.name == "Faces"
    assert not (folder / LOCK_FILE).exists(), "switching projects releases the previous one"
    actions.recent_menu.aboutToShow.emit()
    recent = {a.text(): a for a in actions.recent_menu.actions()}
    assert list(recent)[:2] == ["Faces", "Songs"]
    recent["Songs"].trigger()
    assert window.ctx.project.name == "Songs"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "not-a-project"))
    (tmp_path / "not-a-project").mkdir()
    assert not actions.open_project()
    assert "not a studio project" in answer.told[-1] and window.ctx.project.name == "Songs"
    actions.recent_menu.aboutToShow.emit()
    assert Path(actions.recent_menu.actions()[0].data()).name == "Songs"


def test_undo_redo_of_a_bookmark_and_a_dataset_deletion(window, tmp_path, answer):
    actions = window.project_actions
    assert actions.open_folder(tmp_path / "p", create=True)
    project = window.ctx.project
    ds = project.datasets_dir / "faces"
    ds.mkdir()
    ref = project.add_dataset(ds)
    actions.save_action.trigger()
    assert push_edit(window.ctx, add_bookmark({"name": "smile", "z": [0.5]}))
    assert project.bookmarks == [{"name": "smile", "z": [0.5]}]
    assert (project.folder / AUTOSAVE_FILE).exists(), "a structural change is autosaved at once"
    assert actions.undo_action.text() == "&Undo Add bookmark “smile”"
    actions.undo_action.trigger()
    assert project.bookmarks == []
    actions.redo_action.trigger()
    assert project.bookmarks[0]["name"] == "smile"
    assert push_edit(window.ctx, TrashItem("dataset", ref))
    assert not ds.exists() and project.datasets == []
    assert Project.open(project.folder).datasets == [], "a delete that moves folders saves the project at once"
    actions.undo_action.trigger()
    assert ds.exists() and project.datasets == [ref]
    actions.redo_action.trigger()
    assert not ds.exists() and list(project.trash_dir.iterdir())
    assert not push_edit(window.ctx, TrashItem("dataset", ref))  # already gone: refused in words
    assert "not part of this project" in answer.told[-1]
    actions.trash_action.trigger()  # Empty trash, confirmed
    assert not list(project.trash_dir.iterdir()) and not actions.undo_stack.canUndo()


def test_recovery_prompt_after_a_crash_restores_or_keeps_the_last_save(window, tmp_path, answer):
    actions = window.project_actions
    folder = Project.create(tmp_path / "crashed", name="Crashed").folder
    _crash_state(folder, "lost idea")
    assert actions.open_folder(folder)
    assert "stopped unexpectedly" in answer.asked[-1]
    assert window.ctx.project.bookmarks[0]["name"] == "lost idea"
    actions.save_project()
    actions.shutdown()
    assert not (folder / AUTOSAVE_FILE).exists() and not (folder / LOCK_FILE).exists()

    other = Project.create(tmp_path / "other", name="Other").folder
    _crash_state(other, "unwanted")
    answer.choice["accept"] = False
    assert actions.open_folder(other)
    assert window.ctx.project.bookmarks == []
    assert list((other / ".backups").glob("discarded-autosave-*.json"))


def test_start_up_offers_to_reopen_a_crashed_recent_project(window, tmp_path, answer):
    folder = Project.create(tmp_path / "recent-crash", name="RecentCrash").folder
    _crash_state(folder, "night work")
    window.project_actions.recent.add(folder)
    assert window.project_actions.open_at_start()
    assert "did not close properly" in answer.asked[0]
    assert window.ctx.project.bookmarks[0]["name"] == "night work"


def test_corrupt_project_offers_its_backup_and_never_crashes(window, tmp_path, answer):
    proj = Project.create(tmp_path / "p", name="Backed up")
    proj.bookmarks.append({"name": "safe"})
    proj.save()
    (proj.folder / PROJECT_FILE).write_bytes(b"\x00\x00garbage")
    assert window.project_actions.open_folder(proj.folder)
    assert "NUL bytes" in answer.asked[-1] and "backup" in answer.asked[-1]
    assert window.ctx.project.bookmarks == [{"name": "safe"}]
    broken = Project.create(tmp_path / "nobackup")
    for b in (broken.folder / ".backups").iterdir():
        b.unlink()
    (broken.folder / PROJECT_FILE).write_text(json.dumps({"schema_version": 7}))
    assert not window.project_actions.open_folder(broken.folder)
    assert "newer Generative Studio" in answer.told[-1] and "No usable backup" in answer.told[-1]
    assert window.ctx.project.name == "Backed up"


def test_a_second_instance_is_refused_politely(window, tmp_path, answer):
    folder = Project.create(tmp_path / "busy").folder
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\n"
                               "from studio.core.project_store import ProjectSession\n"
                               "ProjectSession.open(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
                               str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert not window.project_actions.open_folder(folder)
        assert "already open in another Generative Studio" in answer.told[-1]
        assert window.ctx.project is None
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_autosave_timer_and_clean_exit(window, tmp_path, qtbot, answer):
    actions = window.project_actions
    actions.open_folder(tmp_path / "p", create=True)
    actions.set_autosave_interval(1)
    window.ctx.project.ui["zoom"] = 2  # a panel changing state directly, no signal
    autosave = window.ctx.project.folder / AUTOSAVE_FILE
    qtbot.waitUntil(autosave.exists, timeout=5000)
    window.close()
    assert not autosave.exists() and not (tmp_path / "p" / LOCK_FILE).exists()
    assert Project.open(tmp_path / "p").ui["zoom"] == 2


def test_screenshots_of_the_file_menu_and_the_recovery_dialog(window, tmp_path, qtbot):
    folder = Project.create(tmp_path / "Portraits", name="Portraits").folder
    _crash_state(folder, "x")
    session = ProjectSession.open(folder)
    box = recovery_question(window, session)
    box.show()
    qtbot.waitExposed(box)
    save_widget(box, "project-recovery-dialog")
    box.close()
    session.close(save=False)
    menu = window.file_menu
    menu.popup(window.mapToGlobal(window.rect().center()))
    qtbot.waitExposed(menu)
    path = save_widget(menu, "project-file-menu", min_colours=4)
    menu.close()
    assert distinct_colours(path) >= 4 and path.parent == SCREENS


def test_a_project_handed_over_directly_is_autosaved_then_reopened_with_a_lock(make_studio_window, tmp_path):
    proj = Project.create(tmp_path / "handed", name="Handed")
    win = make_studio_window(project=proj, load_panels=False, discover=False)
    actions = win.project_actions
    assert actions.session.project is proj and actions.session.lock is None
    proj.bookmarks.append({"name": "from a panel"})
    win.ctx.project_changed.emit()
    assert (proj.folder / AUTOSAVE_FILE).exists()
    assert actions.open_folder(proj.folder)  # the unsaved copy is saved first, then locked and reread
    assert win.ctx.project.bookmarks == [{"name": "from a panel"}] and (proj.folder / LOCK_FILE).exists()
    assert actions.session.recovery is None


def test_a_trash_that_is_a_link_is_refused_in_words_and_nothing_is_deleted(window, tmp_path, answer):
    actions = window.project_actions
    assert actions.open_folder(tmp_path / "p", create=True)
    project = window.ctx.project
    precious = tmp_path / "my-photos"
    precious.mkdir()
    (precious / "holiday.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    if project.trash_dir.exists():
        project.trash_dir.rmdir()
    project.trash_dir.symlink_to(precious, target_is_directory=True)
    actions.trash_action.trigger()
    assert "trash" in answer.told[-1] and "Nothing was deleted" in answer.told[-1]
    assert (precious / "holiday.jpg").exists()
