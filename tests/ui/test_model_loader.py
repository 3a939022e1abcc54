"""The window's one background model loader (``studio.ui.model_loader``): a run opens off the UI thread
as a ``ModelSession``; a run of the wrong kind or without the capability fails in words naming it; only
the newest request is delivered."""
from __future__ import annotations

import pytest
import torch

from tests.fixtures.session_runs import make_run

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("loader-runs")
    return {"melody": make_run(base / "tune-run", "melody-rnn", steps=(1, 2)),
            "text": make_run(base / "words", "char-rnn")}


def test_loads_a_session_off_the_ui_thread(qtbot, runs):
    import threading

    from studio.core.session import ModelSession
    from studio.ui.model_loader import ModelLoader

    loader = ModelLoader(modality="melody", adapter="melody")
    threads = []
    loader.loaded.connect(lambda s: threads.append(threading.current_thread()))
    with qtbot.waitSignal(loader.loaded, timeout=30_000) as got:
        loader.load(runs["melody"])
    session = got.args[0]
    assert isinstance(session, ModelSession) and session.plugin.id == "melody-rnn"
    assert session.melody.mode == "continue" and session.origin.checkpoint_step == 2
    assert threads == [threading.main_thread()]  # delivered on the UI thread (queued from the worker)
    assert loader.wait(5.0) and not loader.busy()


def test_a_run_of_another_kind_fails_in_words(qtbot, runs):
    from studio.ui.model_loader import ModelLoader

    loader = ModelLoader(modality="melody", adapter="melody")
    with qtbot.waitSignal(loader.failed, timeout=30_000) as got:
        loader.load(runs["text"])
    message = got.args[0]
    assert str(runs["text"]) in message and "text model" in message and "melody" in message
    latent = ModelLoader(adapter="latent", hint="pick a run of a VAE or GAN")
    with qtbot.waitSignal(latent.failed, timeout=30_000) as got:
        latent.load(runs["melody"])
    assert "run-melody-rnn" in got.args[0] and "\"latent\"" in got.args[0] and "VAE or GAN" in got.args[0]
    with qtbot.waitSignal(latent.failed, timeout=30_000) as got:
        latent.load(runs["melody"].parent / "no-such-run")
    assert "no-such-run" in got.args[0]


def test_only_the_newest_request_is_delivered(qtbot, runs):
    import threading

    from studio.ui.model_loader import ModelLoader

    loader = ModelLoader(modality="melody")
    delivered = []
    loader.loaded.connect(delivered.append)
    gate = threading.Event()
    first = loader.submit(lambda: gate.wait(10) and "an older request that finishes last")
    second = loader.load(runs["melody"], checkpoint=1)
    assert not loader.is_current(first) and loader.is_current(second)
    qtbot.waitUntil(lambda: len(delivered) == 1, timeout=30_000)
    gate.set()
    qtbot.waitUntil(lambda: not loader.busy(), timeout=30_000)
    qtbot.wait(50)  # let any queued signal arrive
    assert [s.origin.checkpoint_step for s in delivered] == [1]
