"""File > Live TensorBoard log: a project setting, off by default, saved in project.json; the trainers the
window starts while it is on write RUN/tensorboard/ (they get `--tensorboard`)."""
from __future__ import annotations

import json

from studio.core.project import Project
from studio.core.training.process import TrainingProcess
from studio.core.training.tensorboard_live import live_default, project_wants_live, set_live_default


def child_command(tmp_path) -> list[str]:
    return TrainingProcess("vae", tmp_path / "data", tmp_path / "proj" / "runs" / "r1").cmd


def test_the_setting_toggles_persists_and_reaches_the_trainer(make_studio_window, tmp_path):
    proj = Project.create(tmp_path / "proj", "Logged")
    project_file = tmp_path / "proj" / "project.json"
    try:
        win = make_studio_window(project=proj, load_panels=False, discover=False)
        action = win.tensorboard_setting.action
        assert action in win.file_menu.actions() and action.isCheckable() and action.isEnabled()
        assert not action.isChecked() and not live_default() and "--tensorboard" not in child_command(tmp_path)
        assert "tensorboard_live" not in json.loads(project_file.read_text())
        action.trigger()
        assert action.isChecked() and live_default()
        assert json.loads(project_file.read_text())["tensorboard_live"] is True
        assert "--tensorboard" in child_command(tmp_path)
        assert project_wants_live(tmp_path / "proj" / "runs" / "r1")  # `studio train` there follows it too
        # it comes back with the project, and turns off again
        win.close()
        set_live_default(False)
        again = make_studio_window(project=Project.open(tmp_path / "proj"), load_panels=False, discover=False)
        action = again.tensorboard_setting.action
        assert action.isChecked() and live_default()
        action.trigger()
        assert not action.isChecked() and not live_default()
        assert "tensorboard_live" not in json.loads(project_file.read_text())
        assert "--tensorboard" not in child_command(tmp_path)
    finally:
        set_live_default(False)


def test_without_a_project_the_setting_is_off_and_disabled(make_studio_window):
    try:
        set_live_default(True)  # left over from an earlier project: a window without one turns it off
        win = make_studio_window(project=None, load_panels=False, discover=False)
        action = win.tensorboard_setting.action
        assert not action.isEnabled() and not action.isChecked() and not live_default()
    finally:
        set_live_default(False)
