"""Issue 22: `studio train --tensorboard` writes a live TensorBoard log into RUN/tensorboard/ (off by default,
or on for a project's runs by its setting), read back with TensorBoard's own event reader; a log that cannot
be written is one warning and the run trains on."""
from __future__ import annotations

import json
import math
import sqlite3
import sys
from pathlib import Path

import pytest

from studio.cli import main
from studio.core.training.run_folder import read_run
from tests.fixtures.toy_plugins import data as toy_data

pytest.importorskip("tensorboard", reason="the tensorboard extra (in the test extra)")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tests.fixtures.threads import one_torch_thread  # noqa: F401 - autouse: torch at one thread

pytestmark = pytest.mark.timeout(180)
FAST = ["--device", "cpu", "--set", "threads=1", "--set", "checkpoint_every=0", "--set", "sample_seconds=0"]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return toy_data.write_image_dataset(tmp_path_factory.mktemp("data") / "images", n=32, size=32)


def train(capsys, run: Path, images: Path, *extra: str) -> tuple[int, str, str]:
    code = main(["train", "--plugin", "vae", "--data", str(images), "--out", str(run), *FAST, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def stored(run: Path) -> dict[str, dict[int, float]]:
    """metric -> {step: value} from the run's own metrics.sqlite."""
    out: dict[str, dict[int, float]] = {}
    conn = sqlite3.connect(run / "metrics.sqlite")
    try:
        for step, name, value in conn.execute("SELECT step, name, value FROM metrics ORDER BY rowid"):
            out.setdefault(name, {})[step] = value
    finally:
        conn.close()
    return out


def read_tb(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_tensorboard_flag_logs_every_metric_and_the_previews_as_training_goes(tmp_path, images, capsys):
    run = tmp_path / "run"
    code, _, err = train(capsys, run, images, "--steps", "6", "--set", "val_every=3", "--set", "sample_every=3",
                         "--tensorboard")
    assert code == 0, err
    files = list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert len(files) == 1
    acc = read_tb(run / "tensorboard")
    truth = stored(run)
    assert {"loss", "lr", "steps_per_s", "val_loss"} <= set(truth)
    assert sorted(acc.Tags()["scalars"]) == sorted(truth), "every stored metric, under the same name"
    loss = acc.Scalars("loss")
    assert [e.step for e in loss] == [1, 2, 3, 4, 5, 6]
    for name, by_step in truth.items():
        events = acc.Scalars(name)
        assert [e.step for e in events] == sorted(by_step)
        for e in events:
            assert math.isclose(e.value, by_step[e.step], rel_tol=1e-6, abs_tol=1e-30), (name, e.step)
    assert [e.step for e in acc.Scalars("val_loss")] == [3, 6]
    previews = acc.Images("preview")
    assert [p.step for p in previews] == [3, 6] and previews[0].width > 32 and previews[0].height > 32
    # the same tags and steps as `studio runs export --format tensorboard` writes afterwards
    assert main(["runs", "export", str(run), "--format", "tensorboard", "--out", str(tmp_path / "exported")]) == 0
    capsys.readouterr()
    exported = read_tb(tmp_path / "exported")
    assert sorted(exported.Tags()["scalars"]) == sorted(acc.Tags()["scalars"])
    assert [e.step for e in exported.Scalars("loss")] == [1, 2, 3, 4, 5, 6]
    # a resumed run goes on in the same folder: TensorBoard shows one loss curve, steps 1..9
    code, _, err = train(capsys, run, images, "--steps", "9", "--resume", "--tensorboard")
    assert code == 0, err
    assert [e.step for e in read_tb(run / "tensorboard").Scalars("loss")] == list(range(1, 10))


def test_off_by_default_and_on_for_the_runs_of_a_project_that_asks(tmp_path, images, capsys):
    plain = tmp_path / "plain"
    code, _, err = train(capsys, plain, images, "--steps", "2")
    assert code == 0, err
    assert not (plain / "tensorboard").exists() and read_run(plain)["status"] == "done"
    project = tmp_path / "project"
    (project / "runs").mkdir(parents=True)
    (project / "project.json").write_text(json.dumps({"schema_version": 1, "name": "P", "tensorboard_live": True}))
    code, _, err = train(capsys, project / "runs" / "a", images, "--steps", "2")
    assert code == 0, err
    assert [e.step for e in read_tb(project / "runs" / "a" / "tensorboard").Scalars("loss")] == [1, 2]
    code, _, err = train(capsys, project / "runs" / "b", images, "--steps", "2", "--no-tensorboard")
    assert code == 0, err
    assert not (project / "runs" / "b" / "tensorboard").exists()


def test_a_log_that_cannot_be_written_is_one_warning_and_training_goes_on(tmp_path, images, capsys, monkeypatch):
    run = tmp_path / "run"
    code, _, err = train(capsys, run, images, "--steps", "2", "--tensorboard")
    assert code == 0, err
    blocked = run / "tensorboard"
    for f in blocked.iterdir():
        f.unlink()
    blocked.rmdir()
    blocked.write_text("not a folder")  # the resumed run cannot make its log folder
    code, _, err = train(capsys, run, images, "--steps", "5", "--resume", "--tensorboard")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "live TensorBoard log" in line]
    assert len(warnings) == 1 and str(blocked) in warnings[0] and "training goes on" in warnings[0]
    assert (read_run(run)["status"], read_run(run)["step"]) == ("done", 5)
    assert sorted(stored(run)["loss"]) == [1, 2, 3, 4, 5]
    assert blocked.read_text() == "not a folder"
    # a run folder whose tensorboard/ links out of it (a shared archive): nothing is written there
    outside = tmp_path / "outside"
    outside.mkdir()
    linked = tmp_path / "linked"
    assert train(capsys, linked, images, "--steps", "2")[0] == 0
    (linked / "tensorboard").symlink_to(outside)
    code, _, err = train(capsys, linked, images, "--steps", "4", "--resume", "--tensorboard")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "live TensorBoard log" in line]
    assert len(warnings) == 1 and "is a link" in warnings[0]
    assert list(outside.iterdir()) == [] and read_run(linked)["step"] == 4
    # without the tensorboard package: one line saying what to install, and the run trains
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    code, _, err = train(capsys, tmp_path / "no-package", images, "--steps", "3", "--tensorboard")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "live TensorBoard log" in line]
    assert len(warnings) == 1 and "pip install 'generative-studio[tensorboard]'" in warnings[0]
    assert read_run(tmp_path / "no-package")["step"] == 3
