"""Text panel driven like a user: stream samples, stop midway, presets, copy, save, perplexity, screenshot."""
from __future__ import annotations

import itertools
import json
import math
import time

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from tests.ui.screens import save_widget

POEM = ("Shall I compare thee to a summer's day?\nThou art more lovely and more temperate: "
        "rough winds do shake the darling buds of May — été, café, 🌹.\n")


@pytest.fixture(scope="module")
def model():
    from studio_plugins.tiny_gpt import Config, plugin
    from studio.core.datasets import TrainingData
    from studio.core.plugins.api import DataSpec
    from studio.core.training.optim import EngineOptimizers, OptimSettings

    torch.set_num_threads(1)
    vocab = sorted(set(POEM))
    data = TrainingData.from_tensors(DataSpec(modality="text", vocab=vocab),
                                     tokens=torch.tensor([vocab.index(c) for c in POEM * 20]))
    torch.manual_seed(0)
    m = plugin.build(Config(layers=2, heads=2, width=32, context=32), data.spec)
    opt = EngineOptimizers(m, OptimSettings(optimizer="adamw", lr=1e-2))
    g = torch.Generator().manual_seed(0)
    for step in range(120):
        opt.set_lr(factor=0.5 * (1 + math.cos(math.pi * step / 120)))
        m.training_step(data.random_batch("train", 16, g, seq_len=m.sequence_length), opt)
    return m.eval()


@pytest.fixture
def panel(qtbot):
    from studio.ui.context import StudioContext
    from studio.ui.panels.text import TextPanel

    ctx = StudioContext()
    ctx.settings.remove("text/presets")
    w = TextPanel(ctx)
    qtbot.addWidget(w)
    w.resize(1000, 640)
    w.show()
    yield w
    w.shutdown()


def test_empty_state_until_a_model_is_set(panel, model):
    assert "No text model" in panel.model_label.text()
    assert not panel.generate_button.isEnabled() and not panel.score_button.isEnabled()
    panel.set_model(model, "tiny-gpt · sonnet")
    assert panel.generate_button.isEnabled() and "sonnet" in panel.model_label.text()


def test_streams_samples_side_by_side_and_stops_midway(panel, model, qtbot):
    panel.set_model(model, "tiny-gpt")
    panel.prime.setPlainText("Shall I")
    panel.length.setValue(100_000)
    panel.samples.setValue(2)
    panel.seed.setValue(5)
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    assert panel.stop_button.isEnabled() and not panel.generate_button.isEnabled()
    # text arrives while the worker is still writing; the UI thread keeps turning meanwhile
    qtbot.waitUntil(lambda: len(panel.views[1].generated) >= 40, timeout=20_000)
    assert panel.jobs.busy
    with qtbot.waitSignal(panel.jobs.finished, timeout=10_000) as stopped:
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert stopped.args == [True]
    assert panel.status.text() == "Stopped."
    left, right = panel.views[0], panel.views[1]
    assert 0 < len(left.generated) < 100_000
    assert left.text().startswith("Shall I") and left.seed == 5 and right.seed == 6
    assert left.generated[:30] != right.generated[:30]  # different seeds, different text
    assert panel.views[2].isHidden()
    # the prime is bold and coloured, the continuation plain
    doc = left.view.document()
    prime_fmt = doc.begin().begin().fragment().charFormat()
    assert prime_fmt.fontWeight() > 500
    assert panel.generate_button.isEnabled() and not panel.stop_button.isEnabled()


def _count_view_writes(view, monkeypatch) -> list[int]:
    """Every write into a sample view (the sizes written), however the panel batches them."""
    writes: list[int] = []
    plain = view.append

    def counted(text: str) -> None:
        writes.append(len(text))
        plain(text)
    monkeypatch.setattr(view, "append", counted)
    return writes


def _headless(model, prime: str, n: int, seed: int, controls: dict) -> str:
    """The first ``n`` characters the model writes for ``seed`` without the panel."""
    return "".join(itertools.islice(model.continue_text(prime, n, seed=seed, **controls), n))


def _ask(panel, model, prime: str, length: int, samples: int, seed: int) -> None:
    """Open ``model`` and fill the form as a user would before pressing Generate."""
    panel.set_model(model, "tiny-gpt")
    panel.prime.setPlainText(prime)
    panel.length.setValue(length)
    panel.samples.setValue(samples)
    panel.seed.setValue(seed)


def test_long_stream_arrives_complete_in_order_in_batches(panel, model, qtbot, monkeypatch):
    from studio.ui.panels.text import PAINT_MS

    _ask(panel, model, "Shall I", 3000, 1, 11)
    view = panel.views[0]
    writes = _count_view_writes(view, monkeypatch)
    start = time.perf_counter()
    with qtbot.waitSignal(panel.jobs.finished, timeout=120_000) as done:
        panel.generate_button.click()
    elapsed = time.perf_counter() - start
    assert done.args == [False] and panel.status.text() == "Done."
    expected = _headless(model, "Shall I", 3000, 11, panel.request().controls())
    # every character, in order, both in the sample and on screen
    assert view.generated == expected
    assert view.view.toPlainText() == "Shall I" + expected
    assert panel.progress.value() == 3000
    # the view is written on a clock, not per character: at most one write per paint tick
    assert 1 <= len(writes) <= elapsed * 1000 / (0.9 * PAINT_MS) + 2
    assert sum(writes) == 3000


def test_text_that_piles_up_while_the_window_is_busy_goes_in_at_once(panel, model, qtbot, monkeypatch):
    _ask(panel, model, "Thou", 1500, 2, 4)
    writes = [_count_view_writes(v, monkeypatch) for v in panel.views[:2]]
    with qtbot.waitSignal(panel.jobs.finished, timeout=20_000):  # the queued chunks and the end arrive after
        panel.generate_button.click()
        panel.jobs.wait(120.0)  # the UI thread does not turn while the model writes everything
    controls = panel.request().controls()
    for i, view in enumerate(panel.views[:2]):
        assert view.generated == _headless(model, "Thou", 1500, 4 + i, controls)
        # 1,500 characters in at most two inserts (the first batch goes in at once, the rest together)
        assert 1 <= len(writes[i]) <= 2


def test_stop_mid_stream_keeps_an_exact_prefix(panel, model, qtbot, monkeypatch):
    _ask(panel, model, "Shall I", 100_000, 1, 2)
    view = panel.views[0]
    writes = _count_view_writes(view, monkeypatch)
    panel.generate_button.click()
    qtbot.waitUntil(lambda: len(view.generated) >= 300, timeout=60_000)
    assert panel.jobs.busy and len(writes) < len(view.generated)
    with qtbot.waitSignal(panel.jobs.finished, timeout=10_000) as stopped:
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert stopped.args == [True] and panel.status.text() == "Stopped."
    n = len(view.generated)
    assert 300 <= n < 100_000
    assert view.generated == _headless(model, "Shall I", n, 2, panel.request().controls())
    assert view.view.toPlainText() == "Shall I" + view.generated
    assert panel.progress.value() == n
    assert panel.generate_button.isEnabled() and not panel.stop_button.isEnabled()


def test_small_models_write_on_one_thread_and_give_the_threads_back(panel, model, qtbot):
    """Per-character steps shared between threads wait on each other (10-40x slower on busy cores),
    so the panel and `studio generate` decode on one thread, and leave torch's setting as it was."""
    seen: list[int] = []
    plain_advance = model.advance

    def spy(tokens, state):
        seen.append(torch.get_num_threads())
        return plain_advance(tokens, state)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model.advance = spy
        panel.set_model(model, "tiny-gpt")
        panel.length.setValue(50)
        panel.samples.setValue(1)
        with qtbot.waitSignal(panel.jobs.finished, timeout=20_000):
            panel.generate_button.click()
        assert seen and set(seen) == {1}
        seen.clear()
        model.sample(1, seed=0, length=20)  # what `studio generate` calls
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2
    finally:
        del model.advance
        torch.set_num_threads(before)


def test_same_seed_gives_the_same_text_as_the_model(panel, model, qtbot):
    panel.set_model(model, "tiny-gpt")
    panel.prime.setPlainText("Thou art")
    panel.length.setValue(60)
    panel.samples.setValue(1)
    panel.temperature.setValue(0.7)
    panel.seed.setValue(3)
    with qtbot.waitSignal(panel.jobs.finished, timeout=20_000) as done:
        panel.generate_button.click()
    assert done.args == [False] and panel.status.text() == "Done."
    expected = model.sample(1, seed=3, length=60, prime="Thou art", temperature=0.7, top_p=0.95)[0]
    assert panel.views[0].text() == expected
    assert panel.progress.value() == 60
    panel.views[0].copy_button.click()
    assert QGuiApplication.clipboard().text() == expected


def test_presets_save_apply_delete_and_persist(panel, qtbot):
    panel.temperature.setValue(1.3)
    panel.top_k.setValue(7)
    panel.save_preset("Stormy")
    assert "Stormy" in [panel.preset.itemText(i) for i in range(panel.preset.count())]
    panel.apply_preset("Balanced")
    assert panel.temperature.value() == pytest.approx(0.8) and panel.top_k.value() == 0
    # a second panel on the same settings sees the preset
    from studio.ui.panels.text import TextPanel
    other = TextPanel(panel.ctx)
    qtbot.addWidget(other)
    other.apply_preset("Stormy")
    assert other.temperature.value() == pytest.approx(1.3) and other.top_k.value() == 7
    with pytest.raises(ValueError, match="built-in"):
        panel.save_preset("Balanced")
    panel.delete_preset("Stormy")
    assert "Stormy" not in panel.presets.all()
    assert not panel.delete_preset_button.isEnabled() or panel.preset.currentText() not in panel.presets.BUILT_IN


def test_save_with_header_comment_or_sidecar(panel, model, qtbot, tmp_path):
    from studio_plugins.tiny_gpt import plugin
    panel.set_model(model, "tiny-gpt", plugin)
    panel.prime.setPlainText("Shall")
    panel.length.setValue(40)
    panel.samples.setValue(1)
    panel.seed.setValue(9)
    with qtbot.waitSignal(panel.jobs.finished, timeout=20_000):
        panel.generate_button.click()
    text = panel.views[0].text()
    header = panel.save_sample(0, tmp_path / "a.txt", "header")
    content = header.read_text(encoding="utf-8")
    assert content.startswith("#") and content.endswith(text)
    from studio.core.export.text import split_text
    body, recipe = split_text(content)
    assert body == text and recipe["seed"] == 9 and recipe["sampling"]["temperature"] == pytest.approx(0.8)
    side = panel.save_sample(0, tmp_path / "b.txt", "sidecar")
    assert side.read_text(encoding="utf-8") == text
    sidecar = json.loads((tmp_path / "b.txt.json").read_text(encoding="utf-8"))
    assert sidecar["seed"] == 9 and sidecar["sampling"]["prime"] == "Shall"
    assert sidecar["plugin"]["id"] == "tiny-gpt"


def test_perplexity_of_a_pasted_text(panel, model, qtbot):
    panel.set_model(model, "tiny-gpt")
    panel.tabs.setCurrentIndex(1)
    panel.score_text.setPlainText(POEM * 2)
    with qtbot.waitSignal(panel.jobs.scored, timeout=20_000):
        panel.score_button.click()
    familiar = panel.score_result.text()
    assert "Perplexity" in familiar
    ppl_familiar = float(familiar.split("Perplexity ")[1].split("<")[0])
    panel.score_text.setPlainText("zzqx vvv 🦄 kkk wwq")
    with qtbot.waitSignal(panel.jobs.scored, timeout=20_000):
        panel.score_button.click()
    strange = panel.score_result.text()
    assert float(strange.split("Perplexity ")[1].split("<")[0]) > ppl_familiar * 3
    assert "Skipped" in strange and "🦄" in strange


def test_selecting_a_run_that_cannot_be_opened_says_why(panel, qtbot, tmp_path):
    panel.ctx.run_selected.emit(str(tmp_path / "no-such-run"))
    qtbot.waitUntil(lambda: "no-such-run" in panel.status.text() or "cannot open" in panel.status.text(),
                    timeout=20_000)
    assert panel.model is None and not panel.generate_button.isEnabled()


def test_screenshot(panel, model, qtbot):
    panel.set_model(model, "tiny-gpt · sonnets · step 120")
    panel.prime.setPlainText("Shall I compare")
    panel.length.setValue(160)
    panel.samples.setValue(3)
    with qtbot.waitSignal(panel.jobs.finished, timeout=30_000):
        panel.generate_button.click()
    path = save_widget(panel, "text-panel", min_colours=20)
    assert path.exists()


def test_runs_of_other_kinds_are_left_to_their_panels(qtbot, tmp_path):
    """Selecting an image run elsewhere must not replace (or error) the Text panel's model."""
    import json

    from studio.ui.context import StudioContext
    from studio.ui.panels.text import TextPanel

    run = tmp_path / "image-run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"id": "x", "plugin": {"id": "vae"}, "status": "done", "step": 1,
                                              "data_spec": {"modality": "image"}}))
    ctx = StudioContext()
    panel = TextPanel(ctx)
    qtbot.addWidget(panel)
    before = panel.status.text()
    ctx.run_selected.emit(str(run))
    qtbot.wait(50)
    assert panel.status.text() == before
    assert getattr(panel, "run_dir", None) != str(run)
    panel.shutdown()
