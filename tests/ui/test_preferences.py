"""File › Preferences: choose a SoundFont; a bad one is refused naming the file, the choice stays."""
from __future__ import annotations

import pytest

from studio.core.audio import soundfont


@pytest.fixture(autouse=True)
def own_preferences(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(soundfont, "_reported", set())


def test_choose_a_soundfont_in_preferences(make_studio_window, qtbot, tmp_path, monkeypatch):
    import studio.ui.preferences as prefs_mod

    win = make_studio_window(load_panels=False, discover=False)
    [action] = [a for a in win.file_menu.actions() if a.text() == "&Preferences…"]
    action.trigger()
    dialog = win.findChild(prefs_mod.PreferencesDialog)
    assert dialog is not None and dialog.isVisible()
    assert "built-in" in dialog.chosen_label.text() and "TimGM6mb.sf2" in dialog.status_label.text()
    assert not dialog.builtin_btn.isEnabled()

    answers, shown = [], []
    monkeypatch.setattr(prefs_mod.QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (answers.pop(0), "")))
    monkeypatch.setattr(prefs_mod.QMessageBox, "warning", staticmethod(lambda *a: shown.append(a[2])))
    bad = tmp_path / "noise.sf2"
    bad.write_bytes(b"\x00" * 64)
    answers.append(str(bad))
    dialog.choose_btn.click()
    assert shown and "noise.sf2" in shown[0] and "not a SoundFont 2 file" in shown[0]
    assert soundfont.chosen_soundfont() is None  # refused: still the built-in one

    mine = tmp_path / "mine.sf2"
    mine.write_bytes(soundfont.builtin_soundfont().read_bytes())
    answers.append(str(mine))
    dialog.choose_btn.click()
    assert soundfont.chosen_soundfont() == mine.resolve()  # kept where the CLI reads it too
    assert "mine.sf2" in dialog.chosen_label.text() and "(preferences)" in dialog.status_label.text()
    dialog.builtin_btn.click()
    assert soundfont.chosen_soundfont() is None and not dialog.builtin_btn.isEnabled()
    dialog.close()
