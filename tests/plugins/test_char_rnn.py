"""char-rnn: LSTM and GRU learn, truncated BPTT, streaming generation, determinism, non-ASCII, ONNX."""
from __future__ import annotations

import math

import pytest
import torch

from studio_plugins.char_rnn import Config, plugin
from studio.core.plugins.api import ConfigError, DataSpec, config_from_dict
from studio.core.training.optim import EngineOptimizers, OptimSettings
from tests.plugins.text_fixtures import _one_thread, data_for  # noqa: F401 - autouse fixture

TEXT = "Le cœur a ses raisons 💘 que la raison ne connaît point. ¿Sí? "


def tiny(vocab, **kw):
    cfg = config_from_dict(Config, {"layers": 1, "width": 64, "embedding": 16, "bptt": 16, "window": 32, **kw})
    torch.manual_seed(0)
    return plugin.build(cfg, DataSpec(modality="text", vocab=vocab))


def train(model, data, steps, lr=1e-2, batch=16):
    opt = EngineOptimizers(model, OptimSettings(optimizer="adam", lr=lr, grad_clip=1.0))
    g = torch.Generator().manual_seed(0)
    model.train()
    for step in range(steps):
        opt.set_lr(factor=0.5 * (1 + math.cos(math.pi * step / steps)))
        metrics = model.training_step(data.random_batch("train", batch, g, seq_len=model.sequence_length), opt)
    return metrics


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_learns_repetitive_non_ascii_text_and_writes_it_back(cell):
    data = data_for(TEXT, 30)
    model = tiny(data.spec.vocab, cell=cell)
    assert model.sequence_length == 33
    last = train(model, data, 150)
    assert last["loss"] < 0.3, last
    assert model.score_text(TEXT * 3)["nats_per_char"] < 0.1
    out = model.sample(1, seed=0, length=len(TEXT) + 5, prime="Le cœur", temperature=0)[0]
    assert out == (TEXT * 2)[: len(out)]
    assert "💘" in out and "connaît" in out
    ev = model.evaluate(data.iter_batches("val", 8, seq_len=model.sequence_length))
    assert ev["nats_per_char"] < 0.3 and ev["bits_per_char"] == pytest.approx(ev["nats_per_char"] / math.log(2))


def test_truncated_bptt_keeps_the_loss_but_cuts_gradients_at_chunk_borders():
    model = tiny(list("abcdef"), bptt=4, window=16)
    batch = torch.randint(0, 6, (3, 17), generator=torch.Generator().manual_seed(0))
    truncated = model.loss_on(batch)
    with torch.no_grad():
        full = model.loss_on(batch)  # one pass through the whole window
    assert float(truncated.detach()) == pytest.approx(float(full), abs=1e-5)
    truncated.backward()
    cut = model.rnn.weight_hh_l0.grad.clone()
    model.zero_grad()
    y = model(batch[:, :-1])  # back-propagating through all 16 characters gives other gradients
    torch.nn.functional.cross_entropy(y.reshape(-1, 6), batch[:, 1:].reshape(-1)).backward()
    whole = model.rnn.weight_hh_l0.grad.clone()
    assert not torch.allclose(cut, whole, atol=1e-6)
    model.config.bptt = 16  # with bptt >= window the two agree
    model.zero_grad()
    model.loss_on(batch).backward()
    assert torch.allclose(model.rnn.weight_hh_l0.grad, whole, atol=1e-6)


def test_generation_streams_and_is_deterministic_for_a_seed():
    model = tiny(list("abcdefgh"), cell="gru")
    a = list(model.generate([1, 2, 3], 50, temperature=1.0, seed=11))
    assert a == list(model.generate([1, 2, 3], 50, temperature=1.0, seed=11))
    assert a != list(model.generate([1, 2, 3], 50, temperature=1.0, seed=12))
    stream = model.generate([1], 10 ** 9, seed=1)
    assert len([next(stream) for _ in range(7)]) == 7
    greedy = list(model.generate([1, 2, 3], 20, temperature=0))
    assert greedy == list(model.generate([1, 2, 3], 20, top_k=1, seed=4))
    # greedy picks are the argmax of running the whole text through the network
    history = [1, 2, 3]
    for tok in greedy[:8]:
        assert tok == int(model(torch.tensor([history]))[0, -1].argmax())
        history.append(tok)
    # an empty prime starts from a newline when the vocabulary has one (else token 0)
    assert len(model.sample(3, seed=0, length=10)) == 3


def test_config_is_validated():
    with pytest.raises(ConfigError, match="cell"):
        config_from_dict(Config, {"cell": "transformer"})
    assert config_from_dict(Config, {"layers": "3", "dropout": "0.2"}).layers == 3
    plugin.validate()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_onnx_step_matches_torch(tmp_path, cell):
    ort = pytest.importorskip("onnxruntime")
    import warnings

    model = tiny(list("abcdefgh"), cell=cell, layers=2).eval()
    (exp,) = model.onnx_exports()
    path = tmp_path / "step.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(exp.module, exp.example_inputs, str(path), input_names=exp.input_names,
                          output_names=exp.output_names, dynamic_axes=exp.dynamic_axes, dynamo=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    tokens = torch.randint(0, 8, (3, 12), generator=torch.Generator().manual_seed(3))
    feeds = {n: torch.zeros(2, 3, 64).numpy() for n in exp.input_names[1:]}
    state = None
    with torch.no_grad():
        for t in range(12):
            ref, state = model.advance(tokens[:, t:t + 1], state)
            out = sess.run(None, {"token": tokens[:, t:t + 1].numpy(), **feeds})
            feeds = dict(zip(exp.input_names[1:], out[1:]))
            assert abs(torch.from_numpy(out[0]) - ref[:, -1]).max() < 1e-4, t
