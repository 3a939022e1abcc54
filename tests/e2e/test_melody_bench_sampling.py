"""The melody benchmark's sampling sweep: one trained model judged with several sampling settings, a median over
model seeds, and a bad setting refused in words."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.e2e.test_melody_bench_smoke import BENCH, ROOT, abc_collection


def _run(tmp_path, *extra):
    folder = tmp_path / "my tunes"
    folder.mkdir(exist_ok=True)
    (folder / "collection.abc").write_text(abc_collection(24))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(BENCH / "melody_quality.py"), "--corpus", str(folder), "--seconds", "1", "--n", "12",
           "--models", "melody-rnn:hidden=16,layers=1,embed=8", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)


def test_one_model_judged_per_sampling_setting_and_seed(tmp_path):
    out = tmp_path / "figures.json"
    res = _run(tmp_path, "--sample", "default", "temperature=0.5,top_p=0.9", "--model-seeds", "0,1",
               "--json", str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    figures = json.loads(out.read_text())
    spec = "melody-rnn:hidden=16,layers=1,embed=8"
    names = [f"{spec} @ default", f"{spec} @ temperature=0.5,top_p=0.9"]
    rows = figures["results"]
    for name in names:
        a, b = rows[f"{name} #seed 0"], rows[f"{name} #seed 1"]
        assert a["of"] == b["of"] == 12
    cool = rows[f"{names[1]} #seed 0"]
    assert cool["sample"] == {"temperature": 0.5, "top_p": 0.9} and "sample" not in rows[f"{names[0]} #seed 0"]
    # trained once per seed: both sampling rows of a seed come from the same training
    assert cool["steps"] == rows[f"{names[0]} #seed 0"]["steps"]
    medians = figures["medians"]
    assert set(medians) == set(names) and all(m["seeds"] == 2 for m in medians.values())
    for name, m in medians.items():
        judged = [rows[f"{name} #seed {s}"] for s in (0, 1) if "classifier_acc" in rows[f"{name} #seed {s}"]]
        if len(judged) == 2:
            lo, hi = sorted(r["classifier_acc"] for r in judged)
            assert lo <= m["classifier_acc"] <= hi
    assert "median over model seeds 0,1" in res.stdout


def test_a_bad_sampling_setting_is_refused_in_words(tmp_path):
    res = _run(tmp_path, "--sample", "tempo=0.9")
    assert res.returncode == 2
    assert "tempo=0.9" in res.stderr and "temperature=VALUE" in res.stderr
    res = _run(tmp_path, "--sample", "temperature=warm")
    assert res.returncode == 2 and "temperature needs a number" in res.stderr
