"""`studio train` and `studio eval` as a user runs them (in-process through the CLI dispatcher)."""
from __future__ import annotations

import json

import pytest

from studio.cli import main
from studio.core.training.run_folder import read_run


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_prints_progress_then_eval_reports_natural_units(tmp_path, image_ds, toys, capsys):
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", "--plugin", "toy-image", "--data", str(image_ds), "--out", str(run),
                             "--steps", "30", "--device", "cpu", "--seed", "2", "--set", "checkpoint_every=15",
                             "--set", "threads=1", "--set", "hidden=4")
    assert code == 0, err
    assert "training toy-image" in out and "done at step 30" in out and "step-00000030.safetensors" in out
    info = read_run(run)
    assert info["seed"] == 2 and info["config"]["hidden"] == 4 and info["engine"]["checkpoint_every"] == 15
    code, out, err = run_cli(capsys, "eval", "--run", str(run), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["step"] == 30 and result["metrics"]["pixels"] == 8 * 64 and result["metrics"]["mse_per_pixel"] > 0
    code, out, _ = run_cli(capsys, "eval", "--run", str(run), "--data", str(image_ds))
    assert code == 0 and "mse_per_pixel" in out


def test_json_events_and_resume_from_the_cli(tmp_path, image_ds, toys, capsys):
    run = tmp_path / "run"
    code, out, _ = run_cli(capsys, "train", "--plugin", "toy-image", "--data", str(image_ds), "--out", str(run),
                           "--steps", "10", "--json", "--set", "threads=1", "--set", "checkpoint_every=5")
    events = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and events[0]["event"] == "start" and events[-1] == {
        "event": "end", "status": "done", "reason": "", "step": 10, "checkpoint": str(run / "checkpoints" / "step-00000010.safetensors")}
    assert any(e["event"] == "step" and e["step"] == 10 for e in events)
    # --resume needs neither --plugin nor --data: the run folder knows them
    code, out, err = run_cli(capsys, "train", "--out", str(run), "--resume", "--steps", "14", "--set", "threads=1")
    assert code == 0, err
    assert "resuming from" in out and "step-00000010.safetensors" in out
    assert read_run(run)["step"] == 14


@pytest.mark.parametrize("args, words", [
    (["--set", "colour=red"], "unknown setting(s) colour; engine settings:"),
    (["--set", "lr"], "--set expects key=value"),
    (["--set", "precision=fp16"], "fp16 training needs a CUDA GPU"),
    (["--device", "quantum"], "device 'quantum' is not available here"),
])
def test_bad_settings_fail_in_one_line_with_exit_2(tmp_path, image_ds, toys, capsys, args, words):
    code, out, err = run_cli(capsys, "train", "--plugin", "toy-image", "--data", str(image_ds),
                             "--out", str(tmp_path / "run"), "--steps", "3", *args)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1


def test_failed_run_exits_1_with_the_reason(tmp_path, image_ds, toys, capsys):
    code, out, err = run_cli(capsys, "train", "--plugin", "toy-image", "--data", str(image_ds),
                             "--out", str(tmp_path / "run"), "--steps", "20", "--set", "nan_at_step=3",
                             "--set", "threads=1")
    assert code == 1 and "run failed: step 3: the model loss became nan" in err


def test_eval_refuses_a_pickle(tmp_path, toys, capsys):
    evil = tmp_path / "model.pt"
    evil.write_bytes(b"\x80\x04\x95" + b"\x00" * 20)
    code, _, err = run_cli(capsys, "eval", "--run", str(evil), "--data", str(tmp_path))
    assert code == 2 and "not a safetensors checkpoint" in err
