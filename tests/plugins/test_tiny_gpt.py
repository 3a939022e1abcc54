"""tiny-gpt: learning, the sampling controls, KV cache == full recompute, determinism, non-ASCII, ONNX."""
from __future__ import annotations

import math

import pytest
import torch

from studio_plugins.tiny_gpt import Config, plugin
from studio.core.plugins.api import DataSpec, config_from_dict
from studio.core.sampling import adjust_logits, pick
from studio.core.training.optim import EngineOptimizers, OptimSettings
from tests.plugins.text_fixtures import _one_thread, data_for  # noqa: F401 - autouse fixture

TEXT = "To be, or not to be: that is the question. Ça va? Naïve café 🌍🎭! "


def tiny(vocab, **kw):
    cfg = config_from_dict(Config, {"layers": 2, "heads": 2, "width": 32, "context": 16, **kw})
    torch.manual_seed(0)
    return plugin.build(cfg, DataSpec(modality="text", vocab=vocab))


def train(model, data, steps, lr=1e-2, batch=16):
    opt = EngineOptimizers(model, OptimSettings(optimizer="adamw", lr=lr))
    g = torch.Generator().manual_seed(0)
    model.train()
    for step in range(steps):
        opt.set_lr(factor=min(1.0, (step + 1) / 20) * 0.5 * (1 + math.cos(math.pi * step / steps)))
        metrics = model.training_step(data.random_batch("train", batch, g, seq_len=model.sequence_length), opt)
    return metrics


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    data = data_for(TEXT, 40)
    model = tiny(data.spec.vocab)
    last = train(model, data, 250)
    return model, data, last


def test_plugin_declares_text_continue_and_onnx():
    plugin.validate()
    assert plugin.modality == "text" and {"continue", "onnx"} <= plugin.capabilities
    from studio.core.plugins.registry import discover
    assert discover(refresh=True)["tiny-gpt"].ok


def test_learns_repetitive_non_ascii_text_to_near_zero_loss(trained):
    model, data, last = trained
    assert last["loss"] < 0.3, last
    score = model.score_text(TEXT * 3)
    assert score["nats_per_char"] < 0.05, score
    # the evaluation unit the CLI reports, on the held-out tail
    ev = model.evaluate(data.iter_batches("val", 8, seq_len=model.sequence_length))
    assert ev["nats_per_char"] < 0.3 and ev["bits_per_char"] == pytest.approx(ev["nats_per_char"] / math.log(2))


def test_greedy_generation_continues_the_text_with_accents_and_emoji(trained):
    model, _, _ = trained
    out = model.sample(1, seed=3, length=len(TEXT), prime="To be, or not", temperature=0)[0]
    assert out.startswith("To be, or not")
    assert out == (TEXT * 2)[: len(out)]
    assert "🌍🎭" in out and "Naïve café" in out


def test_codec_round_trips_and_skips_unknown_characters(trained):
    model, _, _ = trained
    codec = model.codec
    assert codec.decode(codec.encode(TEXT)) == TEXT
    assert codec.encode("Ça🦄") == codec.encode("Ça")
    assert codec.unknown("Ça🦄x🦄") == ["🦄", "x"]
    # a prime with unknown characters still generates, and the sample keeps the prime as typed
    out = model.sample(1, seed=0, length=5, prime="🦄To be", temperature=0)[0]
    assert out.startswith("🦄To be") and len(out) == len("🦄To be") + 5


def test_kv_cache_equals_full_recompute_past_the_context():
    model = tiny(list("abcdefgh"))
    with torch.no_grad():  # spread the logits: near-ties would make the comparison hinge on rounding
        for prm in model.parameters():
            prm.normal_(0, 0.3)
    prime = [1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4]  # longer than the context of 16
    for kw in ({"temperature": 0.0}, {"temperature": 1.0, "seed": 7}, {"temperature": 0.9, "top_k": 5, "top_p": 0.9,
                                                                       "repetition_penalty": 1.3, "seed": 2}):
        cached = list(model.generate(prime, 60, use_cache=True, **kw))
        full = list(model.generate(prime, 60, use_cache=False, **kw))
        assert cached == full, kw
    # logits too: the rolling cache sees exactly the last `context` characters
    tokens = torch.randint(0, 8, (1, 50), generator=torch.Generator().manual_seed(1))
    logits, state = model.advance(tokens[:, :16], None)
    for t in range(16, 50):
        logits, state = model.advance(tokens[:, t:t + 1], state)
        ref = model(tokens[:, :t + 1])[:, -1]  # the whole text with the sliding-window mask
        assert torch.allclose(logits[:, -1], ref, atol=1e-5), t


def test_generation_is_deterministic_for_a_seed_and_streams_lazily():
    model = tiny(list("abcdefgh"))
    a = list(model.generate([1, 2], 40, seed=5))
    assert a == list(model.generate([1, 2], 40, seed=5))
    assert a != list(model.generate([1, 2], 40, seed=6))
    stream = model.generate([1, 2], 10_000_000, seed=5)  # a generator: nothing is computed up front
    assert [next(stream) for _ in range(5)] == a[:5]
    assert model.sample(2, seed=5, length=40, prime="bc") == ["bc" + "".join("abcdefgh"[t] for t in a),
                                                               model.sample(1, seed=6, length=40, prime="bc")[0]]


def test_temperature_zero_and_top_k_one_are_greedy():
    model = tiny(list("abcdefgh"))
    greedy = list(model.generate([1, 2, 3], 30, temperature=0))
    assert greedy == list(model.generate([1, 2, 3], 30, temperature=1.0, top_k=1, seed=9))
    history = [1, 2, 3]
    for tok in greedy[:10]:  # each greedy pick is the argmax of the full recompute
        assert tok == int(model(torch.tensor([history]))[0, -1].argmax())
        history.append(tok)


def test_sampling_controls_match_hand_computed_distributions():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    logits = probs.log()
    # temperature scales the logits: p_i^(1/T) renormalised
    t = torch.softmax(adjust_logits(logits, temperature=0.5), -1)
    assert torch.allclose(t, probs ** 2 / (probs ** 2).sum(), atol=1e-6)
    # top-k keeps the k most likely, renormalised
    k = torch.softmax(adjust_logits(logits, top_k=2), -1)
    assert torch.allclose(k, torch.tensor([0.625, 0.375, 0.0, 0.0]), atol=1e-6)
    # top-p keeps the smallest set reaching p: 0.5 < 0.75, 0.5+0.3 >= 0.75 -> {0, 1}
    p = torch.softmax(adjust_logits(logits, top_p=0.75), -1)
    assert torch.allclose(p, torch.tensor([0.625, 0.375, 0.0, 0.0]), atol=1e-6)
    p = torch.softmax(adjust_logits(logits, top_p=0.9), -1)
    assert torch.allclose(p, torch.tensor([0.5, 0.3, 0.15, 0.0]) / 0.95, atol=1e-6)
    # repetition penalty divides a positive logit, multiplies a negative one
    r = adjust_logits(torch.tensor([2.0, -1.0, 0.5]), repetition_penalty=2.0, recent=torch.tensor([0, 1]))
    assert torch.allclose(r, torch.tensor([1.0, -2.0, 0.5]))
    # sampled frequencies follow the nucleus distribution
    g = torch.Generator().manual_seed(0)
    draws = pick(logits.expand(20000, 4), top_p=0.75, generator=g)
    freq = torch.bincount(draws, minlength=4).float() / 20000
    assert torch.allclose(freq, torch.tensor([0.625, 0.375, 0.0, 0.0]), atol=0.02)
    assert int(pick(logits, temperature=0)) == 0 and int(pick(logits, top_k=1, generator=g)) == 0


def test_evaluate_and_validation_report_nats_and_bits_per_char():
    data = data_for("abcdefgh" * 3, 20)
    model = tiny(data.spec.vocab)
    ev = model.evaluate(data.iter_batches("val", 4, seq_len=model.sequence_length))
    assert ev["nats_per_char"] == pytest.approx(math.log(8), rel=0.2)  # untrained: about uniform
    assert ev["bits_per_char"] == pytest.approx(ev["nats_per_char"] / math.log(2))
    val = model.validation_step(data.random_batch("val", 4, seq_len=model.sequence_length))
    assert set(val) >= {"val_loss", "val_nats_per_char", "val_bits_per_char"}


def test_bad_configs_fail_with_reasons():
    with pytest.raises(ValueError, match="heads"):
        tiny(list("ab"), width=30, heads=4)
    with pytest.raises(ValueError, match="empty"):
        plugin.build(Config(), DataSpec(modality="text", vocab=[]))


def test_onnx_step_matches_torch_generation(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    import warnings

    from studio_plugins.tiny_gpt.onnx_step import empty_cache

    model = tiny(list("abcdefgh")).eval()
    (exp,) = model.onnx_exports()
    path = tmp_path / "step.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(exp.module, exp.example_inputs, str(path), input_names=exp.input_names,
                          output_names=exp.output_names, dynamic_axes=exp.dynamic_axes, dynamo=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    tokens = torch.randint(0, 8, (3, 40), generator=torch.Generator().manual_seed(2))  # batch 3, past the context
    keys, values = (t.numpy() for t in empty_cache(model, batch=3))
    state = None
    with torch.no_grad():
        for pos in range(40):
            tok = tokens[:, pos:pos + 1]
            ref, state = model.advance(tok, state)
            logits, keys, values = sess.run(None, {"token": tok.numpy(), "position": [pos],
                                                   "past_keys": keys, "past_values": values})
            keys, values = keys[:, :, :, -(model.context - 1):], values[:, :, :, -(model.context - 1):]
            assert abs(torch.from_numpy(logits) - ref[:, -1]).max() < 1e-4, pos
