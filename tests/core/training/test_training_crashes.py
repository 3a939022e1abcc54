"""Whatever a plugin does in the child trainer, the parent survives and the run is marked failed in words."""
from __future__ import annotations

import pytest

from studio.core.training.checkpoints import load_model
from studio.core.training.process import TrainingProcess
from studio.core.training.run_folder import effective_status, read_run

FAST = {"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_every": 0, "checkpoint_minutes": 0}


def start(toys, image_ds, run, steps=100_000, resume=False, **settings):
    proc = TrainingProcess("toy-image", image_ds, run, steps=steps, device="cpu", resume=resume,
                           settings={**FAST, **settings}, env=toys)
    proc.start()
    return proc


@pytest.mark.parametrize("setting, words", [("crash_at_step", "segmentation fault"),
                                            ("exit_at_step", "exited with code 3")])
def test_a_hard_crash_in_plugin_code_fails_the_run_and_the_parent_survives(tmp_path, image_ds, toys, setting, words):
    run = tmp_path / "run"
    proc = start(toys, image_ds, run, steps=50, checkpoint_every=4, **{setting: 10})
    st = proc.wait(timeout=120)
    assert st.state == "failed" and words in st.reason, (st, proc.stderr_tail[-5:])
    info = read_run(run)
    assert info["status"] == "failed" and words in info["reason"] and info["pid"] == proc.pid
    assert effective_status(info) == ("failed", info["reason"])
    assert load_model(run)[2].step == 8  # the last checkpoint before the crash stays usable


def test_python_errors_and_setup_errors_come_back_in_words(tmp_path, image_ds, toys):
    proc = start(toys, image_ds, tmp_path / "a", steps=20, raise_at_step=4)
    st = proc.wait(timeout=120)
    assert st.state == "failed" and "failed on purpose" in st.reason and st.returncode == 1
    proc = TrainingProcess("no-such-plugin", image_ds, tmp_path / "b", steps=5, env=toys)
    proc.start()
    st = proc.wait(timeout=120)
    assert st.state == "failed" and "no plugin named 'no-such-plugin'" in st.reason and st.returncode == 2
    assert not (tmp_path / "b" / "run.json").exists()
