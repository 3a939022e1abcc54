"""From import to the first preview, as a newcomer does it in the window (issue 19).

    python benchmarks/first_preview.py [--pictures 100] [--plugin vae] [--previews 3] [--json]

Draws ``--pictures`` 64-px colour pictures into a folder ("My pictures"), then drives the real panels
offscreen: Datasets › import the folder › *Train a model on this* › Models › the image plugin ›
*Start training*, and times the import and each preview the Training panel shows after Start (the
trainer is a child process, as in the app). Prints one line per event; ``--json`` ends with one JSON
object. Nothing here is a target: the figure depends on the machine's load (the trainer starts Python
and torch), so note the load average beside it.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def draw_pictures(folder: Path, n: int, seed: int = 1) -> None:
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True)
    rng = random.Random(seed)
    for i in range(n):
        im = Image.new("RGB", (64, 64), tuple(rng.randrange(256) for _ in range(3)))
        d = ImageDraw.Draw(im)
        for _ in range(3):
            x, y = rng.randrange(48), rng.randrange(48)
            d.ellipse([x, y, x + rng.randrange(8, 30), y + rng.randrange(8, 30)],
                      fill=tuple(rng.randrange(256) for _ in range(3)))
        im.save(folder / f"pic-{i:03d}.png")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pictures", type=int, default=100)
    ap.add_argument("--plugin", default="vae", help="the image model picked in the Models panel (default vae)")
    ap.add_argument("--previews", type=int, default=3, help="stop after this many previews (default 3)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="studio-first-preview-"))
    os.environ.update(STUDIO_CONFIG_DIR=str(tmp / "config"), STUDIO_DATA_DIR=str(tmp / "data"))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    pics = tmp / "My pictures"
    draw_pictures(pics, args.pictures)

    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from studio.core.project import Project
    from studio.ui.context import StudioContext
    from studio.ui.main_window import MainWindow

    win = MainWindow(StudioContext(project=Project.create(tmp / "proj", "Mine")))
    win.show()

    def pump(seconds: float, until=None) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            if until is not None and until():
                return True
            time.sleep(0.01)
        return False

    win.load_panels()
    win.start_discovery()
    pump(300, lambda: win.panels_done and win.discovery_done)
    ds, models, training = win.panels["datasets"], win.panels["models"], win.panels["training"]
    t0 = time.monotonic()
    ds.import_paths([str(pics)])
    pump(300, lambda: ds.job is not None and not ds.job.is_running() and ds.selected_folder())
    result = {"pictures": args.pictures, "plugin": args.plugin, "import_s": round(time.monotonic() - t0, 2),
              "load_average": round(os.getloadavg()[0], 1), "previews": []}
    print(f"import {result['import_s']} s: {ds.status.text()}", flush=True)
    ds.train_selected()
    models.plugins.select(args.plugin)
    result["dataset"] = models.datasets.current_folder().name
    t0 = time.monotonic()
    models.start_btn.click()

    def new_preview() -> bool:
        step = training.preview.step
        if step is not None and (not result["previews"] or result["previews"][-1]["step"] != step):
            at = round(time.monotonic() - t0, 1)
            result["previews"].append({"step": step, "seconds_after_start": at})
            print(f"preview at step {step}, {at} s after Start; {training.stats.text()}", flush=True)
        return len(result["previews"]) >= args.previews

    pump(300, new_preview)
    result["trained_on"] = training.dataset.text()
    training.stop()
    pump(30, lambda: training.state is not None and training.state.finished)
    win.close()
    pump(1)
    first = result["previews"][0]["seconds_after_start"] if result["previews"] else None
    print(f"first preview {first} s after Start ({result['trained_on']}; load average {result['load_average']})")
    if args.json:
        print(json.dumps({"first_preview_s": first, **result}))
    return 0 if first is not None else 1


if __name__ == "__main__":
    raise SystemExit(main())
