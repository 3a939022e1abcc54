"""Restoring a melody or text opens the checkpoint its recipe names, not the run's newest one.

Each run here has two checkpoints (steps 2 and 4, different weights); the files are exported
from the OLDER one. Dropping them on the window selects the run (the panels start opening the
newest checkpoint) and then asks for the recorded one: that later request must win, the panel
must say which step it holds, and what it exports afterwards must name that checkpoint.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from studio.core.export import read_provenance
from tests.fixtures.toy_plugins import data as toy_data
from tests.ui.screens import save_widget
from tests.ui.restore_helpers import answer, drop  # noqa: F401 - the dialog-answering fixture

pytestmark = pytest.mark.timeout(240)
ENGINE = {"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_every": 2, "checkpoint_minutes": 0,
          "batch_size": 8, "keep_last": 5}
OLD, NEW = 2, 4


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A melody run and a text run with checkpoints at steps 2 and 4, and files exported from step 2."""
    from studio.core.export.generate import GenerateRequest, generate_files, source_for_run
    from studio.core.training.checkpoints import list_checkpoints, load_model
    from studio.core.training.engine import train

    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("restore-ckpt")
    mel_run, txt_run = base / "runs" / "tunes-rnn", base / "runs" / "fox-rnn"
    train("melody-rnn", toy_data.write_melody_dataset(base / "tunes"), mel_run, steps=NEW,
          settings={**ENGINE, "layers": 1, "hidden": 16, "embed": 8, "lr": 0.05})
    train("char-rnn", toy_data.write_text_dataset(base / "fox"), txt_run, steps=NEW,
          settings={**ENGINE, "layers": 1, "width": 16, "embedding": 8, "lr": 0.05})
    out = base / "exports"
    files = {}
    for run, req in ((mel_run, GenerateRequest(out=out / "tune.wav", seed=11, temperature=0.9, top_k=5, length=32)),
                     (txt_run, GenerateRequest(out=out / "texts", n=2, seed=3, temperature=0.6, top_k=4, length=20,
                                               prime="the "))):
        assert [c.step for c in list_checkpoints(run)] == [OLD, NEW], f"{run}: expected two checkpoints"
        model, plugin, info = load_model(run, checkpoint=OLD)
        assert info.step == OLD
        files[run.name] = generate_files(model, plugin, req, source_for_run(run, info))
    return {"melody": mel_run, "text": txt_run, "wav": files["tunes-rnn"][0], "txt": files["fox-rnn"][1]}


def weights(run: Path, step: int) -> dict[str, torch.Tensor]:
    from studio.core.training.checkpoints import load_model

    return load_model(run, checkpoint=step)[0].state_dict()


def same_weights(model, want: dict[str, torch.Tensor]) -> bool:
    have = model.state_dict()
    return have.keys() == want.keys() and all(torch.equal(have[k], want[k]) for k in want)


@pytest.fixture
def window(make_studio_window):
    win = make_studio_window(discover=False)
    win.resize(1300, 800)
    return win


def test_the_two_checkpoints_differ(made):
    for run in (made["melody"], made["text"]):
        old, new = weights(run, OLD), weights(run, NEW)
        assert any(not torch.equal(old[k], new[k]) for k in old), f"{run}: training did not change the weights"


def restored_panel(qtbot, window, path, key: str, shot: str):
    """Drop ``path`` on the window and wait for panel ``key`` to hold the recorded (older) checkpoint."""
    recipe = read_provenance(path)
    assert recipe["checkpoint"]["step"] == OLD
    drop(qtbot, window, path)
    qtbot.waitUntil(lambda: window.restore_drop.last is not None, timeout=10_000)
    panel = window.panels[key]
    qtbot.waitUntil(lambda: panel.model is not None and not panel.loading(), timeout=60_000)
    assert panel.checkpoint_step == OLD and f"step {OLD}" in panel.model_label.text()
    assert "restored file's checkpoint" in panel.model_label.text()
    save_widget(panel, shot)
    return panel, recipe


def test_a_restored_melody_opens_its_recorded_checkpoint(qtbot, window, made, answer, tmp_path):  # noqa: F811
    melody, recipe = restored_panel(qtbot, window, made["wav"], "melody", "restore_checkpoint_melody")
    assert "restoring opens this very checkpoint" in answer.seen[0]["rows"]["Checkpoint"]
    assert same_weights(melody.model, weights(made["melody"], OLD))
    assert melody.seed.value() == 11 and melody.top_k.value() == 5
    # a variation generated now, exported, names the recorded checkpoint
    melody.variations.setValue(1)
    assert melody.gen_btn.isEnabled()
    melody.gen_btn.click()
    qtbot.waitUntil(lambda: melody.var_list.count() == 1 and not melody.jobs.busy, timeout=30_000)
    again = read_provenance(melody.export(tmp_path / "again.mid"))
    assert again["checkpoint"]["step"] == OLD
    assert again["checkpoint"]["sha256"] == recipe["checkpoint"]["sha256"]
    assert Path(again["checkpoint"]["path"]).name == Path(recipe["checkpoint"]["path"]).name


def test_a_restored_text_opens_its_recorded_checkpoint(qtbot, window, made, answer, tmp_path):  # noqa: F811
    text, recipe = restored_panel(qtbot, window, made["txt"], "text", "restore_checkpoint_text")
    assert same_weights(text.model, weights(made["text"], OLD))
    with qtbot.waitSignal(text.jobs.finished, timeout=30_000):
        text.generate_button.click()
    body = made["txt"].read_text(encoding="utf-8").split("\n\n# ---- ")[0]
    assert text.views[0].text() == body                    # what the older checkpoint wrote, written again
    again = read_provenance(text.save_sample(0, tmp_path / "again.txt"))
    assert again["checkpoint"]["step"] == OLD and again["checkpoint"]["sha256"] == recipe["checkpoint"]["sha256"]
    assert again["run"]["path"] == str(made["text"].resolve())


@pytest.mark.parametrize("slow", ["newest", "recorded"])
def test_the_later_load_request_wins_whichever_load_is_slower(qtbot, made, monkeypatch, slow):
    """The Text panel asked for the newest checkpoint, then for the older one: the older one is what it holds,
    whether the first load is still running when the second is asked for or not."""
    from studio.core.training import checkpoints
    from studio.ui.context import StudioContext
    from studio.ui.panels.text import TextPanel

    real = checkpoints.load_model

    def timed(run_dir, checkpoint=None, **kw):
        if (checkpoint is None) == (slow == "newest"):
            time.sleep(0.6)
        return real(run_dir, checkpoint=checkpoint, **kw)

    monkeypatch.setattr(checkpoints, "load_model", timed)
    panel = TextPanel(StudioContext())
    qtbot.addWidget(panel)
    try:
        old = str(checkpoints.checkpoint_path(made["text"] / "checkpoints", OLD))
        applied: list = []
        real_set = panel.set_model
        monkeypatch.setattr(panel, "set_model", lambda model, *a: applied.append(model) or real_set(model, *a))
        panel.open_run(str(made["text"]))
        panel.open_run(str(made["text"]), checkpoint=old)
        assert not panel.generate_button.isEnabled()       # nothing to write with until the newest request lands
        qtbot.waitUntil(lambda: panel.model is not None and not panel.loading(), timeout=30_000)
        qtbot.wait(200)  # a stale result arriving late would show up here
        assert panel.checkpoint_step == OLD and same_weights(panel.model, weights(made["text"], OLD))
        assert len(applied) == 1  # the replaced request's model was never put in, not even for a moment
        # and the other way round: asking for the newest afterwards gives the newest
        panel.open_run(str(made["text"]))
        qtbot.waitUntil(lambda: panel.checkpoint_step == NEW and not panel.loading(), timeout=30_000)
        assert "newest checkpoint" in panel.model_label.text()
    finally:
        panel.shutdown()
