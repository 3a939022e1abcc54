"""The window on a 1366x768 laptop screen (a real Xvfb X server): the first launch fits the screen with
every dock, the window can be as narrow as 1200 px, and (at first launch and at its narrowest) no label
or button text in any panel is cut,
no form scrolls sideways and no tab bar needs scroll arrows (tests/e2e/window_fit_probe.py walks the
widget tree of every panel, raised in turn)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.xvfb_display import xvfb_display

pytestmark = [pytest.mark.xvfb, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
PROBE = ROOT / "tests" / "e2e" / "window_fit_probe.py"


@pytest.fixture(scope="module")
def laptop_display():
    with xvfb_display(1366, 768, first=140) as display:
        if display is None:
            pytest.skip("Xvfb is not installed (apt install xvfb); .ci/run installs it")
        yield display


@pytest.mark.parametrize("narrow", [False, True], ids=["first-launch", "narrowest"])
def test_window_and_every_panel_fit_a_1366x768_screen(laptop_display, tmp_path, narrow):
    env = dict(os.environ, DISPLAY=laptop_display, QT_QPA_PLATFORM="xcb", STUDIO_CONFIG_DIR=str(tmp_path / "config"),
               STUDIO_DATA_DIR=str(tmp_path / "data"), OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, str(PROBE)] + (["--narrow"] if narrow else []), env=env, capture_output=True, text=True, timeout=540, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout)
    assert report["screen"][2:] == [1366, 768]
    assert report["window_fits"], f"window {report['frame']} runs off the screen {report['screen']}"
    assert report["minimum"][0] <= 1200, f"the window cannot be narrower than {report['minimum'][0]} px"
    x, y, w, h = report["frame"]
    if not narrow:
        assert w >= 0.8 * 1366 and h >= 0.8 * 768  # a sensible share of the screen, not a corner
    else:
        assert w == report["minimum"][0]
    off = {key: d for key, d in report["docks"].items() if not d["fits"]}
    assert not off, f"docks off the screen: {off}"
    assert not report["cut"], "cut texts:\n" + json.dumps(report["cut"], indent=1)
    assert not report["sideways"], f"forms scrolling sideways: {report['sideways']}"
    assert not report["tabs"], f"tab bars with hidden tabs: {report['tabs']}"


def test_the_probe_sees_a_cut_label_and_sideways_scrolling(qtbot):
    """The checks above can fail: a label narrower than its text and a form wider than its scroll area."""
    from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

    from tests.e2e.window_fit_probe import cut_texts, sideways_scrolling

    root = QWidget()
    qtbot.addWidget(root)
    lay = QVBoxLayout(root)
    fine = QLabel("Batch size")
    cut = QLabel("Sampling temperature")
    cut.setFixedWidth(40)
    lay.addWidget(fine)
    lay.addWidget(cut)
    area = QScrollArea()
    wide = QWidget()
    wide.setMinimumWidth(900)
    area.setWidget(wide)
    lay.addWidget(area)
    root.resize(300, 300)
    root.show()
    qtbot.waitExposed(root)
    found = cut_texts(root)
    assert [c["text"] for c in found] == ["Sampling temperature"]
    assert len(sideways_scrolling(root)) == 1
