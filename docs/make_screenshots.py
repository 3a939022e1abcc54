"""Take the user guide's screenshots from the real, current UI (`make screenshots`).

1. The whole window: `studio gui --demo --screenshot docs/screenshots/window.png` (a subprocess, as a user starts it).
2. One capture per panel: the same window built in-process on the demo project, each dock raised in
   turn once its content has loaded, grabbed to docs/screenshots/panel-<key>.png.
Taken on a 1366x768 laptop screen: a private Xvfb server of that size when Xvfb is installed (the window
opens at its first-launch size, as a newcomer sees it), else headless (QT_QPA_PLATFORM=offscreen) at the
size that screen would give. Settings and data go to a temp folder.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


LAPTOP = (1366, 768)


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, STUDIO_CONFIG_DIR=str(tmp / "config"), STUDIO_DATA_DIR=str(tmp / "data"))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def window_shot(out: Path, tmp: Path) -> None:
    subprocess.run([sys.executable, "-m", "studio", "gui", "--demo", "--screenshot", str(out)], cwd=ROOT,
                   env=_env(tmp), check=True, timeout=300)


def panel_shots(out_dir: Path, only: set[str] | None) -> list[Path]:
    from PySide6.QtWidgets import QApplication

    from studio.ui.context import StudioContext
    from studio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    ctx = StudioContext(demo=True)
    win = MainWindow(ctx)  # at its first-launch size: a share of the (laptop) screen
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":  # no real screen: the size a 1366x768 one gives
        win.resize(int(LAPTOP[0] * 0.9), int(LAPTOP[1] * 0.9))
    win.show()
    win.project_actions.open_at_start(None, True)

    def pump(seconds: float, until=None) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            if until is not None and until():
                return True
            time.sleep(0.02)
        return until is None

    win.load_panels()
    win.start_discovery()
    pump(180, lambda: win.panels_done and win.discovery_done)
    # the demo runs open in the explorer panels; the demo datasets import in the background
    latent = win.panels.get("latent")
    pump(120, lambda: latent is None or getattr(latent, "ready", lambda: True)())
    pump(120, lambda: ctx.project is not None and len(ctx.project.datasets) >= 3)
    runs = [str(ctx.project.resolve(r)) for r in ctx.project.runs] if ctx.project else []
    if runs:
        ctx.run_selected.emit(runs[0])  # Training / Loss plot / Runs show the shapes model
    # show the explorer panels in use: a few melody variations and two text samples from the demo models
    for key in ("melody", "text"):
        panel = win.panels.get(key)
        if panel is not None and getattr(panel, "model", None) is not None:
            panel.generate()
    pump(60, lambda: not any(p.loading() for p in win.panels.values() if callable(getattr(p, "loading", None))))
    melody = win.panels.get("melody")
    if melody is not None and getattr(melody, "var_list", None) is not None and melody.var_list.count():
        melody._pick_variation(melody.var_list.item(0))
    pump(3)
    shots = []
    for key, dock in win.docks.items():
        if only and key not in only:
            continue
        dock.show()
        dock.raise_()
        pump(1.5)
        path = out_dir / f"panel-{key}.png"
        dock.grab().save(str(path))
        shots.append(path)
    win.close()
    pump(1)
    return shots


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--only", help="comma-separated panel keys (default: all panels and the window)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    from tests.xvfb_display import xvfb_display

    with tempfile.TemporaryDirectory(prefix="studio-shots-") as tmp, xvfb_display(*LAPTOP, first=200) as display:
        tmp = Path(tmp)
        if display:
            os.environ.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
        only = set(args.only.split(",")) if args.only else None
        if not only or "window" in only:
            window_shot(args.out / "window.png", tmp)
            print(args.out / "window.png")
        os.environ.update(_env(tmp))
        for path in panel_shots(args.out, only - {"window"} if only else None):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
