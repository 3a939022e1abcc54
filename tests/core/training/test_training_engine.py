"""The engine in-process on CPU with toy plugins: learning, run folder, determinism, resume, settings, guards."""
from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest

from studio.core.plugins.api import ConfigError
from studio.core.training.checkpoints import latest_checkpoint, list_checkpoints, load_model
from studio.core.training.control import send_control
from studio.core.training.engine import TrainingSetupError, train
from studio.core.training.metrics import read_metrics
from studio.core.training.run_folder import RunFolderError, read_run
from studio.core.training.session import StopTraining
from tests.fixtures.toy_plugins import data as toy_data
from tests.fixtures.toy_plugins import image

FAST = {"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_every": 0, "checkpoint_minutes": 0}


def losses(run_dir, name="loss"):
    steps, values = read_metrics(run_dir)[name]
    return dict(zip(steps, values))


def test_loss_decreases_and_run_folder_follows_the_contract(tmp_path, image_ds, toys):
    run = tmp_path / "run"
    events = []
    res = train("toy-image", image_ds, run, steps=120, settings={**FAST, "val_every": 40, "sample_every": 60,
                                                                  "checkpoint_every": 50}, hooks=events.append)
    assert res.status == "done" and res.step == 120 and res.ok
    curve = losses(run)
    assert sorted(curve) == list(range(1, 121))
    first, last = sum(curve[s] for s in range(1, 11)) / 10, sum(curve[s] for s in range(111, 121)) / 10
    assert last < 0.3 * first, (first, last)

    info = read_run(run)
    for key in ("id", "plugin", "config", "engine", "dataset", "data_spec", "seed", "device", "studio_version",
                "status", "reason", "step", "max_steps", "created", "updated", "pid"):
        assert key in info, key
    assert info["status"] == "done" and info["step"] == 120 and info["max_steps"] == 120
    assert info["plugin"] == {"id": "toy-image", "version": "0.1"}
    assert info["engine"]["lr"] == 0.01 and info["engine"]["batch_size"] == 16  # the plugin's engine_defaults
    assert info["dataset"]["fingerprint"] == "toy-image-64-8"

    con = sqlite3.connect(run / "metrics.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cols = [(r[1], r[2]) for r in con.execute("PRAGMA table_info(metrics)")]
    assert cols == [("step", "INTEGER"), ("time", "REAL"), ("name", "TEXT"), ("value", "REAL")]
    names = {r[0] for r in con.execute("SELECT DISTINCT name FROM metrics")}
    assert {"loss", "lr", "steps_per_s", "val_loss"} <= names
    previews = con.execute("SELECT step, kind, path FROM previews ORDER BY step").fetchall()
    assert previews == [(60, "image", "samples/step-00000060.png"), (120, "image", "samples/step-00000120.png")]
    con.close()
    from PIL import Image
    assert Image.open(run / previews[0][2]).size[0] > 8

    ckpts = [c.step for c in list_checkpoints(run)]
    assert 120 in ckpts and len(ckpts) <= 4  # keep_last 3 + best
    sidecar = json.loads((run / "checkpoints" / "step-00000120.json").read_text())
    assert sidecar["step"] == 120 and sidecar["config"]["hidden"] == 16 and "rng" in sidecar
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and {"validation", "checkpoint", "sample"} <= set(kinds)

    model, plugin, cinfo = load_model(run)
    assert not model.training and plugin.id == "toy-image" and cinfo.step == 120
    assert model.sample(4, seed=1).shape == (4, 1, 8, 8)


def test_same_seed_same_losses_and_another_seed_differs(tmp_path, toys):
    data = toy_data.image_data()
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        train("toy-image", data, tmp_path / name, steps=25, seed=seed, settings=FAST)
    a, b, c = (losses(tmp_path / n) for n in "abc")
    assert a == b
    assert a != c


def test_resume_continues_exactly_where_an_uninterrupted_run_would_be(tmp_path, toys):
    data = toy_data.image_data()
    settings = {**FAST, "checkpoint_every": 10, "val_every": 10}
    train("toy-image", data, tmp_path / "whole", steps=30, settings=settings)
    first = train("toy-image", data, tmp_path / "parts", steps=20, settings=settings)
    assert first.step == 20
    events = []
    res = train("toy-image", data, tmp_path / "parts", steps=30, resume=True, settings=settings, hooks=events.append)
    start = events[0]
    assert start["step"] == 20 and start["resumed_from"].endswith("step-00000020.safetensors")
    assert res.status == "done" and res.step == 30
    whole, parts = losses(tmp_path / "whole"), losses(tmp_path / "parts")
    assert parts == whole  # same losses at every step, none duplicated
    assert read_run(tmp_path / "parts")["id"] == read_run(tmp_path / "parts")["id"]


def test_resume_skips_a_truncated_newest_checkpoint_with_a_warning(tmp_path, toys):
    data = toy_data.image_data()
    run = tmp_path / "run"
    train("toy-image", data, run, steps=20, settings={**FAST, "checkpoint_every": 10})
    newest = run / "checkpoints" / "step-00000020.safetensors"
    newest.write_bytes(newest.read_bytes()[:100])
    assert latest_checkpoint(run).step == 10
    events = []
    res = train("toy-image", data, run, steps=25, resume=True, settings=FAST, hooks=events.append)
    assert events[0]["step"] == 10
    assert any(e["event"] == "warning" and "step-00000020" in e["message"] for e in events)
    assert res.step == 25 and sorted(losses(run)) == list(range(1, 26))


def test_a_folder_holding_another_run_is_refused_unless_resuming(tmp_path, toys):
    data = toy_data.image_data()
    run = tmp_path / "run"
    train("toy-image", data, run, steps=3, settings=FAST)
    with pytest.raises(RunFolderError, match="already holds run .*--resume"):
        train("toy-image", data, run, steps=3, settings=FAST)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(RunFolderError, match="not empty"):
        train("toy-image", data, other, steps=3, settings=FAST)
    with pytest.raises(RunFolderError, match="holds a run of plugin toy-image"):
        train("toy-text", toy_data.image_data(), run, steps=3, settings=FAST, resume=True)


def test_settings_are_split_validated_and_model_settings_frozen_on_resume(tmp_path, toys):
    data = toy_data.image_data()
    with pytest.raises(ConfigError) as err:
        train("toy-image", data, tmp_path / "x", steps=2, settings={"colour": "red"})
    assert "colour" in str(err.value) and "checkpoint_every" in str(err.value) and "hidden" in str(err.value)
    with pytest.raises(ConfigError, match="optimizer"):
        train("toy-image", data, tmp_path / "y", steps=2, settings={"optimizer": "lion"})
    run = tmp_path / "run"
    train("toy-image", data, run, steps=4, settings={**FAST, "hidden": "5", "optimizer": "sgd", "nesterov": "true",
                                                     "schedule": "cosine", "warmup_steps": 2, "lr": 0.5})
    info = read_run(run)
    assert info["config"]["hidden"] == 5 and info["engine"]["optimizer"] == "sgd" and info["engine"]["nesterov"]
    lrs = losses(run, "lr")
    assert lrs[1] == pytest.approx(0.25) and lrs[2] == pytest.approx(0.5) and lrs[4] < 0.5  # warm-up then cosine
    with pytest.raises(TrainingSetupError, match="cannot change the model setting hidden"):
        train("toy-image", data, run, steps=6, resume=True, settings={"hidden": 7})
    res = train("toy-image", data, run, steps=6, resume=True, settings={"lr": 0.1})  # engine settings may change
    assert res.step == 6 and read_run(run)["config"]["hidden"] == 5


def test_nan_loss_fails_the_run_naming_step_and_metric_and_keeps_the_checkpoint(tmp_path, toys):
    run = tmp_path / "run"
    res = train("toy-image", toy_data.image_data(), run, steps=50,
                settings={**FAST, "checkpoint_every": 10, "nan_at_step": 15})
    assert res.status == "failed"
    assert "step 15" in res.reason and "loss" in res.reason and "nan" in res.reason
    info = read_run(run)
    assert info["status"] == "failed" and info["reason"] == res.reason and info["step"] == 14
    assert [c.step for c in list_checkpoints(run)] == [10]
    model, _, cinfo = load_model(run)
    assert cinfo.step == 10


def test_plugin_exception_fails_the_run_in_words(tmp_path, toys):
    res = train("toy-image", toy_data.image_data(), tmp_path / "run", steps=20,
                settings={**FAST, "checkpoint_every": 5, "raise_at_step": 8})
    assert res.status == "failed" and "step 8" in res.reason and "failed on purpose" in res.reason
    assert latest_checkpoint(tmp_path / "run").step == 5


def test_control_file_changes_lr_and_stops_with_a_checkpoint(tmp_path, toys):
    run = tmp_path / "run"

    def hook(ev):
        if ev["event"] == "step" and ev["step"] == 5:
            send_control(run, lr=0.123)
        if ev["event"] == "step" and ev["step"] == 9:
            send_control(run, "stop")

    res = train("toy-image", toy_data.image_data(), run, steps=1000, settings=FAST, hooks=hook)
    assert res.status == "stopped" and res.step == 9
    lrs = losses(run, "lr")
    assert lrs[5] == pytest.approx(0.01) and lrs[6] == pytest.approx(0.123)
    assert latest_checkpoint(run).step == 9 and read_run(run)["status"] == "stopped"


def test_a_command_right_after_a_learning_rate_keeps_both(tmp_path, toys):
    """Two writes between two polls: the stop must not replace the new rate (separate fields)."""
    run = tmp_path / "run"
    events = []

    def hook(ev):
        events.append(ev)
        if ev["event"] == "step" and ev["step"] == 4:
            send_control(run, lr=0.05)
            send_control(run, "stop")

    res = train("toy-image", toy_data.image_data(), run, steps=1000, settings=FAST, hooks=hook)
    assert res.status == "stopped" and res.step == 4
    assert [e["lr"] for e in events if e["event"] == "lr"] == [pytest.approx(0.05)]
    data = json.loads((run / "control.json").read_text())
    assert data["command"] == "stop" and data["lr"] == 0.05 and data["seq"] > data["lr_seq"]


def test_a_hook_can_stop_and_time_limit_ends_the_run(tmp_path, toys):
    def stopper(ev):
        if ev["event"] == "step" and ev["step"] == 3:
            raise StopTraining("enough")

    res = train("toy-image", toy_data.image_data(), tmp_path / "a", steps=100, settings=FAST, hooks=stopper)
    assert (res.status, res.step, res.reason) == ("stopped", 3, "enough")
    res = train("toy-image", toy_data.image_data(), tmp_path / "b", minutes=0.005,
                settings={**FAST, "step_sleep": 0.01})
    assert res.status == "done" and "time limit" in res.reason and 0 < res.step < 100


def test_early_stopping_on_a_flat_validation_metric(tmp_path, toys):
    base = image.plugin

    def build(config, spec):
        model = base.build(config, spec)
        model.validation_step = lambda batch: {"val_loss": 1.0}
        return model

    flat = dataclasses.replace(base, build=build)
    res = train(flat, toy_data.image_data(), tmp_path / "run", steps=500,
                settings={**FAST, "val_every": 5, "early_stopping": 2})
    assert res.status == "done" and res.step == 15 and "early stopping" in res.reason
    assert read_run(tmp_path / "run")["best"] == {"metric": "val_loss", "value": 1.0, "step": 5}
    assert 5 in [c.step for c in list_checkpoints(tmp_path / "run")]  # the best is kept


def test_text_runs_validate_and_preview(tmp_path, text_ds, toys):
    res = train("toy-text", text_ds, tmp_path / "run", steps=30,
                settings={**FAST, "val_every": 15, "sample_every": 30})
    assert res.status == "done" and "val_loss" in res.metrics
    txt = (tmp_path / "run" / "samples" / "step-00000030.txt").read_text()
    assert len(txt.strip()) > 10


def test_deferred_finite_checks_raise_once_per_step():
    import torch

    from studio.core.training.optim import EngineOptimizers, NonFiniteError, OptimSettings

    model = image.plugin.build(image.Config(), toy_data.image_spec())
    opt = EngineOptimizers(model, OptimSettings(lr=0.01), defer_checks=True)
    batch = toy_data.image_data().random_batch("train", 4, generator=torch.Generator().manual_seed(0))
    model.training_step(batch, opt)
    opt.check_finite()
    assert opt.last_grad_norm["model"] > 0
    loss = model(batch).mean() * float("inf")
    opt.step("model", loss)  # no wait for the device here...
    with pytest.raises(NonFiniteError, match="the model loss became"):
        opt.check_finite()  # ...but the engine's once-per-step check catches it
    opt.check_finite()  # and the queue is cleared
