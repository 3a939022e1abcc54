"""Issue 21: a hostile folder (links out of the project, FIFOs and /dev/zero where small files are read,
type-confused JSON, two trainers in one run folder, many-member zips, a MIDI primer bomb): each case
gets a clear message or the right behaviour, bounded in time and memory, and nothing outside the
project is touched (scenario_folders.py)."""
from __future__ import annotations

import pytest

from tests.faults.scenario_folders import CASES, SLOW, run_case
from tests.fixtures.threads import one_torch_thread  # noqa: F401 - autouse: torch at one thread


@pytest.mark.parametrize("builder,words", [c[2:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_folder_case(request, tmp_path, builder, words):
    slow = request.node.callspec.id in SLOW
    msg, measured, problems = run_case(builder, tmp_path, words, time_limit=300 if slow else 10,
                                       memory=not slow)
    assert problems == [], (msg, measured.describe())
    print(f"{msg[:160]!r}: {measured.describe()}")
