"""Proof of equality for image plugins (issue 18): the plugin template (a third-party MLP VAE that
implements only the documented API, installed into a temporary folder) opens in the Latent grid like a
built-in: its cells decode, the large preview shows the selected cell, a cell exports as a PNG whose recipe
names the template's plugin and restores the same picture, and `studio interpolate` walks it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.core.export import read_provenance
from tests.e2e.example_install import importable, pip_install_example
from tests.fixtures.tiny_runs import train_tiny
from tests.fixtures.toy_plugins import data as toy_data
from tests.ui.latent_pointer import centre_of, click

pytestmark = pytest.mark.timeout(300)
ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "examples" / "plugin-template"
PLUGIN_ID = "template-mlp-vae"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    target = pip_install_example(TEMPLATE, tmp_path_factory, "studio_plugin_template")
    with importable(target, "studio_plugin_template"):
        base = tmp_path_factory.mktemp("template-run")
        images = toy_data.write_dataset(base / "blobs", toy_data.image_spec(16), toy_data.image_tensors(24, 16),
                                        "blobs16")
        out = base / "template-vae"
        result = train_tiny(PLUGIN_ID, images, out, steps=6, hidden=32)
        assert str(getattr(result.status, "value", result.status)) == "done", result
        yield out


def test_the_template_opens_decodes_exports_and_restores_in_the_latent_grid(qtbot, run, tmp_path):
    from studio.core.session import open_run
    from studio.ui.context import StudioContext
    from studio.ui.panels.latent_grid import LatentGridPanel
    from studio.ui.restore_request import RestoreRequest

    panel = LatentGridPanel(StudioContext())
    qtbot.addWidget(panel)
    panel.resize(900, 620)
    panel.show()
    qtbot.waitExposed(panel)
    try:
        panel.open_run(str(run))
        qtbot.waitUntil(lambda: panel.loaded is not None and panel.view.complete(), timeout=60_000)
        assert panel.loaded.plugin_id == PLUGIN_ID
        click(panel.view, centre_of(panel.view, (1, 0)))
        vector = panel.selected_vector()
        out = Path(panel.exporter.export_cell(str(tmp_path / "cell.png")))
        recipe = read_provenance(out)
        assert recipe["plugin"]["id"] == PLUGIN_ID and len(recipe["vector"]) == vector.shape[0]
        # the exported picture is the template's own decoding of the recorded vector
        session = open_run(run)
        want = session.latent.decode(np.asarray([recipe["vector"]], np.float32))[0, 0]
        from PIL import Image
        from studio.core.export.scale import ExportSize, scale_image
        got = np.asarray(Image.open(out).convert("L"), np.int16)
        size = ExportSize(recipe["output"]["scale"], recipe["output"]["resample"])  # the default 4x smooth
        made = scale_image((want * 255 + 0.5).astype(np.uint8), size).astype(np.int16)
        assert got.shape == made.shape and np.abs(got - made).max() <= 1
        # restoring the file selects its vector again
        panel.ctx.restore_requested.emit(RestoreRequest(target="latent", file=out, seed=recipe.get("seed"),
                                                        run_dir=run, vector=tuple(recipe["vector"])))
        qtbot.waitUntil(lambda: panel.restored is not None, timeout=30_000)
        np.testing.assert_allclose(panel.selected_vector(), np.asarray(recipe["vector"], np.float32), atol=1e-6)
    finally:
        panel.shutdown()


def test_studio_interpolate_walks_the_template(run, tmp_path):
    from studio.cli import main

    out = tmp_path / "walk.gif"
    assert main(["interpolate", "--run", str(run), "--out", str(out), "--steps", "5"]) == 0
    import imageio.v3 as iio
    assert iio.imread(out, index=None).shape[0] == 5
    assert read_provenance(out)["plugin"]["id"] == PLUGIN_ID
