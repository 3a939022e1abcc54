"""Issue 22: `studio runs export RUN --format csv|tensorboard`: a run's metrics where other tools look.
Checked against the run's own metrics.sqlite, the TensorBoard files with TensorBoard's own event reader."""
from __future__ import annotations

import csv
import json
import math
import shutil
import sqlite3
from pathlib import Path

import pytest

from studio.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "studio" / "resources" / "demo" / "runs" / "folk-melody-rnn"


@pytest.fixture
def run_dir(tmp_path) -> Path:
    run = tmp_path / "melody-run"
    run.mkdir()
    for name in ("run.json", "metrics.sqlite"):
        shutil.copy2(DEMO / name, run / name)
    return run


def _truth(run: Path) -> dict[int, dict[str, float]]:
    """step -> {metric: value} straight from SQLite (the last row of a step wins, as in the export)."""
    out: dict[int, dict[str, float]] = {}
    conn = sqlite3.connect(run / "metrics.sqlite")
    try:
        for step, name, value in conn.execute("SELECT step, name, value FROM metrics ORDER BY rowid"):
            out.setdefault(step, {})[name] = value
    finally:
        conn.close()
    return out


def test_wide_csv_has_a_row_per_step_and_a_column_per_metric(run_dir, tmp_path, capsys):
    out = tmp_path / "m.csv"
    assert main(["runs", "export", str(run_dir), "--out", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    truth = _truth(run_dir)
    names = sorted({n for v in truth.values() for n in v})
    assert info["metrics"] == names and info["steps"] == len(truth) and info["files"] == [str(out)]
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["step", "time", *names]
    assert [int(r[0]) for r in rows[1:]] == sorted(truth)
    sparse = 0
    for r in rows[1:]:
        step = int(r[0])
        assert float(r[1]) > 1e9  # wall-clock seconds
        for name, cell in zip(names, r[2:]):
            if name in truth[step]:
                assert math.isclose(float(cell), truth[step][name], rel_tol=1e-12)
            else:
                assert cell == ""
                sparse += 1
    assert sparse > 0, "validation metrics are logged at fewer steps: some cells must be blank"
    # never overwritten silently, and the run itself is only read
    assert main(["runs", "export", str(run_dir), "--out", str(out)]) == 1
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert sorted(p.name for p in run_dir.iterdir()) == ["metrics.sqlite", "run.json"]


def test_tensorboard_files_read_back_with_tensorboards_reader(run_dir, tmp_path, capsys):
    pytest.importorskip("tensorboard", reason="the tensorboard extra (in the test extra)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "tb" / "melody"
    assert main(["runs", "export", str(run_dir), "--format", "tensorboard", "--out", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert len(info["files"]) == 1 and Path(info["files"][0]).parent == out
    acc = EventAccumulator(str(out), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    truth = _truth(run_dir)
    names = sorted({n for v in truth.values() for n in v})
    assert sorted(acc.Tags()["scalars"]) == names
    for name in names:
        want = [(s, v[name]) for s, v in sorted(truth.items()) if name in v]
        got = [(e.step, e.value) for e in acc.Scalars(name)]
        assert [s for s, _ in got] == [s for s, _ in want], name
        for (_, a), (_, b) in zip(got, want):
            assert math.isclose(a, b, rel_tol=1e-6) or (math.isnan(a) and math.isnan(b)), name
    # a second export into the same folder would double every curve: refused unless --overwrite
    assert main(["runs", "export", str(run_dir), "--format", "tensorboard", "--out", str(out)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    keep = out / "notes.txt"
    keep.write_text("mine")
    assert main(["runs", "export", str(run_dir), "--format", "tensorboard", "--out", str(out), "--overwrite"]) == 0
    assert len(list(out.glob("events.out.tfevents.*"))) == 1 and keep.read_text() == "mine"


def test_tensorboard_missing_is_one_line_saying_what_to_install(run_dir, tmp_path, monkeypatch, capsys):
    from studio.core.training import metrics_export

    monkeypatch.setattr(metrics_export, "tensorboard_available", lambda: False)
    assert main(["runs", "export", str(run_dir), "--format", "tensorboard", "--out", str(tmp_path / "tb")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"studio runs: {metrics_export.TB_HINT}"]
    assert not (tmp_path / "tb").exists()


def test_not_a_run_folder_is_named(tmp_path, capsys):
    assert main(["runs", "export", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == f"studio runs: {tmp_path} is not a run folder (no run.json)"
