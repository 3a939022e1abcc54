"""File > Share-safe exports: a project setting, saved in project.json, that the exporters follow."""
from __future__ import annotations

import json

from studio.core.export.provenance import finalize, sharing
from studio.core.project import Project


def test_share_setting_is_saved_with_the_project_and_strips_paths(make_studio_window, tmp_path):
    proj = Project.create(tmp_path / "proj", "Shared")
    win = make_studio_window(project=proj, load_panels=False, discover=False)
    action = win.share_setting.action
    assert action in win.file_menu.actions() and not action.isChecked() and not sharing()
    recipe = {"run": {"id": "r1", "path": str(tmp_path / "proj" / "runs" / "r1")},
              "checkpoint": {"sha256": "ab" * 32, "path": str(tmp_path / "c.safetensors")}, "seed": 3}
    assert finalize(recipe)["run"]["path"]
    action.trigger()
    try:
        assert sharing()
        assert json.loads((tmp_path / "proj" / "project.json").read_text())["share_exports"] is True
        out = finalize(recipe)
        assert out["run"] == {"id": "r1"} and out["checkpoint"] == {"sha256": "ab" * 32} and out["seed"] == 3
        assert str(tmp_path) not in json.dumps(out)
        # the setting comes back with the project
        win.close()
        again = make_studio_window(project=Project.open(tmp_path / "proj"), load_panels=False, discover=False)
        assert again.share_setting.action.isChecked() and sharing()
        again.share_setting.action.trigger()
        assert not sharing() and "share_exports" not in json.loads((tmp_path / "proj" / "project.json").read_text())
    finally:
        from studio.core.export.provenance import set_sharing
        set_sharing(False)
