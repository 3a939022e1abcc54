"""Fault 5: the studio process is SIGKILLed while it autosaves/saves the project or writes a checkpoint,
and dies at every single write point (fsync, rename) of one save: the next start finds a consistent
project holding every acknowledged edit, and the previous checkpoint loadable."""
from __future__ import annotations

import pytest

from tests.faults.fault_helpers import Zygote
from tests.faults.scenario_crash import kill_inside_writes, random_kills

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def zygote():
    with Zygote(preload=("tests.faults.scenario_crash",)) as z:
        yield z


@pytest.mark.parametrize("kind", ["project", "checkpoint"])
def test_random_sigkills_during_saves_lose_nothing_acknowledged(tmp_path, zygote, kind):
    rep = random_kills(zygote, tmp_path, kind, kills=10, seed=5)
    assert rep.problems == [] and rep.lost == 0
    assert rep.kills == rep.survived == 10


@pytest.mark.parametrize("kind", ["project", "checkpoint"])
def test_death_at_every_write_point_keeps_the_old_or_the_new_state(tmp_path, zygote, kind):
    rep = kill_inside_writes(zygote, tmp_path, kind)
    assert rep.problems == [] and rep.lost == 0
    # project: autosave + save + backup, 3 points each; checkpoint: tensors + sidecar, 3 points each
    assert rep.kills >= 6 and rep.survived == rep.kills
