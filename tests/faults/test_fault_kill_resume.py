"""Fault 4: the training child is SIGKILLed at 20 random (seeded) moments; every time the run resumes
from a loadable checkpoint, the step count continues, at most one checkpoint interval is lost, and the
project opens. A last resume through the real child process finishes the run with every step once."""
from __future__ import annotations

import pytest

from tests.faults.scenario_kill import kill_resume

pytestmark = pytest.mark.timeout(300)


def test_twenty_random_sigkills_each_resume_from_a_loadable_checkpoint(tmp_path):
    rep = kill_resume(tmp_path, iterations=20, seed=4, checkpoint_every=5)
    assert rep.problems == []
    assert rep.kills == rep.survived == 20
    assert rep.max_lost_steps <= rep.checkpoint_interval
    # the seeded delays really hit training (not only start-up): the run made progress across kills
    assert rep.final_step > 4 * rep.checkpoint_interval
    print(f"kill/resume: {rep}")
