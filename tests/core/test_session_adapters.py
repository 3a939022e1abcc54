"""The session's adapters on real (tiny) runs: latent images and melodies (torch and ONNX through the
plugin's declared export), melody continuation, text streaming and scoring."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.fixtures.session_runs import make_run

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("adapter-runs")
    return {pid: make_run(base / pid, pid) for pid in ("vae", "char-rnn", "melody-rnn", "melody-vae")}


def test_latent_image_decoder_draws_decodes_and_uses_the_declared_onnx_export(runs):
    from studio.core.session import open_run

    session = open_run(runs["vae"])
    latent = session.latent
    assert latent.latent_dim == 4 and latent.modality == "image" and latent.can_encode and latent.can_draw
    z = latent.draw(3, seed=7, temperature=0.5)
    assert z.shape == (3, 4) and np.array_equal(z, session.model.latents(3, 7, 0.5).numpy())
    assert np.array_equal(session.draw_vectors(3, 7, 0.5), z)
    pics = latent.decode(z)
    assert pics.shape == (3, 1, 32, 32) and pics.dtype == np.float32 and 0.0 <= pics.min() <= pics.max() <= 1.0
    # the samples `studio generate` writes are the decodings of the drawn vectors
    np.testing.assert_allclose(pics, session.model.sample(3, 7, temperature=0.5).numpy(), atol=1e-6)
    export = latent.onnx_export()
    assert export is not None and export.name == "decoder"  # the plugin's own, not a traced decode()
    report: dict = {}
    onnx = latent.backend(prefer="onnxruntime", report=report, batch=8, repeats=1)
    assert onnx.backend == "onnxruntime" and report["onnxruntime"] == "chosen"
    np.testing.assert_allclose(onnx.decode(z), pics, atol=2e-3)
    assert latent.backend(prefer="torch").backend == "torch"
    codes = latent.encode(torch.rand(5, 1, 32, 32))
    assert codes.shape == (5, 4)


def test_latent_melody_decoder_and_its_sampler(runs):
    from studio.core.session import open_run

    session = open_run(runs["melody-vae"])
    latent = session.latent
    assert latent.modality == "melody" and latent.latent_dim == 4
    events = latent.decode(np.zeros((2, 4), np.float32))
    assert events.dtype == np.int64 and events.shape[0] == 2 and events.max() < session.melody.vocab
    # its declared exports are the decoder's first stage and one step, not decode(): decode is traced
    assert [e.name for e in session.model.onnx_exports()][0] == "melody_vae_decoder_init"
    assert latent.onnx_export() is None
    onnx = latent.backend(prefer="onnxruntime", batch=4, repeats=1)
    z = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    assert onnx.backend == "onnxruntime" and np.mean(onnx.decode(z) == latent.decode(z)) > 0.99
    melody = session.melody
    assert melody.mode == "latent" and not melody.can_continue
    with pytest.raises(Exception, match="continue"):
        list(melody.continue_events([2], 4))
    tune = melody.variation([2, 1], 40, seed=1, temperature=0.0)
    assert tune[:2] == [2, 1] and len(tune) == 42  # whole phrases chained to the length asked for


def test_melody_sampler_continues_a_primer_as_generate_does(runs):
    from studio.core.session import open_run

    session = open_run(runs["melody-rnn"])
    melody = session.melody
    assert melody.mode == "continue" and melody.describe == "continues your primer"
    primer = [30, 1, 32, 1]
    got = list(melody.continue_events(primer, 24, seed=4, temperature=0.9, top_k=5))
    want = [int(t) for t in session.model.generate(primer, 24, temperature=0.9, top_k=5, seed=4)]
    assert got == want and all(0 <= e < melody.vocab for e in got)
    done = []
    stopped = melody.variation(primer, 24, seed=4, temperature=0.9, top_k=5, progress=done.append,
                               stop=lambda: len(done) >= 1)
    assert stopped == primer + want[:8] and done == [8]  # Stop is honoured between events
    rows = melody.sample(2, seed=3, length=16)
    assert len(rows) == 2 and all(len(r) == 16 for r in rows)


def test_text_stream_and_scorer(runs):
    from studio.core.session import TokenStream, open_run

    session = open_run(runs["char-rnn"])
    assert isinstance(session.text, TokenStream) and session.text is session.text  # built once
    texts = session.text.sample(2, seed=1, length=20, prime="to ")
    assert all(t.startswith("to ") and len(t) == 23 for t in texts) and texts[0] != texts[1]
    tokens = session.text.codec.encode("to be or not")
    score = session.scorer.score(tokens)
    assert score["tokens"] == len(tokens) - 1 and score["perplexity"] > 1.0
    by_text = session.text.score_text("to be or not")
    assert by_text["nats_per_char"] == pytest.approx(score["nats_per_token"], rel=1e-5)
