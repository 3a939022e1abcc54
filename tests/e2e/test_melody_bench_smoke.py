"""The melody benchmark on a folder of a user's tunes, with tiny settings: every row is judged, the tunes keep
their meter in the cache, and a second run reads the cache instead of parsing again."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"

NOTES = "DEFGABcdefg"


def abc_collection(n: int, seed: int = 0) -> str:
    """``n`` random-walk tunes of 16 bars, half jigs in 6/8 (three eighths a beat), half waltzes in 3/4."""
    rng = random.Random(seed)
    tunes = []
    for t in range(n):
        jig = t % 2 == 0
        pos, bars = 5, []
        for _ in range(16):
            cells = []
            for _ in range(6 if jig else 3):
                pos = max(0, min(len(NOTES) - 1, pos + rng.choice((-2, -1, -1, 0, 1, 1, 2))))
                cells.append(NOTES[pos] + ("" if jig else "2"))
            bars.append("".join(cells[:3]) + " " + "".join(cells[3:]) if jig else " ".join(cells))
        tunes.append(f"X:{t + 1}\nT:Tune {t + 1}\nM:{'6/8' if jig else '3/4'}\nL:1/8\nK:D\n" + "|".join(bars) + "|]\n")
    return "\n".join(tunes)


def test_benchmark_on_a_folder_with_tiny_settings(tmp_path, monkeypatch):
    folder = tmp_path / "my tunes"
    folder.mkdir()
    (folder / "collection.abc").write_text(abc_collection(24))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    out = tmp_path / "figures.json"
    cmd = [sys.executable, str(BENCH / "melody_quality.py"), "--corpus", str(folder), "--seconds", "1", "--n", "12",
           "--models", "melody-rnn:hidden=16,layers=1,embed=8", "melody-transformer:width=32,layers=1",
           "--json", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["tunes"] == 24
    rows = figures["results"]
    assert set(rows) == {"real (held-out)", "uniform random", "markov order 1", "markov order 2",
                         "melody-rnn:hidden=16,layers=1,embed=8", "melody-transformer:width=32,layers=1"}
    for name, r in rows.items():
        assert r["of"] == 12 and 0 <= r["usable"] <= 12, (name, r)
        if r["usable"] >= 10:
            assert 0.0 <= r["classifier_acc"] <= 1.0 and 0.0 <= r["copy_rate"] <= 1.0, (name, r)
            assert all(0.0 <= r[k] <= 1.0 for k in ("pitch_class", "interval", "duration")), (name, r)
    assert rows["real (held-out)"]["usable"] >= 10 and rows["uniform random"]["classifier_acc"] > 0.8
    model = rows["melody-transformer:width=32,layers=1"]
    assert model["steps"] >= 1 and model["overrides"] == {"width": 32, "layers": 1}
    assert "usable" in res.stdout and "markov order 2" in res.stdout  # the printed table

    # the parsed tunes are cached with their meter; a second load reads the cache
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    monkeypatch.syspath_prepend(str(BENCH))
    import melody_corpora
    cached = list((tmp_path / "cache" / "generative-studio" / "melody-benchmark").glob("dir-*.npz"))
    assert len(cached) == 1
    before = cached[0].stat().st_mtime_ns
    tunes = melody_corpora.load_corpus(str(folder), log=lambda m: None)
    assert cached[0].stat().st_mtime_ns == before
    assert sorted({t.meter for t in tunes}) == ["3/4", "6/8"] and {t.bar_steps for t in tunes} == {12}
