"""The performance suite: a quick real run of two benchmarks, and its promise never to crash on a broken one."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import common  # noqa: E402
import run_all  # noqa: E402

REQUIRED = ["first_paint_s", "train_throughput_vs_raw_loop", "ui_frame_p99_ms_while_training", "latent_grid_fps",
            "latent_grid_latency_p95_ms", "onnx_vs_torch_generate_speedup", "image_import_vs_raw_pillow",
            "text_tokens_per_s", "melody_generate_ms_64_steps", "peak_rss_mb_demo_open",
            "peak_rss_mb_training_image"]


def test_quick_suite_prints_a_table_and_every_key_on_its_last_line():
    start = time.perf_counter()
    res = subprocess.run([sys.executable, str(BENCH / "run_all.py"), "--quick", "--repeats", "1",
                          "--only", "startup,generate", "--json"], capture_output=True, text=True, timeout=170)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(REQUIRED) <= set(out), set(REQUIRED) - set(out)
    figures = out["figures"]
    # the two chosen benchmarks really measured something, on the CPU, once each
    for key in ("first_paint_s", "text_tokens_per_s", "melody_generate_ms_64_steps"):
        assert isinstance(out[key], (int, float)) and out[key] > 0, (key, figures[key])
        f = figures[key]
        assert f["min"] <= f["median"] <= f["max"] and f["n"] == 1 and f["device"] == "cpu", f
    assert figures["first_paint_s"]["target"] == 1.0 and figures["first_paint_s"]["passed"] in (True, False)
    # the others were not run: null with the reason, never missing
    assert out["latent_grid_fps"] is None and figures["latent_grid_fps"]["reason"].startswith("skipped")
    assert out["settings"]["quick"] is True and out["machine"]["cores"] >= 1
    table = res.stdout
    assert "first_paint_s" in table and "min / median / max" in table and "<= 1" in table
    assert time.perf_counter() - start < 170


@pytest.fixture
def fake_bench(tmp_path, monkeypatch):
    """run_all with its benchmark folder pointed at scripts written by the test."""
    monkeypatch.setattr(run_all, "HERE", tmp_path)

    def write(name: str, body: str) -> None:
        (tmp_path / name).write_text(textwrap.dedent(body))
    return write


def test_missing_failing_and_garbled_benchmarks_are_reported_not_fatal(fake_bench, tmp_path, capsys):
    fake_bench("startup.py", "import sys; print('boom: no display', file=sys.stderr); sys.exit(3)\n")
    fake_bench("generate_speed.py", "print('no json here')\n")
    fake_bench("train_overhead.py", """\
        import json, sys
        print(json.dumps({"device": "cpu", "repeats": 2, "train_throughput_vs_raw_loop": 0.97,
                          "ratio_child": {"median": 0.97, "min": 0.9, "max": 1.01, "n": 2}}))
        """)
    rc = run_all.main(["--only", "startup,generate,train,memory", "--json", "--timeout", "60"])
    out = capsys.readouterr().out
    assert rc == 0
    obj = json.loads(out.strip().splitlines()[-1])
    fig = obj["figures"]
    assert obj["first_paint_s"] is None and "status 3" in fig["first_paint_s"]["reason"]
    assert "boom: no display" in fig["first_paint_s"]["reason"]
    assert obj["text_tokens_per_s"] is None and "not JSON" in fig["text_tokens_per_s"]["reason"]
    assert obj["peak_rss_mb_demo_open"] is None and fig["peak_rss_mb_demo_open"]["reason"].startswith("missing")
    # the headless train benchmark still gives its figure; the GUI-only one names the missing script
    assert obj["train_throughput_vs_raw_loop"] == 0.97 and fig["train_throughput_vs_raw_loop"]["passed"] is True
    assert "train_overhead_gui.py" in fig["ui_frame_p99_ms_while_training"]["reason"]
    assert "status 3" in out and "n/a" in out  # the table says it too
    assert run_all.main(["--only", "startup", "--strict"]) == 1


def test_a_timeout_ends_the_benchmark_and_its_children(fake_bench, tmp_path):
    fake_bench("startup.py", f"""\
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(tmp_path / 'child.pid')!r}, "w").write(str(child.pid))
        time.sleep(60)
        """)
    suite = run_all.Suite(1, True, "cpu", 3.0, tmp_path)
    t0 = time.perf_counter()
    with pytest.raises(run_all.BenchError, match="timeout"):
        suite.call("startup.py", [])
    assert time.perf_counter() - t0 < 30
    pid = int((tmp_path / "child.pid").read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_peak_rss_counts_the_whole_process_tree():
    # a parent holding ~60 MB starts a child holding ~120 MB; both are alive together for a while
    code = textwrap.dedent("""\
        import subprocess, sys, time
        keep = bytearray(60 * 2**20)
        child = subprocess.Popen([sys.executable, "-c",
                                  "import time; b = bytearray(120 * 2**20); time.sleep(1.0)"])
        child.wait()
        """)
    run = common.run_measuring_rss([sys.executable, "-c", code], timeout=60, interval=0.02)
    assert run.returncode == 0 and run.processes >= 2
    assert run.peak_process_mb >= 120           # the child's own high-water mark
    assert run.peak_tree_mb >= 180              # parent and child summed at one sample
    assert run.peak_mb < 600


def test_spread_and_last_json():
    s = common.spread([3.0, 1.0, 2.0, float("nan"), None])
    assert (s["min"], s["median"], s["max"], s["n"]) == (1.0, 2.0, 3.0, 3)
    assert common.spread([])["median"] is None
    assert common.last_json("noise\n{\"a\": 1}\n\n") == {"a": 1}
    with pytest.raises(ValueError, match="not JSON"):
        common.last_json("{\"a\": 1}\ntrailing words")
