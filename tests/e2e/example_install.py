"""Install an example plugin from examples/ the way a user would (pip), into a temporary folder."""
from __future__ import annotations

import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path


def pip_install_example(example: Path, tmp_path_factory, dist: str) -> Path:
    """``pip install`` a copy of ``example`` into a fresh folder; returns the folder (for sys.path).

    Built from a copy: a setuptools build writes build/ and *.egg-info next to the sources.
    ``dist`` is the distribution's import-style name, checked for its entry points.
    """
    target = tmp_path_factory.mktemp(f"{example.name}-env")
    source = tmp_path_factory.mktemp(f"{example.name}-src") / example.name
    shutil.copytree(example, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                           "--no-index", "--disable-pip-version-check", "-q", "--target", str(target),
                           str(source)], capture_output=True, text=True, timeout=180, cwd=source)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(target.glob(f"{dist}-*.dist-info/entry_points.txt")), f"{dist} registered no entry points"
    return target


@contextmanager
def importable(target: Path, package: str):
    """``target`` (from :func:`pip_install_example`) on this process's ``sys.path`` while the block runs, so
    entry-point discovery finds the example; afterwards it and ``package``'s modules are gone again."""
    from studio.core.plugins.registry import discover

    sys.path.insert(0, str(target))
    discover(refresh=True)
    try:
        yield target
    finally:
        sys.path.remove(str(target))
        for name in [m for m in sys.modules if m.split(".")[0] == package]:
            del sys.modules[name]
        discover(refresh=True)
