"""Build the self-contained one-folder bundle with PyInstaller, and optionally prove it starts.

    python packaging/build_bundle.py            # make package:        dist/generative-studio/
    python packaging/build_bundle.py --check    # make package-check:  build, then run the bundled app
    python packaging/build_bundle.py --check-only   # run the check on an existing bundle

The check starts the bundled executable with ``--demo --screenshot`` on Qt's
offscreen platform, with settings and data in a temporary folder, and fails
unless it exits 0 with a non-blank PNG. Timings and the bundle size are printed
(and recorded by hand in packaging/README.md).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NAME = "generative-studio"


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build(dist: Path, work: Path) -> float:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise SystemExit("PyInstaller is not installed: pip install pyinstaller (inside the studio's venv)")
    icon = HERE / "icons" / "hicolor" / "256x256" / "apps" / f"{NAME}.png"
    if not icon.exists():
        subprocess.run([sys.executable, str(HERE / "render_icons.py")], check=True)
    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(dist), "--workpath", str(work), str(HERE / "studio.spec")]
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"PyInstaller failed (exit {proc.returncode}); see the messages above")
    seconds = time.monotonic() - t0
    bundle = dist / NAME
    print(f"built {bundle} in {seconds:.0f} s ({folder_size(bundle) / 2**20:.0f} MiB)", flush=True)
    return seconds


def distinct_colours(png: Path) -> int:
    from PIL import Image

    with Image.open(png) as im:
        return len(im.convert("RGB").getcolors(maxcolors=1 << 20) or [])


def check(dist: Path, timeout: float = 300.0) -> float:
    exe = dist / NAME / (NAME + (".exe" if os.name == "nt" else ""))
    if not exe.exists():
        raise SystemExit(f"{exe} does not exist: build the bundle first (make package)")
    tmp = Path(tempfile.mkdtemp(prefix="studio-package-check-"))
    shot = tmp / "bundled-app.png"
    env = dict(os.environ, STUDIO_CONFIG_DIR=str(tmp / "config"), STUDIO_DATA_DIR=str(tmp / "data"))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.pop("PYTHONPATH", None)  # the bundle must not lean on the checkout
    t0 = time.monotonic()
    try:
        proc = subprocess.run([str(exe), "--demo", "--screenshot", str(shot)], env=env, cwd=tmp,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"the bundled app did not take its screenshot within {timeout:.0f} s")
    seconds = time.monotonic() - t0
    cli = dist / NAME / ("studio" + (".exe" if os.name == "nt" else ""))  # the console executable
    ver = subprocess.run([str(cli), "--version"], env=env, cwd=tmp, capture_output=True, text=True, timeout=120)
    if ver.returncode != 0 or "generative-studio" not in ver.stdout:
        raise SystemExit(f"{cli} --version failed (exit {ver.returncode}): {ver.stderr[-1000:]}")
    for name in ("LICENSE", "THIRD_PARTY_NOTICES"):
        if not list((dist / NAME).rglob(name)):
            raise SystemExit(f"the bundle has no {name}")
    if proc.returncode != 0 or not shot.exists():
        raise SystemExit(f"the bundled app failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    colours = distinct_colours(shot)
    if colours < 50:
        raise SystemExit(f"{shot} looks blank ({colours} colours)")
    kept = ROOT / "build" / "package-check.png"
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, kept)
    demo_runs = list((tmp / "data" / "demo-project" / "runs").glob("*/run.json"))
    print(f"bundled app started and wrote {kept} ({colours} colours) in {seconds:.1f} s; "
          f"demo project has {len(demo_runs)} runs", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="after building, start the bundle with --screenshot")
    ap.add_argument("--check-only", action="store_true", help="only run the check on an existing bundle")
    ap.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default dist/)")
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller", help="PyInstaller's scratch folder")
    args = ap.parse_args(argv)
    if not args.check_only:
        build(args.dist, args.work)
    if args.check or args.check_only:
        check(args.dist)
    return 0


if __name__ == "__main__":
    sys.exit(main())
