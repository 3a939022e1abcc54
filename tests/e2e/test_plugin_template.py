"""The plugin template installs like any third-party package, is listed by `studio plugins`, and trains.

``pip install --no-deps --no-build-isolation --target`` builds the template's wheel
offline with the setuptools already in the studio's environment and installs it
into a temporary folder; that folder on ``PYTHONPATH`` is a separate environment
as far as entry-point discovery is concerned (the studio's own venv never sees it).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.example_install import pip_install_example

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "examples" / "plugin-template"
PLUGIN_ID = "template-mlp-vae"


def _run(args, env, timeout=120):
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout)


def _squares_dataset(folder: Path) -> Path:
    """A dozen 16 px PNGs imported through the studio's own image importer."""
    from PIL import Image, ImageDraw

    from studio.core.datasets import import_dataset

    pics = folder / "pictures"
    pics.mkdir(parents=True)
    for i in range(12):
        im = Image.new("RGB", (16, 16), (255, 255, 255))
        x = i % 8
        ImageDraw.Draw(im).rectangle([x, x // 2, x + 6, x // 2 + 6], fill=(20 * i, 0, 200))
        im.save(pics / f"{i:02d}.png")
    out = folder / "dataset"
    result = import_dataset("image", [pics], out, size=32, channels=1, val_fraction=0.2, workers=1,
                            executor="inline")
    assert (out / "manifest.json").exists(), result
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = pip_install_example(TEMPLATE, tmp_path_factory, "studio_plugin_template")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(target), str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return target, env


def test_not_visible_without_the_install():
    from studio.core.plugins.registry import discover

    assert PLUGIN_ID not in discover(refresh=True)


def test_listed_by_studio_plugins(installed):
    _, env = installed
    proc = _run(["-m", "studio", "plugins", "--json"], env)
    assert proc.returncode == 0, proc.stderr
    rows = {r["id"]: r for r in json.loads(proc.stdout)["plugins"]}
    assert PLUGIN_ID in rows, sorted(rows)
    row = rows[PLUGIN_ID]
    assert row["status"] == "ok", row
    assert row["modality"] == "image" and "latent" in row["capabilities"]


def test_trained_by_studio_train(installed, tmp_path):
    _, env = installed
    data = _squares_dataset(tmp_path)
    run = tmp_path / "run"
    proc = _run(["-m", "studio", "train", "--plugin", PLUGIN_ID, "--data", str(data), "--out", str(run),
                 "--steps", "5", "--device", "cpu", "--json", "--set", "threads=1", "--set", "batch_size=8",
                 "--set", "hidden=32"], env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    end = events[-1]
    assert end["event"] == "end" and end["status"] == "done" and end["step"] == 5, end
    steps = [e for e in events if e["event"] == "step"]
    assert steps and all(e["metrics"]["loss"] > 0 for e in steps)
    run_json = json.loads((run / "run.json").read_text())
    assert run_json["plugin"]["id"] == PLUGIN_ID and run_json["config"]["hidden"] == 32
    assert list((run / "checkpoints").glob("step-*.safetensors"))
