"""Datasets panel: files whose Content Credentials say no to AI training are asked about once after the
import; "Include them" re-imports with the choice remembered by the dataset (as the CLI's
--do-not-train include), "Leave them out" keeps them out, and a re-import does not ask again."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from studio.core.project import Project
from studio.ui.context import StudioContext
from studio.ui.panels.datasets import DatasetsPanel
from studio.ui.panels.datasets_opt_outs import question
from tests.ui.screens import save_widget

pytest.importorskip("c2pa", reason="c2pa-python is a dependency (pyproject.toml)")
from tests.fixtures.training_opt_out import picture as _picture, with_training_use as _with_training_use  # noqa: E402,E501


@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))  # signing key and answers: this test's own
    ctx = StudioContext(project=Project.create(tmp_path / "proj", "Test"))
    w = DatasetsPanel(ctx)
    qtbot.addWidget(w)
    w.resize(560, 720)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


@pytest.fixture
def pictures(tmp_path) -> Path:
    src = tmp_path / "pictures"
    src.mkdir()
    for i in range(2):
        (src / f"plain{i}.png").write_bytes(_picture(i))
    (src / "theirs.png").write_bytes(_with_training_use(_picture(10), "notAllowed"))
    return src


def _answer(monkeypatch, choice: str) -> list[str]:
    """Answer the panel's question with the button named ``choice``; returns the questions asked."""
    asked: list[str] = []

    def exec_(box):
        asked.append(box.text())
        [button] = [b for b in box.buttons() if b.text().startswith(choice)]
        button.click()
        return 0
    monkeypatch.setattr(QMessageBox, "exec", exec_)
    return asked


def _import(panel, qtbot, src: Path) -> list:
    with qtbot.waitSignal(panel.import_ended, timeout=60_000) as sig:
        assert panel.import_paths([str(src)], modality="image")
    return sig.args


def _notes(panel) -> dict[str, str]:
    top = panel.report.tree.topLevelItem(1)
    return {Path(top.child(i).toolTip(0)).name: top.child(i).text(1) for i in range(top.childCount())}


def _manifest(panel) -> dict:
    return json.loads((Path(panel.selected_folder()) / "manifest.json").read_text())


def test_leave_them_out_keeps_them_out_and_is_not_asked_again(panel, qtbot, pictures, monkeypatch):
    asked = _answer(monkeypatch, "Leave them out")
    assert _import(panel, qtbot, pictures) == ["done"]
    assert asked == ["1 file(s) say their owner does not allow AI training: theirs.png."]
    rows = {Path(p).name: why for p, why in panel.report.rows()}
    assert "AI training is not allowed" in rows["theirs.png"]
    manifest = _manifest(panel)
    assert len(manifest["accepted"]) == 2 and "training_opt_outs" not in manifest["settings"]
    assert "2 images accepted, 1 skipped" in panel.report.summary.text()
    assert panel.tabs.currentWidget() is panel.report and not panel.report.reasons_cut()
    save_widget(panel, "datasets-do-not-train-left-out")
    # the same folder again: the answer stands, no second question
    assert _import(panel, qtbot, pictures) == ["done"]
    assert len(asked) == 1 and len(_manifest(panel)["accepted"]) == 2
    # a new file that says no to training is asked about
    (pictures / "more-theirs.png").write_bytes(_with_training_use(_picture(11), "notAllowed"))
    assert _import(panel, qtbot, pictures) == ["done"]
    assert len(asked) == 2 and asked[1].startswith("2 file(s) say") and "more-theirs.png" in asked[1]
    assert panel.list.count() == 1


def test_include_them_reimports_with_the_choice_remembered(panel, qtbot, pictures, monkeypatch):
    asked = _answer(monkeypatch, "Include them")
    added = []
    panel.ctx.dataset_added.connect(added.append)
    assert _import(panel, qtbot, pictures) == ["done"]
    assert len(asked) == 1
    manifest = _manifest(panel)
    assert len(manifest["accepted"]) == 3 and not manifest["skipped"]
    assert manifest["settings"]["training_opt_outs"] == "include"   # the CLI's setting, remembered
    assert "because you chose to include" in _notes(panel)["theirs.png"]
    assert "3 images accepted, 0 skipped" in panel.report.summary.text()
    assert len(set(added)) == 1 and panel.ctx.project.datasets == [f"datasets/{Path(added[0]).name}"]
    # a re-import (one more plain picture) keeps them in and does not ask
    (pictures / "plain2.png").write_bytes(_picture(2))
    assert _import(panel, qtbot, pictures) == ["done"]
    assert len(asked) == 1 and len(_manifest(panel)["accepted"]) == 4


def test_the_question_as_shown(panel, qtbot):
    box, include = question(panel, [f"/somewhere/theirs-{i}.png" for i in range(8)])
    box.show()
    qtbot.waitExposed(box)
    assert "8 file(s) say their owner does not allow AI training" in box.text() and "and 2 more" in box.text()
    assert box.defaultButton().text() == "Leave them out (recommended)" and include.text() == "Include them"
    save_widget(box, "datasets-do-not-train-question")
    box.close()
