"""Melody panel: a MIDI file the artist loaded ("Load MIDI…") is a C2PA ingredient of what is exported
from it (the melody itself, and variations continuing it as their primer), as `studio generate --prime`
records it; a variation written without the primer does not claim the file."""
from __future__ import annotations

import hashlib
import json

import pytest
import torch
from PySide6.QtCore import Qt

from studio.cli import main
from studio.core.audio.events import Note, notes_to_events
from studio.core.export.verification import verify_file
from tests.plugins.melody_fixtures import tiny_rnn

pytest.importorskip("c2pa", reason="c2pa-python is a dependency (pyproject.toml)")
torch.set_num_threads(1)


@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch):
    from studio.ui.context import StudioContext
    from studio.ui.panels.melody import MelodyPanel

    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    w = MelodyPanel(StudioContext())
    qtbot.addWidget(w)
    w.resize(1100, 520)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def _ingredients(path) -> list[dict]:
    v = verify_file(path)
    assert v.state == "valid", v.describe()
    return [{k: i[k] for k in ("title", "sha256")} for i in v.ingredient_files]


def _generate(qtbot, panel, bar: int) -> None:
    panel.bar.setValue(bar)
    panel.bars.setValue(1)
    panel.variations.setValue(1)
    panel.var_list.clear()
    qtbot.mouseClick(panel.gen_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.var_list.count() == 1 and not panel.jobs.busy, timeout=30_000)


def test_a_loaded_midi_file_is_an_ingredient_of_its_exports(qtbot, panel, tmp_path, monkeypatch, capsys):
    import studio.ui.panels.melody_controls as controls
    from studio.core.audio.midi import save_midi

    tune = save_midi(notes_to_events([Note(60, 0, 4), Note(64, 4, 4), Note(67, 8, 8)]), tmp_path / "my tune.mid",
                     bpm=100)
    digest = hashlib.sha256(tune.read_bytes()).hexdigest()
    before = tune.read_bytes()
    monkeypatch.setattr(controls.QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(tune), "")))
    qtbot.mouseClick(panel.load_btn, Qt.MouseButton.LeftButton)   # "Load MIDI…"
    assert panel.roll.notes[0] == Note(60, 0, 4)
    mine = [{"title": "my tune.mid", "sha256": digest}]

    # the loaded melody itself, edited by hand or not
    assert _ingredients(panel.export(tmp_path / "as loaded.mid")) == mine
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "as loaded.mid"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ingredients"] == ["my tune.mid"] and doc["ingredient_files"][0]["sha256"] == digest
    assert "my tune.mid (SHA-256 " + digest[:12] in doc["description"]

    # a variation that continues it (the first bar is the primer): WAV embeds the credentials
    panel.set_model(tiny_rnn(), "tiny rnn")
    _generate(qtbot, panel, bar=2)
    assert _ingredients(panel.export(tmp_path / "continued.wav")) == mine
    # continuing a variation that came from the file still comes from the file
    _generate(qtbot, panel, bar=2)
    assert _ingredients(panel.export(tmp_path / "continued again.flac")) == mine
    # a variation written from scratch (no primer) does not claim the file
    _generate(qtbot, panel, bar=1)
    assert _ingredients(panel.export(tmp_path / "new.mid")) == []
    assert tune.read_bytes() == before   # the user's file is only read
