"""Opening a run without naming a checkpoint: the newest one, except after early stopping, where the newest
weights are those validation stopped trusting and the best checkpoint is what the artist gets (the panels
and `studio generate` alike); "latest" still means the newest."""
from __future__ import annotations

import json

from studio.core.training.checkpoints import default_choice, load_model
from tests.fixtures.session_runs import make_run


def _ended(run, reason: str, best_step: int | None) -> None:
    info = json.loads((run / "run.json").read_text())
    info.update(status="done", reason=reason)
    if best_step is not None:
        info["best"] = {"metric": "val_loss", "value": 1.0, "step": best_step}
    (run / "run.json").write_text(json.dumps(info))


def test_a_run_that_stopped_early_opens_on_its_best_checkpoint(tmp_path, capsys):
    run = make_run(tmp_path / "stopped-early", "vae", steps=(1, 2, 3))
    _ended(run, "early stopping: val_loss did not improve for 5 validations (best 1 at step 2)", 2)
    assert default_choice(run) == "best"
    assert load_model(run)[2].step == 2
    assert load_model(run, checkpoint="latest")[2].step == 3
    from studio.cli import main
    out = tmp_path / "one.png"
    assert main(["generate", "--run", str(run), "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 2


def test_other_runs_open_on_their_newest_checkpoint(tmp_path):
    finished = make_run(tmp_path / "finished", "vae", steps=(1, 2, 3))
    _ended(finished, "", 2)                                   # ran to its last step: the newest it is
    assert default_choice(finished) == "latest" and load_model(finished)[2].step == 3
    no_best = make_run(tmp_path / "no-best", "vae", steps=(1, 2))
    _ended(no_best, "early stopping: …", None)               # no best recorded: nothing else to offer
    assert default_choice(no_best) == "latest" and load_model(no_best)[2].step == 2
    (tmp_path / "bare").mkdir()
    assert default_choice(tmp_path / "bare") == "latest"      # no run.json at all


def test_the_melody_panel_says_it_opened_the_best_checkpoint(qtbot, tmp_path):
    from studio.ui.context import StudioContext
    from studio.ui.panels.melody import MelodyPanel

    run = make_run(tmp_path / "tunes", "melody-rnn", steps=(1, 2, 3))
    _ended(run, "early stopping: val_loss did not improve for 5 validations (best 1 at step 2)", 2)
    panel = MelodyPanel(StudioContext())
    qtbot.addWidget(panel)
    try:
        panel.open_run(str(run))
        qtbot.waitUntil(lambda: panel.model is not None and panel.checkpoint_step is not None, timeout=30_000)
        assert panel.checkpoint_step == 2
        assert "step 2" in panel.model_label.text() and "best checkpoint: training stopped early" in \
            panel.model_label.text()
    finally:
        panel.shutdown()


def test_following_a_run_that_stopped_early_does_not_reload_for_ever(qtbot, tmp_path):
    from types import SimpleNamespace

    from studio.ui.panels.latent_follow import CheckpointFollower

    run = make_run(tmp_path / "faces", "vae", steps=(1, 2, 3))
    best = str(run / "checkpoints" / "step-00000002.safetensors")
    follower = CheckpointFollower(SimpleNamespace(busy=lambda: False))
    follower.model = SimpleNamespace(run=str(run), checkpoint=best)
    reloads: list[str] = []
    follower.reload.connect(reloads.append)
    follower.poll()
    assert reloads == [str(run)]          # still training (no early stop): the newer step 3 is followed
    _ended(run, "early stopping: val_loss did not improve for 5 validations (best 1 at step 2)", 2)
    reloads.clear()
    follower.poll()
    assert reloads == []                  # it stopped early: its best checkpoint is the one to show
