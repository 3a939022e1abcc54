"""The live TensorBoard log is live: while the run trains, TensorBoard's reader already sees its steps
(the writer's thread flushes every couple of seconds; checkpoints flush at once)."""
from __future__ import annotations

import math
import time

import pytest

from studio.core.training.engine import train
from studio.core.training.tensorboard_live import FLUSH_SECS

pytest.importorskip("tensorboard", reason="the tensorboard extra (in the test extra)")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

FAST = {"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_every": 0, "checkpoint_minutes": 0}


def loss_steps(folder) -> list[int]:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    acc.Reload()
    return [e.step for e in acc.Scalars("loss")] if "loss" in acc.Tags()["scalars"] else []


def test_tensorboard_sees_the_steps_while_the_run_trains(tmp_path, image_ds, toys):
    run = tmp_path / "run"
    seen: dict[str, list[int]] = {}

    def watch(ev):
        if ev["event"] == "checkpoint" and ev["step"] == 10:  # a checkpoint flushes the log with the store
            seen["checkpoint"] = loss_steps(run / "tensorboard")
        if ev["event"] == "step" and ev["step"] == 15:  # no checkpoint: the writer's own flush, within seconds
            deadline = time.monotonic() + FLUSH_SECS + 8
            while time.monotonic() < deadline and loss_steps(run / "tensorboard")[-1:] != [15]:
                time.sleep(0.2)
            seen["timed"] = loss_steps(run / "tensorboard")

    res = train("toy-image", image_ds, run, steps=20, settings={**FAST, "checkpoint_every": 10}, hooks=watch,
                tensorboard=True)
    assert res.ok and res.step == 20
    assert seen["checkpoint"] == list(range(1, 11))
    assert seen["timed"] == list(range(1, 16))
    assert loss_steps(run / "tensorboard") == list(range(1, 21))


def test_without_the_setting_the_engine_writes_no_log(tmp_path, image_ds, toys):
    res = train("toy-image", image_ds, tmp_path / "run", steps=3, settings=FAST)
    assert res.ok and not (tmp_path / "run" / "tensorboard").exists()


def test_a_resumed_run_replaces_the_steps_it_redoes(tmp_path, image_ds, toys):
    """Interrupted at step 13 (last checkpoint 10): the resumed run redoes 11-13; TensorBoard shows one
    curve, the same as the run's own store."""
    from studio.core.training.metrics import read_metrics

    run = tmp_path / "run"

    def interrupt(ev):
        if ev["event"] == "step" and ev["step"] == 13:
            raise KeyboardInterrupt  # as a second Ctrl-C: no final checkpoint

    first = train("toy-image", image_ds, run, steps=30, settings={**FAST, "checkpoint_every": 10}, hooks=interrupt,
                  tensorboard=True)
    assert first.status == "stopped" and first.step == 13 and loss_steps(run / "tensorboard")[-1] == 13
    res = train("toy-image", image_ds, run, steps=20, resume=True, tensorboard=True)
    assert res.ok and res.step == 20
    steps, values = read_metrics(run)["loss"]
    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    shown = acc.Scalars("loss")
    assert [e.step for e in shown] == steps == list(range(1, 21))
    assert all(math.isclose(e.value, v, rel_tol=1e-6) for e, v in zip(shown, values))  # float32 in the file


def test_text_previews_go_in_as_text(tmp_path, text_ds, toys):
    run = tmp_path / "run"
    res = train("toy-text", text_ds, run, steps=6, settings={**FAST, "sample_every": 3, "sample_seconds": 0},
                tensorboard=True)
    assert res.ok
    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"tensors": 0})
    acc.Reload()
    [tag] = [t for t in acc.Tags()["tensors"] if t.startswith("preview")]
    shown = acc.Tensors(tag)
    assert [e.step for e in shown] == [3, 6]
    written = (run / "samples" / "step-00000006.txt").read_text(encoding="utf-8").strip()
    assert written and written in shown[-1].tensor_proto.string_val[0].decode("utf-8")
