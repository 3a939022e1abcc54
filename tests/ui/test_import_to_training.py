"""From an import to a run on it, as a newcomer goes: drop a folder in Datasets, press "Train a model on
this", Start; the run trains on the imported pictures (not on the project's first image dataset), the
Training and Runs panels name that dataset, and training on another dataset of the same kind asks first."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from studio.core.training.run_folder import read_run
from tests.core.datasets.corpus import png_bytes
from tests.ui.train_helpers import no_modal_dialogs, project, toys, train_ctx, wait_for  # noqa: F401

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def panels(qtbot, train_ctx):
    from studio.ui.panels.datasets import DatasetsPanel
    from studio.ui.panels.models import ModelsPanel
    from studio.ui.panels.runs import RunsPanel
    from studio.ui.panels.training import TrainingPanel

    made = {"datasets": DatasetsPanel(train_ctx), "models": ModelsPanel(train_ctx),
            "training": TrainingPanel(train_ctx), "runs": RunsPanel(train_ctx)}
    for w in made.values():
        qtbot.addWidget(w)
        w.resize(480, 700)
        w.show()
    yield made
    made["datasets"].shutdown()
    made["training"].watcher.stop()
    made["runs"].shutdown()


def _my_pictures(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i in range(12):
        (folder / f"{i:02d}.png").write_bytes(png_bytes((20, 20), colour=(20 * i, 90, 200 - 10 * i)))
    return folder


def _answer(monkeypatch, reply):
    asked = []

    def question(_parent, title, text, *a, **k):
        asked.append(f"{title}: {text}")
        return reply

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_an_import_is_what_gets_trained_and_the_panels_say_so(qtbot, tmp_path, panels, train_ctx, monkeypatch):
    ds, models, training, runs = panels["datasets"], panels["models"], panels["training"], panels["runs"]
    # the project opens on its newest dataset (the text one): Models offers a text model for it
    assert models.datasets.current_folder().name == "fox" and models.current_plugin().modality == "text"

    ds.size.setValue(8)  # the toy image model is small
    with qtbot.waitSignal(ds.import_ended, timeout=60_000) as sig:
        ds.import_paths([str(_my_pictures(tmp_path / "My drawings"))])
    assert sig.args == ["done"]
    mine = Path(ds.selected_folder())
    assert mine.name == "My-drawings-images" and ds.train_btn.isEnabled()
    # the import itself already moved Models onto it, with an image model
    assert models.datasets.current_folder() == mine and models.current_plugin().modality == "image"

    # the user looks at the text dataset, then comes back and presses "Train a model on this"
    ds.list.setCurrentRow(1)
    assert models.datasets.current_folder().name == "fox" and models.current_plugin().modality == "text"
    ds.list.setCurrentRow(2)
    qtbot.mouseClick(ds.train_btn, Qt.MouseButton.LeftButton)
    assert models.datasets.current_folder() == mine and models.current_plugin().modality == "image"
    assert models.current_plugin().family == "vae"  # 12 pictures: the family that copes with few, not a GAN
    assert models.plugins.select("toy-image")  # the user's pick among the image models keeps the dataset
    assert models.datasets.current_folder() == mine
    assert models.plugins.select("toy-text") and models.datasets.current_folder().name == "fox"
    assert models.plugins.select("toy-image") and models.datasets.current_folder() == mine  # and back

    # training on another image dataset than the selected one asks; "No" starts nothing
    asked = _answer(monkeypatch, QMessageBox.StandardButton.No)
    assert models.datasets.select(train_ctx.project.datasets_dir / "blobs")
    models.length.setValue(12)
    models.forms.engine_form.set_values({"sample_every": 0, "checkpoint_every": 0})
    models.forms.more_form.set_values({"val_every": 0})
    qtbot.mouseClick(models.start_btn, Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and "My-drawings-images" in asked[0] and "blobs" in asked[0]
    assert models.last_run is None and not train_ctx.project.runs

    # back on the import: Start asks nothing, and the run trains on the pictures just imported
    assert models.datasets.select(mine)
    models.run_name.setText("on my drawings")
    qtbot.mouseClick(models.start_btn, Qt.MouseButton.LeftButton)
    assert len(asked) == 1
    run_dir = train_ctx.project.runs_dir / "on-my-drawings"
    assert models.last_run == run_dir
    status = models.procs.get(run_dir).wait(timeout=120)
    assert status.state == "done", status
    assert Path(read_run(run_dir)["dataset"]["path"]).resolve() == mine.resolve()
    wait_for(qtbot, lambda: training.dataset.text() == "Dataset: My-drawings-images", 20, "the Training panel")
    runs.refresh()
    from studio.ui.panels.runs import COLUMNS
    row = [runs.table.item(r, 0).text() for r in range(runs.table.rowCount())].index("on-my-drawings")
    assert runs.table.item(row, COLUMNS.index("Dataset")).text() == "My-drawings-images"


def test_another_kind_of_data_asks_nothing_and_yes_goes_ahead(qtbot, panels, train_ctx, monkeypatch):
    from tests.fixtures.toy_plugins import data as toy_data

    models = panels["models"]
    proj = train_ctx.project
    second = toy_data.write_dataset(proj.datasets_dir / "blobs-2", toy_data.image_spec(), toy_data.image_tensors(),
                                    "toy-image", {"accepted": []})
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    train_ctx.dataset_selected.emit(str(proj.datasets_dir / "fox"))
    assert models.current_plugin().modality == "text"
    assert models.plugins.select("toy-image")  # another kind of data than the selection: the model says it
    assert models.datasets.current_folder().name == "blobs"
    models.forms.engine_form.set_values({"sample_every": 0, "checkpoint_every": 0})
    models.forms.more_form.set_values({"val_every": 0})
    models.length.setValue(5)
    first = models.start()
    assert first is not None and not asked
    models.procs.get(first).wait(timeout=120)

    train_ctx.dataset_selected.emit(str(second))  # selected in Datasets...
    assert models.datasets.current_folder() == Path(second)
    assert models.datasets.select(proj.datasets_dir / "blobs")  # ...but another image set picked here
    run = models.start()
    assert len(asked) == 1 and "blobs-2" in asked[0]
    assert run is not None
    models.procs.get(run).wait(timeout=120)
    assert Path(read_run(run)["dataset"]["path"]).name == "blobs"
