"""Open the real studio window under Xvfb (xcb platform), screenshot it, check it is not blank."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ui.screens import SCREENS, distinct_colours

pytestmark = pytest.mark.xvfb


@pytest.fixture(scope="module")
def xvfb_display():
    exe = shutil.which("Xvfb")
    if not exe:
        pytest.skip("Xvfb is not installed (apt install xvfb); .ci/run installs it")
    display = f":{90 + os.getpid() % 50}"
    proc = subprocess.Popen([exe, display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = Path(f"/tmp/.X11-unix/X{display[1:]}")
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    yield display
    proc.terminate()
    proc.wait(10)


def test_studio_gui_screenshot_under_a_real_x_server(xvfb_display, tmp_path):
    SCREENS.mkdir(exist_ok=True)
    out = SCREENS / "real-window.png"
    out.unlink(missing_ok=True)
    env = dict(os.environ, DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb")
    res = subprocess.run([sys.executable, "-m", "studio", "gui", "--demo", "--screenshot", str(out)],
                         env=env, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    assert out.exists()
    assert distinct_colours(out) > 20
