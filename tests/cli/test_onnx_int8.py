"""`studio export-onnx --quantize int8`: static int8 (QDQ, calibrated on the run's data) written to --out.

Drives the CLI as a user does, then checks the written files with onnxruntime itself:
the int8 model is at the --out path (fp32 beside it as NAME.fp32.onnx), is at most 40 % of
the fp32 size, runs at batch 1, 3 and 64, and stays close to fp32. PSNR against fp32 measured:
shapes VAE 40.8 dB, a default DCGAN with fresh weights 61.8 dB; a calibration on latents squeezed
100x gives 15.9 dB. The floor of 30 dB leaves margin and catches that (the last test).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from studio.cli import main
from tests.fixtures import session_runs

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]
DEMO_VAE = ROOT / "studio" / "resources" / "demo" / "runs" / "shapes-vae"
PSNR_FLOOR_DB = 30.0
SIZE_TARGET = 0.40


def cli(*argv) -> int:
    return main([str(a) for a in argv])


def make_run(folder: Path, plugin_id: str, config: dict, spec: dict) -> Path:
    """A run folder with one checkpoint of a freshly initialised model (seed 0)."""
    return session_runs.make_run(folder, plugin_id, config=config, spec=spec, seed=0, dataset=False)


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    """The shipped shapes VAE (trained), linked to a small import of the shapes it was trained on."""
    if not (DEMO_VAE / "run.json").is_file():
        pytest.fail(f"the demo run {DEMO_VAE} is missing")
    from studio.core.datasets import import_demo

    base = tmp_path_factory.mktemp("int8")
    run = base / "shapes-vae"
    shutil.copytree(DEMO_VAE, run)
    data = base / "shapes"
    import_demo("image", data, n=64, size=64, channels=3)
    doc = json.loads((run / "run.json").read_text())
    doc["dataset"] = {"path": str(data)}
    (run / "run.json").write_text(json.dumps(doc))
    return run


def export_json(run: Path, out: Path, capsys, *extra) -> dict:
    assert cli("export-onnx", "--run", run, "--out", out, "--quantize", "int8", "--json", *extra) == 0
    return json.loads(capsys.readouterr().out)


def session(path):
    from studio.core.export.sessions import create_session
    return create_session(path, intra_threads=1)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def check_int8_file(out: Path, fp32: Path, latent: int, seed: int = 3) -> float:
    """The file at --out is a static int8 model that runs at batch 1, 3, 64; returns its PSNR vs fp32."""
    model = onnx.load(str(out))
    ops = {n.op_type for n in model.graph.node}
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["studio.quantization"] == "int8-static-qdq-per-channel"
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops and "ConvTranspose" not in ops
    assert out.stat().st_size <= SIZE_TARGET * fp32.stat().st_size
    s8, s32 = session(out), session(fp32)
    z = np.random.default_rng(seed).standard_normal((64, latent)).astype(np.float32)
    for batch in (1, 3, 64):
        got = s8.run(None, {"z": z[:batch]})[0]
        assert got.shape[0] == batch and np.isfinite(got).all()
    return psnr(s8.run(None, {"z": z})[0], s32.run(None, {"z": z})[0])


def test_vae_int8_goes_to_out_small_any_batch_and_close(vae_run, tmp_path, capsys):
    out = tmp_path / "shapes.onnx"
    doc = export_json(vae_run, out, capsys)
    [exp], [q] = doc["exports"], doc["quantized"]
    fp32 = tmp_path / "shapes.fp32.onnx"
    assert Path(q["int8_path"]) == out and Path(exp["path"]) == fp32 == Path(q["fp32_path"])
    assert exp["max_error"] <= 1e-4  # the fp32 reference is still verified against torch
    assert q["method"] == "static-qdq-per-channel" and q["batches_checked"] == [1, 3, 64]
    assert q["size_ratio"] == pytest.approx(out.stat().st_size / fp32.stat().st_size)
    assert q["size_ratio"] <= SIZE_TARGET
    assert q["psnr_db"] >= PSNR_FLOOR_DB and q["fp32_ms"] > 0 and q["int8_ms"] > 0
    assert "encoded items" in q["calibration"]["source"] and 64 < q["calibration"]["count"] <= 128
    assert q["float_ops"] == []
    assert check_int8_file(out, fp32, latent=32) >= PSNR_FLOOR_DB
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["studio.plugin.id"] == "vae" and "studio.provenance" in meta
    assert "encoded items" in meta["studio.calibration"]
    # no silent overwrite of either file
    assert cli("export-onnx", "--run", vae_run, "--out", out, "--quantize", "int8") == 3


def test_text_report_names_size_speed_parity_and_batches(vae_run, tmp_path, capsys):
    out = tmp_path / "v.onnx"
    assert cli("export-onnx", "--run", vae_run, "--out", out, "--quantize", "int8") == 0
    text = capsys.readouterr().out
    assert f"{out}: int8 (static QDQ, per-channel weights)" in text and "of fp32" in text
    assert "x fp32 speed at batch 64" in text and "PSNR" in text and "runs at batch 1, 3, 64" in text
    assert "calibration: 64 latents from the model's prior + 58 latents of encoded items" in text  # 58 in train


def test_dcgan_int8_small_and_close(tmp_path, capsys):
    run = make_run(tmp_path / "dcgan", "dcgan", {},  # default settings, fresh weights
                   {"modality": "image", "image_size": 32, "channels": 3})
    out = tmp_path / "gan.onnx"
    [q] = export_json(run, out, capsys)["quantized"]
    assert q["size_ratio"] <= SIZE_TARGET and q["psnr_db"] >= PSNR_FLOOR_DB
    assert "prior" in q["calibration"]["source"]
    assert check_int8_file(out, tmp_path / "gan.fp32.onnx", latent=64) >= PSNR_FLOOR_DB


def test_plugin_without_onnx_export_is_refused_clearly(tmp_path, capsys):
    run = make_run(tmp_path / "mt", "melody-transformer", {"layers": 1, "width": 32, "heads": 2},
                   {"modality": "melody", "phrase_length": 32, "min_pitch": 48, "max_pitch": 84})
    out = tmp_path / "m.onnx"
    assert cli("export-onnx", "--run", run, "--out", out, "--quantize", "int8") == 2
    err = capsys.readouterr().err
    assert "melody-transformer does not offer ONNX export" in err
    assert not out.exists() and not (tmp_path / "m.fp32.onnx").exists()


def test_psnr_floor_catches_a_broken_calibration(vae_run, tmp_path):
    """Calibrated on latents squeezed 100x, the activations' int8 ranges are far too narrow: the floor fails it."""
    from studio.core.export.onnx_calibration import Calibration
    from studio.core.export.onnx_export import export_module
    from studio.core.export.onnx_quantize import quantize_static_int8
    from studio.core.training.checkpoints import load_model

    model, _, _ = load_model(vae_run)
    [spec] = model.onnx_exports()
    fp32 = tmp_path / "d.fp32.onnx"
    export_module(spec, fp32, exporter="legacy")
    z = model.latents(128, seed=0).numpy() * 0.01
    bad = Calibration([{"z": z[i:i + 16]} for i in range(0, 128, 16)], "squeezed latents", 128)
    quantize_static_int8(fp32, tmp_path / "bad.onnx", bad)
    assert check_int8_file(tmp_path / "bad.onnx", fp32, latent=32) < PSNR_FLOOR_DB


@pytest.mark.parametrize("k,s,p,op", [(4, 2, 1, 0), (3, 2, 1, 1), (4, 1, 0, 0), (5, 3, 2, 0), (2, 2, 0, 0), (4, 2, 0, 1),
                                      (2, 3, 0, 2), (1, 2, 0, 1)])
def test_conv_transpose_rewrite_is_exact_at_any_size(k, s, p, op):
    """The sub-pixel rewrite that gives ConvTranspose int8 kernels computes the same function."""
    from studio.core.export.onnx_export import export_bytes
    from studio.core.export.onnx_rewrite import conv_transpose_as_conv
    from studio.core.plugins.api import OnnxExport

    torch.manual_seed(0)
    layer = torch.nn.Sequential(torch.nn.ConvTranspose2d(3, 5, k, s, p, output_padding=op), torch.nn.LeakyReLU(0.2))
    spec = OnnxExport("up", layer.eval(), (torch.randn(2, 3, 6, 7),), ["x"], ["y"], {"x": {0: "b", 2: "h", 3: "w"}})
    model = onnx.load_from_string(export_bytes(spec, exporter="legacy"))
    assert conv_transpose_as_conv(model) == 1
    assert "ConvTranspose" not in {n.op_type for n in model.graph.node}
    rewritten = session(model.SerializeToString())
    for shape in [(2, 3, 6, 7), (1, 3, 4, 4), (3, 3, 1, 9)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            ref = layer(x).numpy()
        got = rewritten.run(None, {"x": x.numpy()})[0]
        assert got.shape == ref.shape and np.abs(got - ref).max() < 1e-5


def _all_nodes(graph):
    for n in graph.node:
        yield n
        for a in n.attribute:
            if a.HasField("g"):
                yield from _all_nodes(a.g)


def test_ddpm_int8_stores_the_network_once_small_any_batch_and_close(tmp_path, capsys):
    """The DDIM decoder (4 steps) is exported as an ONNX Loop: the int8 model holds one step's int8
    weights and QDQ bookkeeping, not one per step (unrolled it came to 46 % of fp32 at this size)."""
    steps = 4
    run = make_run(tmp_path / "ddpm", "ddpm", {"width": 16, "sample_steps": steps},
                   {"modality": "image", "image_size": 32, "channels": 3})
    out = tmp_path / "ddim.onnx"
    doc = export_json(run, out, capsys)
    [exp], [q] = doc["exports"], doc["quantized"]
    fp32 = tmp_path / "ddim.fp32.onnx"
    assert Path(q["int8_path"]) == out and Path(exp["path"]) == fp32 and exp["max_error"] <= 1e-4
    assert q["method"] == "static-qdq-per-channel" and q["batches_checked"] == [1, 3, 64]
    assert q["size_ratio"] == pytest.approx(out.stat().st_size / fp32.stat().st_size)
    assert q["size_ratio"] <= SIZE_TARGET
    assert q["psnr_db"] >= PSNR_FLOOR_DB
    assert f"run through all {steps} steps" in q["calibration"]["source"]
    m8, m32 = onnx.load(str(out)), onnx.load(str(fp32))
    assert [n.op_type for n in m8.graph.node].count("Loop") == 1
    ops8 = [n.op_type for n in _all_nodes(m8.graph)]
    convs32 = [n.op_type for n in _all_nodes(m32.graph)].count("Conv")
    assert "ConvTranspose" not in ops8 and "QuantizeLinear" in ops8
    assert ops8.count("Conv") == convs32 + 1  # each Conv once (the ConvTranspose became one more), not per step
    assert {p.key: p.value for p in m8.metadata_props}["studio.quantization"] == "int8-static-qdq-per-channel"
    # the files themselves, against the model's own sampler in torch, same noise
    from studio.core.training.checkpoints import load_model
    model, _, _ = load_model(run)
    noise = torch.randn(64, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ref = model.decode(noise).numpy()
    s8, s32 = session(out), session(fp32)
    assert np.abs(s32.run(None, {"noise": noise.numpy()})[0] - ref).max() < 1e-4
    for batch in (1, 3, 64):
        got = s8.run(None, {"noise": noise[:batch].numpy()})[0]
        assert got.shape == (batch, 3, 32, 32) and np.isfinite(got).all()
    assert psnr(s8.run(None, {"noise": noise.numpy()})[0], ref) >= PSNR_FLOOR_DB
