"""The Training panel says under the samples how close they are to the user's own pictures, and turns
amber when the model starts to copy (figures the trainer writes at each preview)."""
from __future__ import annotations

import pytest

from studio.core.project import Project
from tests.fixtures.tiny_runs import train_tiny
from tests.fixtures.toy_plugins import data as toy_data

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def panel(qtbot, tmp_path):
    from studio.ui.context import StudioContext
    from studio.ui.panels.training import TrainingPanel

    p = TrainingPanel(StudioContext(project=Project.create(tmp_path / "proj")))
    qtbot.addWidget(p)
    p.resize(640, 560)
    p.show()
    yield p
    p.shutdown()


def test_a_finished_run_shows_its_originality_under_the_samples(qtbot, panel, tmp_path):
    images = toy_data.write_dataset(tmp_path / "faces", toy_data.image_spec(32), toy_data.image_tensors(16, 32), "toy")
    run = tmp_path / "faces-vae"
    assert train_tiny("vae", images, run, steps=4, sample_every=2).ok  # a preview every 2 steps
    panel.follow(str(run))
    qtbot.waitUntil(lambda: panel.preview.originality.text() != "", timeout=20_000)
    text = panel.preview.originality.text()
    assert text.startswith("Originality: closest training picture similarity ") and "near copies" in text
    assert "originality/" not in panel.figures.text()  # its own line, not in the loss figures


def test_the_line_turns_into_a_warning_when_copies_pass_the_limit(qtbot, panel):
    line = panel.preview.originality
    panel.preview.show_originality({"originality/similarity": 0.97, "originality/copy_rate": 0.5,
                                    "originality/copy_limit": 0.2})
    assert "50% of the samples are near copies (over 20%): the model starts to copy your data" in line.text()
    assert "bold" in line.styleSheet()
    panel.preview.show_originality({"originality/copy_rate": 0.01, "originality/copy_limit": 0.05})
    assert line.text() == "Originality: 1% of the samples' 8-note figures come from the training tunes"
    assert line.styleSheet() == ""
