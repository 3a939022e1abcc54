"""Build the wheel, install it (not editable) into a fresh virtual environment, and prove it works there.

    python packaging/wheel_check.py             # make wheel-check; .ci/wheel_check in CI
    python packaging/wheel_check.py --keep DIR  # leave the environment and the screenshot in DIR

What a user gets from ``pip install .`` is what is checked: the wheel is built from a copy of the
sources (so the checkout is not written to), installed with ``pip install --no-deps`` into a new
venv, and run from a folder outside the checkout with ``studio --version``, ``studio doctor --json``
(which must find the demo runs inside the installed package) and ``studio gui --demo --screenshot``
(the window opens the demo project made from the wheel's runs). The dependencies are not installed
again (torch alone is GBs): the new venv sees this interpreter's site-packages through a ``.pth``
line, after its own, so ``studio`` itself can only come from the wheel.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "THIRD_PARTY_NOTICES", "studio", "studio_plugins"]


class CheckFailed(SystemExit):
    pass


def _run(cmd: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    if proc.returncode != 0:
        raise CheckFailed(f"wheel check: {' '.join(map(str, cmd[:4]))} … failed (exit {proc.returncode}):\n"
                          f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc


def _setuptools_ok(minimum: int = 77) -> bool:
    """pyproject.toml's build requirement (SPDX ``license``) met by this interpreter's setuptools?"""
    try:
        from importlib.metadata import version

        return int(version("setuptools").split(".")[0]) >= minimum
    except Exception:  # noqa: BLE001 - missing or odd version: let pip build in isolation
        return False


def build_wheel(out: Path) -> Path:
    """The wheel built from a copy of the sources (setuptools writes build/ and *.egg-info beside them)."""
    src = out / "src"
    for name in SOURCES:
        s = ROOT / name
        if s.is_dir():
            shutil.copytree(s, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            src.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, src / name)
    # this venv's setuptools builds it when new enough (works offline); else pip fetches one, as users' pip does
    isolation = ["--no-build-isolation"] if _setuptools_ok() else []
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation,
          "--disable-pip-version-check", "-w", out / "dist", src], timeout=300, cwd=src)
    wheels = list((out / "dist").glob("generative_studio-*.whl"))
    if len(wheels) != 1:
        raise CheckFailed(f"wheel check: expected one wheel in {out / 'dist'}, found {wheels}")
    return wheels[0]


def make_venv(env: Path, wheel: Path) -> Path:
    """A new venv with the wheel installed (no deps); this interpreter's packages reachable after its own."""
    _run([sys.executable, "-m", "venv", "--without-pip", env], timeout=120)
    python = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        timeout=60).stdout.strip())
    # A plain path line: the .pth files there (this checkout's editable finder) are not run.
    (purelib / "zz_studio_check_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index",
          "--disable-pip-version-check", wheel], timeout=300)
    return python


def scripts_dir(python: Path) -> Path:
    return python.parent


def distinct_colours(png: Path) -> int:
    from PIL import Image

    with Image.open(png) as im:
        return len(im.convert("RGB").getcolors(maxcolors=1 << 20) or [])


def check_installed(python: Path, work: Path) -> dict:
    """Run the installed ``studio`` from outside the checkout; returns what was seen."""
    bin_dir = scripts_dir(python)
    studio = bin_dir / ("studio.exe" if os.name == "nt" else "studio")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(STUDIO_CONFIG_DIR=str(work / "config"), STUDIO_DATA_DIR=str(work / "data"),
               PATH=str(bin_dir) + os.pathsep + env.get("PATH", ""), OMP_NUM_THREADS="1")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    run_dir = work / "cwd"
    run_dir.mkdir(parents=True, exist_ok=True)
    seen: dict = {}
    where = _run([python, "-c", "import studio; print(studio.__file__)"], 60, env=env, cwd=run_dir).stdout.strip()
    if Path(where).resolve().is_relative_to(ROOT):
        raise CheckFailed(f"wheel check: studio was imported from the checkout ({where}), not the wheel")
    seen["studio_module"] = where
    seen["version"] = _run([studio, "--version"], 60, env=env, cwd=run_dir).stdout.strip()
    doctor = json.loads(_run([studio, "doctor", "--json"], 300, env=env, cwd=run_dir).stdout)
    res = doctor.get("resources") or {}
    if not res.get("demo_runs"):
        raise CheckFailed(f"wheel check: the installed studio finds no demo runs ({res})")
    if Path(res["folder"]).resolve().is_relative_to(ROOT):
        raise CheckFailed(f"wheel check: demo runs found in the checkout ({res['folder']}), not the wheel")
    broken = [p["id"] for p in doctor.get("plugins", []) if p.get("status") != "ok"]
    if broken or not doctor.get("plugins"):
        raise CheckFailed(f"wheel check: plugins broken or missing in the installed studio: {broken}")
    seen["demo_runs"] = res["demo_runs"]
    seen["plugins"] = len(doctor["plugins"])
    shot = work / "installed-demo.png"
    t0 = time.monotonic()
    _run([studio, "gui", "--demo", "--screenshot", shot], 300, env=env, cwd=run_dir)
    seen["gui_seconds"] = round(time.monotonic() - t0, 1)
    colours = distinct_colours(shot) if shot.exists() else 0
    if colours < 50:
        raise CheckFailed(f"wheel check: {shot} missing or blank ({colours} colours)")
    runs = sorted(p.parent.name for p in (work / "data" / "demo-project" / "runs").glob("*/run.json"))
    if len(runs) != len(res["demo_runs"]):
        raise CheckFailed(f"wheel check: the demo project has runs {runs}, the wheel ships {res['demo_runs']}")
    seen["screenshot"] = str(shot)
    seen["colours"] = colours
    seen["demo_project_runs"] = runs
    return seen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = ap.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="studio-wheel-check-"))
    if args.keep and work.exists() and any(work.iterdir()):
        raise SystemExit(f"wheel check: {work} is not empty; give a new or empty folder to --keep")
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    try:
        wheel = build_wheel(work)
        python = make_venv(work / "venv", wheel)
        seen = check_installed(python, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    seen["wheel"] = wheel.name
    seen["seconds"] = round(time.monotonic() - t0, 1)
    print("wheel check passed:", json.dumps(seen), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
