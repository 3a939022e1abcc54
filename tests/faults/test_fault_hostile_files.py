"""Fault 8: hostile files (pickles posing as checkpoints, malformed or absurd safetensors, zip traversal,
decompression bombs, a MIDI file with 10^8 ticks, a 2 GB sparse text, JSON nested a million deep):
each refused in words, in bounded time and memory, and nothing in them runs.
(Project files get their own, larger corpus in test_hostile_project_files.py.)"""
from __future__ import annotations

import pytest

from tests.faults.scenario_hostile import CASES, run_case
from tests.fixtures.threads import one_torch_thread  # noqa: F401 - autouse: torch at one thread


@pytest.mark.parametrize("builder,words", [c[2:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_file_is_refused_in_words_bounded(tmp_path, builder, words):
    msg, measured, problems = run_case(builder, tmp_path, words)
    assert problems == [], (msg, measured.describe())
    print(f"{msg[:160]!r}: {measured.describe()}")
