"""The originality check in the Latent grid, as an artist meets it: the large preview names the closest
training picture and its similarity, in amber when the cell is a near copy; an exported cell's recipe
records it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.core.export import read_provenance
from studio.core.project import Project
from tests.fixtures.tiny_runs import train_tiny
from tests.fixtures.toy_plugins import data as toy_data
from tests.ui.latent_pointer import centre_of, click

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("originality")
    images = toy_data.write_dataset(base / "faces", toy_data.image_spec(32), toy_data.image_tensors(16, 32), "toy32")
    run = base / "faces-vae"
    train_tiny("vae", images, run)
    return run


@pytest.fixture
def panel(qtbot, tmp_path, vae_run):
    from studio.ui.context import StudioContext
    from studio.ui.panels.latent_grid import LatentGridPanel

    ctx = StudioContext(project=Project.create(tmp_path / "proj"))
    p = LatentGridPanel(ctx)
    qtbot.addWidget(p)
    p.resize(900, 620)
    p.show()
    qtbot.waitExposed(p)
    p.open_run(str(vae_run))
    qtbot.waitUntil(lambda: p.loaded is not None and p.view.complete(), timeout=60_000)
    yield p
    p.shutdown()


def test_the_preview_names_the_closest_training_picture(qtbot, panel, tmp_path):
    assert panel.loaded.originality is not None and panel.loaded.originality.count == 14  # the training split (2 of 16 held out)
    click(panel.view, centre_of(panel.view, (0, 0)))
    note = panel.preview.note
    assert note.startswith("closest training image: training image #") and "similarity" in note
    similarity = float(note.split("similarity ")[1].split()[0])
    assert -1.0 <= similarity <= 1.0
    out = panel.exporter.export_cell(str(tmp_path / "cell.png"))
    entry = read_provenance(out)["latent"]["originality"]
    assert entry["closest_training_item"].startswith("training image #")
    assert entry["similarity"] == pytest.approx(similarity, abs=0.01)


def test_a_cell_that_is_a_training_picture_is_flagged_as_a_near_copy(qtbot, panel):
    """An index whose training pictures are the decoded cells themselves: the selected one is a copy."""
    from studio.core.originality import TrainingIndex

    keys = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]
    raws = [np.asarray(panel.view.cache[k][1]) for k in keys]
    panel.loaded.originality = TrainingIndex.for_images(torch.as_tensor(np.stack(raws)), [f"mine-{i}.png"
                                                                                           for i in range(5)])
    click(panel.view, centre_of(panel.view, (1, 0)))
    assert panel.preview.note == "closest training image: mine-1.png, similarity 1.00 (a near copy)"
    assert panel.preview._note_warns
