"""Open the real studio window under Xvfb (xcb platform), screenshot it, check it is not blank."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ui.screens import SCREENS, distinct_colours
from tests.xvfb_display import xvfb_display as x_server

pytestmark = pytest.mark.xvfb


@pytest.fixture(scope="module")
def xvfb_display():
    with x_server(1600, 1000, first=90) as display:
        if display is None:
            pytest.skip("Xvfb is not installed (apt install xvfb); .ci/run installs it")
        yield display


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
