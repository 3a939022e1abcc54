"""``open_run``: the plugin, the model and where it came from (run, checkpoint, digest, dataset), any
checkpoint of a run, the device, and clear errors for a capability the plugin does not declare."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from tests.fixtures.session_runs import make_run

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("session-runs")
    return {"vae": make_run(base / "vae", "vae", steps=(1, 2)), "char-rnn": make_run(base / "char", "char-rnn"),
            "melody-rnn": make_run(base / "mel", "melody-rnn")}


def test_origin_records_run_checkpoint_digest_and_dataset(runs):
    from studio.core.export.provenance import sha256_file
    from studio.core.session import open_run

    session = open_run(runs["vae"])
    o = session.origin
    assert session.plugin.id == "vae" and session.modality == "image" and session.device == "cpu"
    assert o.run_id == "run-vae" and o.run_dir == str(runs["vae"].resolve())
    assert o.checkpoint_step == 2 and o.checkpoint_path.endswith("step-00000002.safetensors")
    assert o.checkpoint_sha256 == sha256_file(o.checkpoint_path) and len(o.checkpoint_sha256) == 64
    assert o.dataset == {"path": str(runs["vae"].parent / "dataset"), "fingerprint": "toy"}
    assert o.data_spec.modality == "image" and o.data_spec.image_size == 32
    src = o.recipe_source(session.plugin)
    assert src["checkpoint_sha256"] == o.checkpoint_sha256 and src["plugin_id"] == "vae"
    assert session.label == f"{session.plugin.name} · vae"


def test_a_checkpoint_other_than_the_latest(runs):
    from studio.core.session import open_run

    latest, first = open_run(runs["vae"]), open_run(runs["vae"], checkpoint=1)
    assert first.origin.checkpoint_step == 1 and first.origin.checkpoint_sha256 != latest.origin.checkpoint_sha256
    by_file = open_run(first.origin.checkpoint_path)  # a checkpoint file instead of the run folder
    assert by_file.origin.checkpoint_step == 1 and by_file.origin.run_id == "run-vae"
    z = torch.zeros(1, 4)
    assert not torch.equal(first.model.decode(z), latest.model.decode(z))  # really another model
    assert torch.equal(by_file.model.decode(z), first.model.decode(z))


def test_capabilities_the_plugin_does_not_declare_are_refused_in_words(runs):
    from studio.core.plugins.registry import get_plugin
    from studio.core.session import MissingCapability, open_run

    melody = open_run(runs["melody-rnn"])
    with pytest.raises(MissingCapability, match=r"run run-melody-rnn .*\"latent\"") as err:
        melody.latent
    assert err.value.capability == "latent" and "continue" in str(err.value)  # what it does declare
    with pytest.raises(MissingCapability, match="score"):
        melody.scorer
    with pytest.raises(MissingCapability, match="not a text model|text"):
        melody.text
    with pytest.raises(MissingCapability, match="melodies"):
        open_run(runs["vae"]).melody
    # the same model, its plugin declaring nothing: no adapter is built from the methods it happens to have
    bare = dataclasses.replace(get_plugin("char-rnn"), capabilities=frozenset())
    session = open_run(runs["char-rnn"], plugin=bare)
    assert hasattr(session.model, "generate") and hasattr(session.model, "token_nll")
    with pytest.raises(MissingCapability, match="continue"):
        session.text
    with pytest.raises(MissingCapability, match="score"):
        session.scorer


def test_a_declared_capability_the_model_lacks_is_named():
    from studio.core.plugins.api import DataSpec, missing_methods
    from studio.core.session import MelodySampler, MissingCapability, Scorer

    class NoMethods(torch.nn.Module):
        spec = DataSpec("melody", phrase_length=16, min_pitch=60, max_pitch=72)

    model = NoMethods()
    assert missing_methods(model, {"continue", "score", "latent"}) == {
        "continue": ["generate"], "latent": ["decode", "latent_dim"], "score": ["token_nll"]}
    with pytest.raises(MissingCapability, match="declares \"continue\" but its model has no generate"):
        MelodySampler(model, capabilities={"continue"}, name="broken plugin")
    with pytest.raises(MissingCapability, match="declares \"score\" but its model has no token_nll"):
        Scorer(model, capabilities={"score"}, name="broken plugin")


def test_device_choice(runs, tmp_path, capsys):
    from studio.cli import main
    from studio.core.devices import DeviceUnavailable
    from studio.core.session import open_run, resolve_device

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "mps") or resolve_device("auto").startswith(("cuda", "xpu"))
    with pytest.raises(ValueError, match="not one of"):
        resolve_device("gpu")
    if torch.cuda.is_available():
        session = open_run(runs["vae"], device="cuda")
        assert session.model.device.type == "cuda"
        return
    with pytest.raises(DeviceUnavailable):
        open_run(runs["vae"], device="cuda")
    assert main(["generate", "--run", str(runs["vae"]), "--out", str(tmp_path / "a.png"), "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--device cuda" in err
    assert main(["generate", "--run", str(runs["vae"]), "--out", str(tmp_path / "a.png"), "--device", "auto"]) == 0
    assert (tmp_path / "a.png").exists()
