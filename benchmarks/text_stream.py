"""Streaming text in the Text panel vs the same generation headless (what `studio generate` runs).

    python benchmarks/text_stream.py [--run RUN_DIR] [--length 500] [--repeats 5] [--json]

One process, one model, the same prime, length, seed and sampling settings for both paths:
  core   `model.sample(1, ...)` on the calling thread, as `studio generate` writes a .txt;
  panel  a shown Text panel (offscreen Qt) with one sample: Generate is pressed and the clock
         stops when the panel reports it is done, so it covers the worker thread, the queued
         signals and every insert into the view.
The two alternate, each after one unmeasured warm-up. The figure `text_panel_vs_core` is
median(panel characters/s) / median(core characters/s) (target >= 0.8: streaming may not cost
more than a fifth); `ui_updates` is how many times the view was written per generation.
Torch's thread settings are left at their defaults, as in the studio and the CLI.
The run defaults to the shipped demo text run (studio/resources/demo/runs/index.json).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import ROOT, emit_json, spread  # noqa: E402

PRIME = "The "
CONTROLS = {"temperature": 0.8, "top_k": 0, "top_p": 0.95, "repetition_penalty": 1.0}  # the panel's defaults


def demo_text_run() -> Path:
    demo = ROOT / "studio" / "resources" / "demo" / "runs"
    for entry in json.loads((demo / "index.json").read_text(encoding="utf-8")).get("runs", []):
        if entry.get("modality") == "text" and (demo / entry["name"]).is_dir():
            return demo / entry["name"]
    raise SystemExit(f"no text run in {demo / 'index.json'}; pass --run RUN_DIR")


def panel_runner(model, length: int):
    """A shown Text panel with ``model``; returns ``once(seed) -> (chars/s, text, view updates)``."""
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from studio.ui.context import StudioContext
    from studio.ui.panels.text import TextPanel

    app = QApplication.instance() or QApplication([])
    panel = TextPanel(StudioContext())
    panel.resize(1000, 640)
    panel.show()
    panel.set_model(model, "benchmark")
    panel.prime.setPlainText(PRIME)
    panel.length.setValue(length)
    panel.samples.setValue(1)
    panel.temperature.setValue(CONTROLS["temperature"])
    panel.top_k.setValue(CONTROLS["top_k"])
    panel.top_p.setValue(CONTROLS["top_p"])
    panel.repetition.setValue(CONTROLS["repetition_penalty"])
    view = panel.views[0]
    updates = [0]
    plain_append = view.append

    def counted(text: str) -> None:  # every write into the view, whatever path the panel takes
        updates[0] += 1
        plain_append(text)
    view.append = counted
    loop = QEventLoop()
    guard = QTimer(singleShot=True, interval=600_000)  # a hung generation ends the benchmark, not the machine
    guard.timeout.connect(loop.quit)
    ended = []
    # connected after the panel's own slot, so it runs once the panel has shown everything
    panel.jobs.finished.connect(lambda stopped: (ended.append(time.perf_counter()), loop.quit()))

    def once(seed: int) -> tuple[float, str, int]:
        panel.seed.setValue(seed)
        updates[0] = 0
        ended.clear()
        app.processEvents()
        start = time.perf_counter()
        panel.generate_button.click()
        guard.start()
        loop.exec()
        guard.stop()
        if not ended:
            raise RuntimeError("the panel did not finish within 10 minutes")
        if panel.status.text() != "Done.":
            raise RuntimeError(f"the panel ended with {panel.status.text()!r}")
        return len(view.generated) / (ended[0] - start), view.generated, updates[0]

    return panel, once


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, default=None, help="a text run folder (default: the demo's text run)")
    ap.add_argument("--length", type=int, default=500, help="characters per generation (default 500)")
    ap.add_argument("--repeats", type=int, default=5, help="timed generations per path (default 5)")
    ap.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # the panel's presets live in the settings: keep them out of the user's folder
    os.environ.setdefault("STUDIO_CONFIG_DIR", tempfile.mkdtemp(prefix="studio-bench-text-"))

    import torch

    from studio.core.training.checkpoints import load_model

    run = args.run or demo_text_run()
    model, plugin, _info = load_model(run, device="cpu")
    panel, panel_once = panel_runner(model, args.length)

    def core_once(seed: int) -> tuple[float, str]:
        start = time.perf_counter()
        text = model.sample(1, seed=seed, length=args.length, prime=PRIME, **CONTROLS)[0]
        return (len(text) - len(PRIME)) / (time.perf_counter() - start), text[len(PRIME):]

    core_once(0)  # warm-up: allocator, lazy thread pools, first attention call
    panel_once(0)
    core, streamed, updates, same = [], [], [], []
    for r in range(max(1, args.repeats)):
        seed = r + 1
        if r % 2:  # alternate which path goes first, so a drift in the machine's load hits both
            p, ptext, n = panel_once(seed)
            c, ctext = core_once(seed)
        else:
            c, ctext = core_once(seed)
            p, ptext, n = panel_once(seed)
        core.append(c)
        streamed.append(p)
        updates.append(n)
        same.append(ptext == ctext)
        print(f"  repeat {r + 1}: core {c:.0f} chars/s, panel {p:.0f} chars/s ({n} view updates, "
              f"{'same' if ptext == ctext else 'different'} text)", flush=True)
    panel.shutdown()
    ratio = round(statistics.median(streamed) / statistics.median(core), 3)
    result = {"text_panel_vs_core": ratio, "core_chars_per_s": spread(core, 1), "panel_chars_per_s": spread(streamed, 1),
              "ratios": spread([p / c for p, c in zip(streamed, core)]), "ui_updates": spread(updates, 0),
              "same_text": all(same), "length": args.length, "repeats": len(core), "run": str(run),
              "plugin": plugin.id, "torch_threads": torch.get_num_threads(), "torch": torch.__version__}
    print(f"{plugin.id} ({run.name}), {args.length} characters: panel {result['panel_chars_per_s']['median']} vs "
          f"core {result['core_chars_per_s']['median']} chars/s (medians of {len(core)}) -> ratio {ratio} "
          f"(target >= 0.8); {result['ui_updates']['median']} view updates per generation")
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
