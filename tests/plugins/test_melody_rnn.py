"""melody-rnn: learns, continues a primer, is deterministic for a seed, beam search, NLL eval, ONNX step."""
from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pytest
import torch

from studio.core.datasets.training_data import TrainingData
from studio.core.plugins.api import ConfigError, config_from_dict
from tests.plugins.melody_fixtures import SPEC, motif_phrases, train

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data():
    ev = motif_phrases()
    return TrainingData.from_tensors(SPEC, events=ev, val_mask=torch.arange(len(ev)) % 6 == 0)


def make(**kw):
    from studio_plugins.melody_rnn import plugin
    plugin.validate()
    return plugin.build(config_from_dict(plugin.Config, {"hidden": 64, "layers": 1, "embed": 16, **kw}), SPEC)


@pytest.fixture(scope="module")
def trained(data):
    torch.manual_seed(0)
    model = make()
    before = model.evaluate(data.iter_batches("val", 32))["nll_per_event"]
    train(model, data, 120)
    return model, before


def test_learns_repeated_bars_well_below_chance(trained, data):
    model, before = trained
    after = model.evaluate(data.iter_batches("val", 32))
    assert before == pytest.approx(math.log(SPEC.vocab_size), rel=0.15)  # untrained ~ uniform
    assert after["nll_per_event"] < 0.45 * before
    assert after["events"] == data.size("val") * SPEC.phrase_length
    assert after["perplexity"] == pytest.approx(math.exp(after["nll_per_event"]), rel=1e-4)


def test_sampling_is_deterministic_for_a_seed(trained):
    model, _ = trained
    a, b, c = model.sample(3, seed=7), model.sample(3, seed=7), model.sample(3, seed=8)
    assert a.dtype == torch.long and a.shape == (3, SPEC.phrase_length)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert int(a.max()) < SPEC.vocab_size and int(a.min()) >= 0


def test_continue_streams_tokens_and_follows_the_primer(trained, data):
    model, _ = trained
    prime = data.tensors["events"][0, :32].tolist()
    out = model.generate(prime, 16, temperature=0.0, seed=0)
    toks = []
    for tok in out:  # a generator: tokens arrive one by one
        assert isinstance(tok, int)
        toks.append(tok)
    assert len(toks) == 16
    assert toks == prime[:16]  # greedy continuation repeats the bar, as the data does
    kw = dict(temperature=1.2, top_k=5, top_p=0.9, repetition_penalty=1.3, seed=4)
    assert list(model.generate(prime, 12, **kw)) == list(model.generate(prime, 12, **kw))


def test_beam_search_is_deterministic_and_at_least_as_likely_as_greedy(trained, data):
    model, _ = trained
    prime = data.tensors["events"][3, :16].tolist()
    beam = model.beam_search(prime, 16, beam_width=4)
    assert beam == model.beam_search(prime, 16, beam_width=4)
    greedy = list(model.generate(prime, 16, temperature=0.0))

    def logp(cont):
        seq = torch.tensor([prime + cont])
        model.eval()
        with torch.no_grad():
            logits, _ = model(model.seq_features(seq))
        lp = torch.log_softmax(logits, -1)[0, len(prime):].gather(-1, seq[0, len(prime):, None])
        return float(lp.sum())
    assert logp(beam) >= logp(greedy) - 1e-4


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_every_cell_trains(cell, data):
    torch.manual_seed(0)
    model = make(cell=cell, lookback=False, layers=2, dropout=0.1)
    first = model.evaluate(data.iter_batches("val", 32))["nll_per_event"]
    train(model, data, 40)
    assert model.evaluate(data.iter_batches("val", 32))["nll_per_event"] < 0.7 * first
    assert model.sample(2, seed=1, length=20).shape == (2, 20)


def test_config_is_validated():
    from studio_plugins.melody_rnn import plugin
    with pytest.raises(ConfigError, match="cell"):
        config_from_dict(plugin.Config, {"cell": "transformer"})
    assert "continue" in plugin.capabilities and plugin.modality == "melody"


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_onnx_step_matches_torch_with_a_dynamic_batch(cell):
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = make(cell=cell, layers=2).eval()
    (ex,) = model.onnx_exports()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(ex.module, ex.example_inputs, buf, input_names=ex.input_names,
                          output_names=ex.output_names, dynamic_axes=ex.dynamic_axes, dynamo=True, verbose=False)
    sess = ort.InferenceSession(buf.getvalue())
    for batch in (1, 5):
        feats = model.next_features(torch.randint(2, 30, (batch, 40)))
        states = [torch.randn(2, batch, 64) for _ in ex.input_names[1:]]
        got = sess.run(None, dict(zip(ex.input_names, [feats.numpy()] + [s.numpy() for s in states])))
        with torch.no_grad():
            want = ex.module(feats, *states)
        for g, w in zip(got, want):
            assert np.abs(g - w.numpy()).max() < 1e-4


def test_generated_melodies_never_fall_silent_or_hold_a_note_for_bars():
    """Training phrases end in padding silence; a model that learned it must still write a tune."""
    from studio.core.audio.events import HOLD, REST, events_to_notes

    torch.manual_seed(0)
    model = make()
    with torch.no_grad():  # a model that wants nothing but silence and holding
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.head.bias[REST] = model.head.bias[HOLD] = 20.0
    logits = torch.zeros(3, model.vocab)
    logits[:, REST] = logits[:, HOLD] = 50.0
    hist = torch.tensor([[5] * 8 + [HOLD] * 3 + [REST] + [HOLD] * 3 + [HOLD],  # silent for 5 steps: a note must come
                         [7] + [HOLD] * 15,                                   # a note held for a bar: no more HOLD
                         [5] * 8 + [7, HOLD, REST, HOLD, 9, HOLD, HOLD, HOLD]])  # short rest, short note: untouched
    out = model._no_dead_air(logits, hist)
    assert out[0, REST] == float("-inf") and out[0, HOLD] == float("-inf") and torch.isfinite(out[0, 2:]).all()
    assert out[1, HOLD] == float("-inf") and torch.isfinite(out[1, REST])
    assert torch.equal(out[2], logits[2])
    off = make(max_silence=0)
    assert torch.equal(off._no_dead_air(logits, hist), logits)
    # end to end: even a model that only wants silence writes notes, none longer than a bar
    for seed in range(3):
        events = list(model.generate([], 64, seed=seed))
        notes = events_to_notes(events, SPEC.min_pitch)
        assert len(notes) >= 4 and max(n.duration for n in notes) <= 16
