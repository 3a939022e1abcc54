"""Proof of equality (issue 18): a third-party text plugin that implements only the documented API
installs, trains with the engine, opens in the Text panel, writes, is scored and exports.

The example (``examples/text-plugin-example``) is built and installed with
``pip install --no-deps --no-build-isolation --no-index --target`` into a temporary folder, as
``test_plugin_template.py`` does; that folder then goes on ``sys.path`` of this process (entry-point
discovery reads it) and comes off again afterwards, so other tests never see the plugin.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from tests.e2e.example_install import importable, pip_install_example
from tests.fixtures.toy_plugins import data as toy_data

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "text-plugin-example"
PLUGIN_ID = "example-char-bigram"
ENGINE = {"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_every": 0, "checkpoint_minutes": 0,
          "batch_size": 8, "lr": 0.1}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = pip_install_example(EXAMPLE, tmp_path_factory, "studio_text_bigram")
    with importable(target, "studio_text_bigram"):
        yield target


@pytest.fixture(scope="module")
def run(installed, tmp_path_factory):
    from studio.core.training.engine import train

    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("text-plugin-run")
    out = base / "bigram-run"
    result = train(PLUGIN_ID, toy_data.write_text_dataset(base / "fox"), out, steps=40, settings=ENGINE)
    assert str(getattr(result.status, "value", result.status)) == "done", result
    assert list((out / "checkpoints").glob("step-*.safetensors"))
    return out


@pytest.fixture
def panel(qtbot):
    from studio.ui.context import StudioContext
    from studio.ui.panels.text import TextPanel

    ctx = StudioContext()
    w = TextPanel(ctx)
    qtbot.addWidget(w)
    w.resize(900, 600)
    w.show()
    yield w
    w.shutdown()


def test_discovered_as_a_text_plugin(installed):
    from studio.core.plugins.registry import discover

    entry = discover()[PLUGIN_ID]
    plugin = entry.plugin
    assert plugin.modality == "text" and plugin.capabilities == {"continue", "score"}
    # the plugin never touches the studio's text helpers: only the documented API
    for py in (EXAMPLE / "studio_text_bigram").glob("*.py"):
        studio_imports = [line for line in py.read_text().splitlines()
                          if line.split()[:2] and line.split()[0] in ("from", "import")
                          and line.split()[1].split(".")[0] == "studio"]
        assert all(line.split()[1] in ("studio.core.plugins.api", "studio.core.plugins.model")
                   for line in studio_imports), (py.name, studio_imports)
        assert "studio_plugins.text_common" not in py.read_text()


def test_writes_scores_and_saves_in_the_text_panel(run, panel, qtbot, tmp_path):
    from studio.core.export import read_provenance

    with qtbot.waitSignal(panel.jobs.model_loaded, timeout=60_000):
        panel.open_run(str(run))
    qtbot.waitUntil(lambda: panel.stream is not None and not panel.loading(), timeout=10_000)
    assert panel.plugin.id == PLUGIN_ID and "Char bigram" in panel.model_label.text()
    assert not hasattr(panel.model, "continue_text")  # the panel writes through the adapter alone
    assert panel.generate_button.isEnabled() and panel.tabs.isTabEnabled(1) and panel.score_button.isEnabled()

    panel.prime.setPlainText("the ")
    panel.length.setValue(60)
    panel.samples.setValue(2)
    panel.seed.setValue(3)
    with qtbot.waitSignal(panel.jobs.finished, timeout=60_000) as done:
        panel.generate_button.click()
    assert done.args == [False] and panel.status.text() == "Done."
    vocab = set(toy_data.TEXT)
    for view in panel.views[:2]:
        assert len(view.generated) == 60 and set(view.generated) <= vocab
        assert view.text().startswith("the ")
    assert panel.views[0].generated != panel.views[1].generated  # seeds 3 and 4
    # deterministic for a seed, and the same as the adapter writes without the panel
    again = "".join(panel.stream.continue_text("the ", 60, seed=3, **panel.last_request.controls()))
    assert again == panel.views[0].generated

    saved = panel.save_sample(0, tmp_path / "bigram.txt", "header")
    text = saved.read_text(encoding="utf-8")
    assert panel.views[0].generated in text
    recipe = read_provenance(saved)
    assert recipe["plugin"]["id"] == PLUGIN_ID and recipe["seed"] == 3

    panel.tabs.setCurrentIndex(1)
    panel.score_text.setPlainText("the lazy dog jumps over the quick brown fox")
    with qtbot.waitSignal(panel.jobs.scored, timeout=30_000) as scored:
        panel.score_button.click()
    r = scored.args[0]
    assert 1.0 < r["perplexity"] < len(vocab) and r["chars"] == 42
    assert "Perplexity" in panel.score_result.text()


def test_studio_generate_exports_text(run, tmp_path):
    from studio.core.export.generate import GenerateRequest, generate_files, source_for_run
    from studio.core.training.checkpoints import load_model

    model, plugin, info = load_model(run)
    files = generate_files(model, plugin, GenerateRequest(out=tmp_path / "texts", n=2, seed=1, temperature=0.7,
                                                          length=30, prime="the "), source_for_run(run, info))
    assert len(files) == 2
    for f in files:
        assert f.read_text(encoding="utf-8").startswith("the ")


def test_without_score_the_surprise_tab_says_why(run, panel):
    from studio.core.training.checkpoints import load_model

    model, plugin, _ = load_model(run)
    only_continue = dataclasses.replace(plugin, capabilities=frozenset({"continue"}))
    panel.set_model(model, "bigram", only_continue)
    assert panel.generate_button.isEnabled()
    assert not panel.tabs.isTabEnabled(1) and not panel.score_button.isEnabled()
    assert "score" in panel.tabs.tabToolTip(1)


def test_a_model_that_declares_no_continue_is_refused(run, panel):
    from studio.core.training.checkpoints import load_model

    model, plugin, _ = load_model(run)
    panel.set_model(model, "bigram", dataclasses.replace(plugin, capabilities=frozenset()))
    assert panel.stream is None and not panel.generate_button.isEnabled()
    assert "continue" in panel.status.text()
