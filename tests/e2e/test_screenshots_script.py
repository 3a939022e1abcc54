"""`make screenshots` works on a fresh machine and every picture it takes shows something."""
import subprocess
import sys
from pathlib import Path

from studio.ui.panels import PANELS
from tests.ui.screens import distinct_colours

ROOT = Path(__file__).resolve().parents[2]


def test_screenshot_script_captures_the_window_and_every_panel(tmp_path):
    res = subprocess.run([sys.executable, str(ROOT / "docs" / "make_screenshots.py"), "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    expected = ["window.png"] + [f"panel-{p.key}.png" for p in PANELS]
    for name in expected:
        path = tmp_path / name
        assert path.exists(), name
        assert distinct_colours(path) > 12, f"{name} looks blank"
