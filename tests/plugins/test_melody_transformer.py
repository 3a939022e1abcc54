"""melody-transformer: learns repeated bars (4/4 and 6/8), attends only to the past, continues a primer,
is deterministic for a seed, scores sequences, and is registered like the other melody models."""
from __future__ import annotations

import math

import pytest
import torch

from studio.core.datasets.training_data import TrainingData
from studio.core.plugins.api import ConfigError, HOLD, REST, config_from_dict
from tests.plugins.melody_fixtures import SPEC, motif_phrases, train

torch.set_num_threads(1)


def make(**kw):
    from studio_plugins.melody_transformer import plugin
    plugin.validate()
    cfg = {"width": 48, "heads": 4, "layers": 2, "dropout": 0.0, "transpose": 0, **kw}
    return plugin.build(config_from_dict(plugin.Config, cfg), SPEC)


def jig_phrases(n: int = 96, seed: int = 0) -> torch.Tensor:
    """6/8 phrases: a 12-step bar of three-eighth figures (long-short), repeated over 64 steps."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for _ in range(n):
        base = int(torch.randint(55, 70, (1,), generator=g))
        bar = []
        for step, dur in ((0, 4), (4, 2), (7, 4), (12, 2)):
            bar += [2 + base + step - SPEC.min_pitch] + [HOLD] * (dur - 1)
        rows.append((bar * 6)[:64])
    return torch.tensor(rows, dtype=torch.long)


@pytest.fixture(scope="module")
def data():
    ev = motif_phrases()
    return TrainingData.from_tensors(SPEC, events=ev, val_mask=torch.arange(len(ev)) % 6 == 0)


@pytest.fixture(scope="module")
def trained(data):
    torch.manual_seed(0)
    model = make()
    before = model.evaluate(data.iter_batches("val", 32))["nll_per_event"]
    train(model, data, 120, lr=3e-3)
    return model, before


def test_learns_repeated_bars_well_below_chance(trained, data):
    model, before = trained
    after = model.evaluate(data.iter_batches("val", 32))
    assert before == pytest.approx(math.log(SPEC.vocab_size), rel=0.2)  # untrained ~ uniform
    assert after["nll_per_event"] < 0.45 * before
    assert after["events"] == data.size("val") * SPEC.phrase_length
    # validation_step reports the same loss the engine monitors for early stopping
    val = model.validation_step(data.tensors["events"][:8])
    assert set(val) == {"val_loss", "val_accuracy"} and val["val_loss"] < 0.45 * before


def test_attention_sees_only_the_past():
    torch.manual_seed(0)
    model = make().eval()
    seq = motif_phrases(2)
    changed = seq.clone()
    changed[:, 40:] = REST
    with torch.no_grad():
        a, b = model(seq), model(changed)
    # logits for steps 0..40 depend on events 0..39 only
    assert torch.allclose(a[:, :41], b[:, :41], atol=1e-5)
    assert not torch.allclose(a[:, 41:], b[:, 41:])


def test_sampling_is_deterministic_for_a_seed(trained):
    model, _ = trained
    a, b, c = model.sample(3, seed=7), model.sample(3, seed=7), model.sample(3, seed=8)
    assert a.dtype == torch.long and a.shape == (3, SPEC.phrase_length)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert 0 <= int(a.min()) and int(a.max()) < SPEC.vocab_size
    assert model.sample(2, seed=0, length=100).shape == (2, 100)  # longer than it was trained on


def test_continue_repeats_the_primed_bar_and_scores_it(trained, data):
    model, _ = trained
    row = data.tensors["events"][0]
    out = list(model.generate(row[:32].tolist(), 16, temperature=0.0, seed=0))
    assert len(out) == 16 and all(isinstance(t, int) for t in out)
    assert out == row[32:48].tolist()  # the bar it heard twice, in the same key
    nll_real = model.token_nll(row.tolist())
    shuffled = row[torch.randperm(64, generator=torch.Generator().manual_seed(0))]
    assert 0 < nll_real < model.token_nll(shuffled.tolist())


def test_learns_a_six_eight_bar_from_the_three_beat_position():
    ev = jig_phrases()
    data = TrainingData.from_tensors(SPEC, events=ev, val_mask=torch.arange(len(ev)) % 6 == 0)
    torch.manual_seed(0)
    model = make()
    train(model, data, 150, lr=3e-3)
    row = ev[1]
    out = list(model.generate(row[:24].tolist(), 24, temperature=0.0, seed=0))
    assert out == row[24:48].tolist()  # two more 12-step bars, long-short figures in place


def test_config_is_validated_and_the_plugin_is_registered():
    from studio_plugins.melody_transformer import plugin
    with pytest.raises(ConfigError):
        config_from_dict(plugin.Config, {"layers": 0})
    with pytest.raises(ValueError, match="multiple of Heads"):
        make(width=50, heads=4)
    assert plugin.engine_defaults["early_stopping"] > 0  # small collections stop before they memorise
    import tomllib
    from importlib.metadata import EntryPoint
    from pathlib import Path
    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    value = project["project"]["entry-points"]["studio.models"]["melody-transformer"]
    assert EntryPoint("melody-transformer", value, "studio.models").load() is plugin


def test_generated_melodies_never_fall_silent_for_long():
    torch.manual_seed(0)
    model = make(max_silence=4)
    with torch.no_grad():
        for p in model.head.parameters():
            p.zero_()
        model.head.bias[REST] = 20.0  # an untrained model that only wants silence
    out = model.sample(4, seed=0)
    for row in out.tolist():
        silent, longest = 0, 0
        for tok in row:  # a note sounds until a REST; HOLD keeps whatever was going on
            silent = 0 if tok > HOLD else silent + 1 if tok == REST or silent else 0
            longest = max(longest, silent)
        assert longest == 4  # it wants silence, and gets exactly the cap
        assert sum(t > HOLD for t in row) >= 64 // 5


def test_collection_size_rule_never_transposes():
    from studio_plugins.melody_common import settings_for_collection
    small, usual = settings_for_collection(30), settings_for_collection(100)
    assert small["dropout"] > 0.2 and usual == {}  # measured: more dropout did not help at 100 tunes
    assert "transpose" not in small  # measured: transposition made the pitch classes drift off the collection's keys
