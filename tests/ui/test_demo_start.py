"""`studio gui --demo`: the demo project opens with its models already loaded in the explorer panels."""
from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.demo import shipped_runs
from studio.ui import demo_start
from tests.fixtures.threads import one_torch_thread  # noqa: F401 - autouse: torch at one thread


def test_demo_opens_models_in_latent_melody_and_text(make_studio_window, qtbot, monkeypatch, tmp_path):
    if not shipped_runs():
        pytest.fail("no demo runs shipped: run `make demo-models`")
    imports = []
    monkeypatch.setattr(demo_start, "_import_datasets_later", lambda actions, folder: imports.append(folder))
    win = make_studio_window(load_panels=True, discover=False)
    folder = tmp_path / "demo"
    assert demo_start.open_demo(win.project_actions, folder)
    assert imports == [folder]
    project = win.ctx.project
    assert project is not None and project.folder == folder and project.name == "Demo project"
    assert len(project.runs) == len(shipped_runs())
    assert win.welcome.is_demo()

    latent, melody, text = (win.panels[k] for k in ("latent", "melody", "text"))
    qtbot.waitUntil(lambda: latent.ready(), timeout=60_000)
    assert latent.loaded.modality == "image"
    qtbot.waitUntil(lambda: getattr(melody, "model", None) is not None, timeout=60_000)
    assert melody.model.spec.modality == "melody"
    qtbot.waitUntil(lambda: getattr(text, "model", None) is not None, timeout=60_000)
    assert text.model.spec.modality == "text"
    assert Path(text.run_dir).name == "shakespeare-gpt"
    assert not win.docks["latent"].visibleRegion().isEmpty(), "the latent grid should be in front"


def test_datasets_arrive_in_the_background(make_studio_window, qtbot, monkeypatch, tmp_path):
    """After plugin discovery a child process imports each dataset; the project gains them and says so."""
    import sys

    out = tmp_path / "demo" / "datasets" / "demo-shakespeare"
    child = ("import pathlib, sys; p = pathlib.Path(sys.argv[1]); p.mkdir(parents=True); "
             "(p / 'manifest.json').write_text('{}')")
    monkeypatch.setattr(demo_start, "pending_dataset_imports", lambda folder: [(None, out)])
    monkeypatch.setattr(demo_start, "import_command", lambda run, o, python: [sys.executable, "-c", child, str(o)])
    monkeypatch.setattr(demo_start, "import_demo_datasets", lambda folder: {"text": out})
    win = make_studio_window(load_panels=False, discover=False)
    added = []
    win.ctx.dataset_added.connect(added.append)
    assert demo_start.open_demo(win.project_actions, tmp_path / "demo")
    qtbot.wait(300)
    assert not added and not out.exists(), "the import waits for start-up (plugin discovery) to finish"
    win.discovery_finished.emit()
    qtbot.waitUntil(lambda: bool(added), timeout=20_000)
    assert (out / "manifest.json").exists()
    assert added == [str(out)]
    assert win.ctx.project.datasets == ["datasets/demo-shakespeare"]
    assert win.project_actions.session.project.is_saved
