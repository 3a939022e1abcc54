"""Fault-injection report (issues 10, 21): inject every fault of tests/faults/ and print the tables.

    python benchmarks/faults_report.py                 # full: 20 trainer kills, 100k images, 60 s latent storm
    python benchmarks/faults_report.py --quick         # a short check of the script (a few seconds per row)
    python benchmarks/faults_report.py --json          # the table as JSON on the last line

Columns: faults injected, survived, data lost (completed steps / acknowledged saves not recoverable;
must be 0 beyond one checkpoint interval), and the hostile inputs tried and handled. The scenarios are
the test suite's own (tests/faults/scenario_*.py), run at full length.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _row(rows, fault, injected, survived, lost, note, ok=None):
    ok = (survived == injected and not lost) if ok is None else ok
    rows.append({"fault": fault, "injected": injected, "survived": survived, "lost": lost, "note": note,
                 "ok": bool(ok)})
    print(f"  {fault}: {survived}/{injected} survived, lost {lost} — {note}", flush=True)


def kills(rows, tmp: Path, quick: bool) -> None:
    from tests.faults.scenario_kill import kill_resume

    n = 4 if quick else 20
    r = kill_resume(tmp / "kill", iterations=n, seed=4, checkpoint_every=5)
    _row(rows, "trainer SIGKILLed at random, resumed (--resume)", r.kills, r.survived if not r.problems else 0,
         f"≤{r.max_lost_steps} steps (interval {r.checkpoint_interval})",
         f"{r.kills_mid_checkpoint} kills mid-checkpoint, {r.kills_in_setup} in start-up; finished at step "
         f"{r.final_step} with every step once" + (f"; PROBLEMS {r.problems[:2]}" if r.problems else ""),
         ok=not r.problems and r.max_lost_steps <= r.checkpoint_interval)


def crashes(rows, tmp: Path, quick: bool) -> None:
    from tests.faults.fault_helpers import Zygote
    from tests.faults.scenario_crash import kill_inside_writes, random_kills

    with Zygote(preload=("tests.faults.scenario_crash",)) as z:
        for kind in ("project", "checkpoint"):
            r = random_kills(z, tmp, kind, kills=3 if quick else 25, seed=5)
            _row(rows, f"studio SIGKILLed during {kind} saves", r.kills, r.survived, r.lost,
                 "newest acknowledged save recovered" + (f"; PROBLEMS {r.problems[:2]}" if r.problems else ""))
            r = kill_inside_writes(z, tmp, kind)
            _row(rows, f"studio dies at each write point of a {kind} save", r.kills, r.survived, r.lost,
                 "old or new state, never a mix" + (f"; PROBLEMS {r.problems[:2]}" if r.problems else ""))


def disks(rows, tmp: Path) -> None:
    import pytest

    from tests.faults import scenario_disk as sd
    from tests.fixtures.plugin_dist import install_in_process, write_plugin_distribution

    mp = pytest.MonkeyPatch()
    try:
        install_in_process(mp, write_plugin_distribution(tmp / "site"))
        from studio.core.training.engine import train
        from tests.fixtures.toy_plugins import data as toy_data
        run = tmp / "toy-run"
        train("toy-image", toy_data.image_data(), run, steps=3,
              settings={"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_every": 3})
        modes = (["tmpfs"] if sd.can_mount_tmpfs(tmp / "probe") else []) + ["injected"]
        for mode in modes:
            problems, n = [], 0
            for name, fn in (("project", sd.project_on_full_disk), ("checkpoint", sd.checkpoint_on_full_disk),
                             ("export", lambda d: sd.export_on_full_disk(d, run))):
                inner = pytest.MonkeyPatch()
                try:
                    with sd.disk(tmp / f"disk-{mode}-{name}", mode, inner) as d:
                        problems += [f"{name}: {p}" for p in fn(d)]
                finally:
                    inner.undo()
                n += 1
            _row(rows, f"ENOSPC ({mode}) on project save, checkpoint, export", n, n - len({p.split(':')[0] for p in problems}),
                 0, "'no space left on device', older files intact" + (f"; PROBLEMS {problems[:2]}" if problems else ""))
    finally:
        mp.undo()


def plugins(rows) -> None:
    """The GUI test is the measurement (it needs pytest-qt): run it and count its checks."""
    import subprocess

    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/faults/test_fault_plugins_gui.py"], cwd=ROOT, capture_output=True, text=True)
    ok = proc.returncode == 0
    _row(rows, "plugins: import error, raise, segfault, NaN, hang (Stop -> grace -> kill)", 5, 5 if ok else 0, 0,
         f"window reports each by name and trains afterwards ({time.perf_counter() - t:.0f} s)"
         + ("" if ok else f"; FAILED: {proc.stdout[-300:]}"), ok=ok)


def hostile(rows, tmp: Path) -> dict:
    from tests.faults.scenario_hostile import CASES, run_case

    handled, worst_t, worst_mem, fails = 0, 0.0, 0, []
    for cid, _what, builder, words in CASES:
        msg, m, problems = run_case(builder, tmp / "hostile" / cid, words)
        handled += not problems
        worst_t, worst_mem = max(worst_t, m.wall_s), max(worst_mem, m.rss_growth, m.py_peak)
        if problems:
            fails.append(f"{cid}: {problems[0]}")
    # the project-file corpus of tests/faults/test_hostile_project_files.py
    import subprocess
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/faults/test_hostile_project_files.py"], cwd=ROOT, capture_output=True, text=True)
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    passed = int(last.split(" passed")[0].split()[-1]) if " passed" in last else 0
    failed = int(last.split(" failed")[0].split()[-1]) if " failed" in last else 0
    tried = len(CASES) + passed + failed
    rows.append({"fault": "hostile files", "injected": tried, "survived": handled + passed, "lost": 0,
                 "note": f"refused in words; worst {worst_t:.2f} s, {worst_mem / 2**20:.0f} MiB (checkpoint/"
                         f"dataset/import/JSON corpus) + {passed + failed} project-file tests"
                         + (f"; PROBLEMS {fails[:2]}" if fails else ""),
                 "ok": not fails and not failed})
    print(f"  hostile files: {handled + passed}/{tried} handled", flush=True)
    return {"tried": tried, "handled": handled + passed}


def folders(rows, tmp: Path, detail: list) -> None:
    """Issue 21: hostile folders (tests/faults/scenario_folders.py), one detail row per case."""
    from tests.faults.scenario_folders import CASES, SLOW, run_case

    handled, fails = 0, []
    for cid, attack, builder, words in CASES:
        slow = cid in SLOW
        msg, m, problems = run_case(builder, tmp / "folders" / cid, words, time_limit=300 if slow else 10,
                                    memory=not slow)
        handled += not problems
        if problems:
            fails.append(f"{cid}: {problems[0]}")
        detail.append({"case": cid, "attack": attack, "ok": not problems, "seconds": round(m.wall_s, 2),
                       "mib": None if slow else round(max(m.rss_growth, m.py_peak) / 2**20, 1),
                       "message": (problems[0] if problems else msg)[:140]})
        print(f"  {cid}: {'ok' if not problems else 'FAILED ' + problems[0][:120]} ({m.wall_s:.2f} s)", flush=True)
    _row(rows, "hostile folders: links out, FIFOs/devices, type confusion, two writers, bombs", len(CASES),
         handled, 0, "clear message or right behaviour; nothing outside the project touched"
         + (f"; PROBLEMS {fails[:2]}" if fails else ""))


def memory(rows, tmp: Path, quick: bool, detail: list) -> None:
    """Issue 21 (items 6-8): the hostile inputs in `studio` children capped with RLIMIT_AS at the measured
    need of the normal path + a margin (tests/faults/scenario_memory.py), and `generate --n` streaming."""
    import re

    from tests.faults import scenario_memory as sm

    need = sm.baseline(tmp / "mem-baseline")
    cap = max(need.values()) + sm.MARGIN
    enforced = sm.allocation_fails_under(cap)
    handled, fails = 0, []
    for cid, what, builder in sm.CASES:
        r = sm.run_case(builder, tmp / "memory" / cid, cap)
        handled += not r.problems
        if r.problems:
            fails.append(f"{cid}: {r.problems[0]}")
        detail.append({"case": cid, "attack": what, "ok": not r.problems, "seconds": round(r.seconds, 1),
                       "vm_peak_mib": round(r.vm_peak / 2**20), "rss_peak_mib": round(r.rss_peak / 2**20),
                       "exit": r.rc, "message": (r.problems[0] if r.problems else r.message or "ok")[:140]})
        print(f"  {cid}: {'ok' if not r.problems else 'FAILED ' + r.problems[0][:120]} ({r.seconds:.1f} s, "
              f"VmPeak {r.vm_peak / 2**20:.0f} MiB)", flush=True)
    base = ", ".join(f"{k} {v / 2**20:.0f}" for k, v in need.items())
    _row(rows, f"hostile inputs under RLIMIT_AS {cap / 2**20:.0f} MiB", len(sm.CASES), handled, 0,
         f"cap = the largest baseline VmPeak (MiB: {base}) + {sm.MARGIN >> 20} MiB"
         f"{'' if enforced else ' (NOT ENFORCED here)'}; clear message or success, no MemoryError/traceback"
         + (f"; PROBLEMS {fails[:2]}" if fails else ""), ok=enforced and not fails)
    # streaming: the peak RSS of `generate --n` does not grow with n (128x128 colour pictures, uncapped)
    run = sm.picture_run(tmp / "stream-run", 128, 3)
    big = 320 if quick else 1280
    peaks, first = {}, None
    for n in (64, big):
        r = sm.run_studio(["generate", "--run", run, "--out", tmp / f"stream-{n}", "--n", n], timeout=900)
        peaks[n] = r.rss_peak
        m = re.search(r"64/[\d,]+ samples written \(([\d.]+) s\)", r.err)
        if n == big and m:
            first = float(m.group(1))
        if r.rc != 0:
            fails.append(f"generate --n {n}: exit {r.rc}")
    growth = (peaks[big] - peaks[64]) / 2**20
    _row(rows, f"generate --n {big:,} streams (64 a batch)", 1, int(growth < 64 and not fails), 0,
         f"peak RSS {peaks[64] / 2**20:.0f} MiB at --n 64, {peaks[big] / 2**20:.0f} MiB at --n {big:,} "
         f"(+{growth:.0f} MiB); first 64 files on disk after {first} s", ok=growth < 64 and not fails)


def load(rows, tmp: Path, quick: bool) -> None:
    from PySide6.QtWidgets import QApplication

    import studio.ui  # noqa: F401 - its PySide6 workaround matters for long painting
    from tests.faults import scenario_load as sl

    QApplication.instance() or QApplication([])
    steps = 100_000 if quick else 1_000_000
    run = sl.write_big_run(tmp / "big", steps)
    read = sl.read_big_run(run)
    shown = sl.open_big_run_in_loss_plot(run, steps, timeout=600)
    ok = shown.points == steps and shown.rss_growth < 400 * 2**20 and read.rss_growth < 250 * 2**20
    _row(rows, f"run with {steps:,} logged steps: open + plot", 1, int(ok), 0,
         f"read_metrics {read.seconds:.1f} s +{read.rss_growth / 2**20:.0f} MiB; Loss plot {shown.seconds:.1f} s "
         f"+{shown.rss_growth / 2**20:.0f} MiB, longest UI stall {shown.worst_freeze_ms:.0f} ms", ok=ok)
    n = 2_000 if quick else 100_000
    sl.write_small_images(tmp / "imgs", n)
    imp = sl.import_many_images(tmp / "imgs", tmp / "ds")
    ok = imp.points == n and imp.rss_growth < 1024 * 2**20
    _row(rows, f"import {n:,} small images", 1, int(ok), 0,
         f"{imp.seconds:.1f} s, RSS +{imp.rss_growth / 2**20:.0f} MiB", ok=ok)
    secs = 5 if quick else 60
    st = sl.latent_storm(seconds=secs, rate=200)
    ok = st.max_pending <= 2 and st.rss_growth_after_warmup < 64 * 2**20 and st.idle_after_s < 2
    _row(rows, f"latent grid at 200 events/s for {secs} s", 1, int(ok), 0,
         f"{st.events} events, {st.frames} frames, max pending {st.max_pending}, RSS +"
         f"{st.rss_growth_after_warmup / 2**20:.1f} MiB after warm-up, idle {st.idle_after_s * 1000:.0f} ms "
         f"after the last event", ok=ok)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs, to check the script itself")
    ap.add_argument("--json", action="store_true", help="print the table as JSON on the last line")
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: kill,crash,disk,plugins,hostile,"
                                               "folders,memory,load")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    skip = set(filter(None, args.skip.split(",")))
    rows: list[dict] = []
    detail: list[dict] = []
    mem_detail: list[dict] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="faults-report-") as d:
        tmp = Path(d)
        for name, fn in (("kill", lambda: kills(rows, tmp, args.quick)), ("crash", lambda: crashes(rows, tmp, args.quick)),
                         ("disk", lambda: disks(rows, tmp)), ("plugins", lambda: plugins(rows)),
                         ("hostile", lambda: hostile(rows, tmp)), ("folders", lambda: folders(rows, tmp, detail)),
                         ("memory", lambda: memory(rows, tmp, args.quick, mem_detail)),
                         ("load", lambda: load(rows, tmp, args.quick))):
            if name not in skip:
                print(f"[{name}]", flush=True)
                fn()
    print()
    print("| Fault | Injected | Survived | Data lost | Notes |")
    print("|---|---:|---:|---|---|")
    for r in rows:
        print(f"| {r['fault']} | {r['injected']} | {r['survived']} | {r['lost']} | {r['note']} |")
    if detail:
        print("\n| Hostile folder case | Attack | Handled | Time | Memory | Message |")
        print("|---|---|---|---:|---:|---|")
        for d in detail:
            mem = "—" if d["mib"] is None else f"{d['mib']} MiB"
            text = d["message"].replace("|", "/").replace("\n", " ")
            print(f"| {d['case']} | {d['attack']} | {'yes' if d['ok'] else 'NO'} | {d['seconds']} s | {mem} | {text} |")
    if mem_detail:
        print("\n| Under a memory cap | Input | Handled | Time | VmPeak | Peak RSS | Exit | Message |")
        print("|---|---|---|---:|---:|---:|---:|---|")
        for d in mem_detail:
            text = d["message"].replace("|", "/").replace("\n", " ")
            print(f"| {d['case']} | {d['attack']} | {'yes' if d['ok'] else 'NO'} | {d['seconds']} s | "
                  f"{d['vm_peak_mib']} MiB | {d['rss_peak_mib']} MiB | {d['exit']} | {text} |")
    faults = [r for r in rows if r["fault"] != "hostile files"]
    host = next((r for r in rows if r["fault"] == "hostile files"), None)
    print(f"\nfaults injected {sum(r['injected'] for r in faults)}, survived {sum(r['survived'] for r in faults)}"
          + (f"; hostile inputs tried {host['injected']}, handled {host['survived']}" if host else "")
          + f"; {time.perf_counter() - t0:.0f} s" + ("" if all(r["ok"] for r in rows) else "; SOME CHECKS FAILED"))
    if args.json:
        if detail:
            print(json.dumps({"folder_cases": detail}))
        if mem_detail:
            print(json.dumps({"memory_cases": mem_detail}))
        print(json.dumps(rows))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
