"""The core must never import Qt: enforced by import-linter's contract in pyproject.toml."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contract_holds():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "import-linter is a test dependency"
    res = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "studio.core never imports Qt KEPT" in res.stdout


def test_core_imports_without_qt_in_a_fresh_process():
    code = ("import sys, pkgutil, importlib, studio.core as c\n"
            "for m in pkgutil.walk_packages(c.__path__, 'studio.core.'):\n"
            "    importlib.import_module(m.name)\n"
            "bad=[m for m in sys.modules if m.split('.')[0] in ('PySide6','PyQt5','PyQt6','pyqtgraph')]\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
