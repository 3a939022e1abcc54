"""Scenario 4: the training child is SIGKILLed at random (seeded) moments, again and again.

Each session is ``studio train ... --resume --json`` (the CLI code path the window's child runs),
forked from a warm :class:`~tests.faults.fault_helpers.Zygote`. After every kill we check that the
newest checkpoint loads, that the next session resumes from exactly it, that no more than one
checkpoint interval of completed steps is lost, and that the project holding the run opens. A last
session through the real :class:`TrainingProcess` (``python -m studio train --resume``) finishes the
run; its metrics must then hold every step exactly once.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.fault_helpers import Zygote, fault_distribution, read_events

FAST = {"threads": 1, "val_every": 0, "sample_every": 0, "checkpoint_minutes": 0}


def train_child(argv_json: str) -> int:
    """Child entry point: ``studio <argv>`` with every step event written (no thinning), so the
    events file says exactly which step was the last one completed before the kill."""
    import functools

    import studio.cli
    from studio.cli import train_cmd

    train_cmd.JsonLines = functools.partial(train_cmd.JsonLines, max_rate=1e9)
    return studio.cli.main(json.loads(argv_json))


@dataclass
class KillReport:
    kills: int = 0
    survived: int = 0                   # kills after which every check passed
    max_lost_steps: int = 0             # completed steps redone after a kill (worst case)
    checkpoint_interval: int = 0
    kills_in_setup: int = 0             # before the first step of a session
    kills_mid_checkpoint: int = 0       # a checkpoint temp file was left behind
    final_step: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _project(root: Path, checkpoint_every: int):
    from studio.core.project import Project
    from tests.fixtures.toy_plugins import data as toy_data

    proj = Project.create(root / "proj", "Kill test")
    proj.add_dataset(toy_data.write_image_dataset(proj.datasets_dir / "blobs"))
    run_dir = proj.runs_dir / "killed"
    proj.add_run(run_dir)
    proj.save()
    return proj, run_dir


def _check_project_opens(folder: Path, run_dir: Path) -> str:
    from studio.core.project_store import ProjectSession
    from studio.core.training.events import LIVE_STATES
    from studio.core.training.run_folder import effective_status, read_run

    session = ProjectSession.open(folder)
    try:
        if not any(session.project.resolve(r) == run_dir for r in session.project.runs):
            return "the project lost its run"
        status, reason = effective_status(read_run(run_dir))
        if status in LIVE_STATES:
            return f"a killed run still shows {status}"
    finally:
        session.close(save=False)
    return ""


def kill_resume(workdir: str | Path, iterations: int = 20, seed: int = 0, checkpoint_every: int = 5,
                step_sleep: float = 0.01, max_delay: float = 0.9, finish_steps: int = 7) -> KillReport:
    from studio.core.training.checkpoints import latest_checkpoint, list_checkpoints, load_model
    from studio.core.training.metrics import read_metrics
    from studio.core.training.process import TrainingProcess
    from studio.core.training.run_folder import read_run
    from tests.fixtures.toy_plugins import image

    t_start = time.perf_counter()
    workdir = Path(workdir)
    rng = random.Random(seed)
    _dist, env = fault_distribution(workdir / "site")
    proj, run_dir = _project(workdir, checkpoint_every)
    rep = KillReport(checkpoint_interval=checkpoint_every)
    logs = workdir / "logs"
    logs.mkdir()
    high_water = 0          # the most steps ever completed
    resumed_from = 0        # start step of the latest session
    seen_debris: set[str] = set()
    with Zygote(env, preload=("tests.faults.scenario_kill", "tests.fixtures.toy_plugins.image")) as zyg:
        for i in range(iterations):
            argv = ["train", "--out", str(run_dir), "--json", "--device", "cpu"]
            if not (run_dir / "run.json").exists():  # killed before the run folder was claimed: start anew
                argv += ["--plugin", "toy-image", "--data", str(proj.datasets_dir / "blobs"), "--steps", "1000000"]
                settings = {**FAST, "checkpoint_every": checkpoint_every, "step_sleep": step_sleep}
                for k, v in settings.items():
                    argv += ["--set", f"{k}={v}"]
            else:
                argv.append("--resume")
            ev_file, err_file = logs / f"s{i:02d}.jsonl", logs / f"s{i:02d}.err"
            pid = zyg.spawn("tests.faults.scenario_kill:train_child", [json.dumps(argv)], ev_file, err_file)
            time.sleep(rng.uniform(0.02, max_delay))
            rc = zyg.kill(pid)
            rep.kills += 1
            events = read_events(ev_file)
            problems = []
            if rc != -9:
                problems.append(f"session {i} ended by itself (rc {rc}): {err_file.read_text()[-300:]}")
            start = next((e for e in events if e["event"] == "start"), None)
            steps = [e["step"] for e in events if e["event"] == "step"]
            if start is not None and start["step"] != resumed_from:
                problems.append(f"session {i} started at step {start['step']}, expected {resumed_from}")
            if not steps:
                rep.kills_in_setup += 1
            high_water = max([high_water, *steps])
            ckdir = run_dir / "checkpoints"
            debris = {p.name for p in ckdir.iterdir() if p.name.endswith(".tmp")} if ckdir.is_dir() else set()
            debris |= {c.path.name for c in list_checkpoints(run_dir, include_invalid=True) if not c.valid}
            if debris - seen_debris:  # this kill cut a checkpoint write short
                rep.kills_mid_checkpoint += 1
            seen_debris |= debris
            newest = latest_checkpoint(run_dir) if run_dir.is_dir() else None
            saved = newest.step if newest else 0
            if newest is not None:
                try:
                    model, _, info = load_model(run_dir, plugin=image.plugin)
                    if info.step != saved or int(model.steps_done) != saved:
                        problems.append(f"checkpoint {saved} loads as step {info.step}/{int(model.steps_done)}")
                except Exception as exc:  # noqa: BLE001 - any failure to load is what we look for
                    problems.append(f"newest checkpoint after kill {i} does not load: {exc}")
            if saved < resumed_from:
                problems.append(f"checkpoint went back from {resumed_from} to {saved}")
            lost = high_water - saved
            rep.max_lost_steps = max(rep.max_lost_steps, lost)
            if lost > checkpoint_every:
                problems.append(f"kill {i}: {lost} completed steps lost (> {checkpoint_every})")
            if run_dir.joinpath("run.json").exists():
                msg = _check_project_opens(proj.folder, run_dir)
                if msg:
                    problems.append(f"kill {i}: {msg}")
            resumed_from = saved
            rep.problems += problems
            rep.survived += not problems

    # Finish through the real child-process path, as the window's Start button does.
    target = resumed_from + finish_steps
    proc = TrainingProcess("", None, run_dir, steps=target, device="cpu", resume=True, env=env)
    proc.start()
    st = proc.wait(timeout=240)
    events = proc.events()
    start = next((e for e in events if e["event"] == "start"), {})
    if st.state != "done" or st.step != target:
        rep.problems.append(f"the final resume ended {st.state} at {st.step}: {st.reason} {proc.stderr_tail[-3:]}")
    if start.get("step") != resumed_from:
        rep.problems.append(f"the final resume started at {start.get('step')}, expected {resumed_from}")
    steps, _ = read_metrics(run_dir).get("loss", ([], []))
    if steps != list(range(1, target + 1)):
        rep.problems.append(f"loss rows are not exactly steps 1..{target} (got {len(steps)} rows)")
    info = read_run(run_dir)
    if info.get("status") != "done" or load_model(run_dir, plugin=image.plugin)[2].step != target:
        rep.problems.append(f"run.json says {info.get('status')} at {info.get('step')}")
    msg = _check_project_opens(proj.folder, run_dir)
    if msg:
        rep.problems.append(msg)
    rep.final_step = st.step
    rep.seconds = time.perf_counter() - t_start
    return rep
