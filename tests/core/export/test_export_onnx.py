"""ONNX export: parity with torch at two batch sizes (and lengths), metadata, exporter pitfalls, int8, sessions."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from studio.core.export.onnx_export import (OnnxExportError, export_model, export_module, read_metadata,
                                            verification_shapes)
from studio.core.export.quantize import compare, feeds_for, quantize_int8
from studio.core.export.sessions import OnnxRunner, create_session, session_options
from studio.core.plugins.api import OnnxExport

torch.set_num_threads(1)


class TinyDecoder(nn.Module):
    def __init__(self, latent=8):
        super().__init__()
        self.fc = nn.Linear(latent, 16 * 4 * 4)
        self.up = nn.Sequential(nn.LeakyReLU(0.2), nn.ConvTranspose2d(16, 8, 4, 2, 1), nn.LeakyReLU(0.2),
                                nn.Conv2d(8, 1, 3, 1, 1))

    def forward(self, z):
        return torch.sigmoid(self.up(self.fc(z).view(-1, 16, 4, 4)))


class FrozenBatchDecoder(TinyDecoder):
    """The classic legacy-exporter pitfall: a shape read as a Python int is traced as a constant."""

    def forward(self, z):
        return torch.sigmoid(self.up(self.fc(z).view(int(z.shape[0]), 16, 4, 4)))


class SequenceStep(nn.Module):
    """A char-RNN style step with initial states as inputs (what keeps the batch dynamic)."""

    def __init__(self, kind="lstm", vocab=12):
        super().__init__()
        self.kind = kind
        self.emb = nn.Embedding(vocab, 8)
        self.rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(8, 16, num_layers=2, batch_first=True)
        self.head = nn.Linear(16, vocab)

    def forward(self, tokens, h, c=None):
        y, state = self.rnn(self.emb(tokens), (h, c) if self.kind == "lstm" else h)
        if self.kind == "lstm":
            return self.head(y), state[0], state[1]
        return self.head(y), state


class DoubleModel(nn.Module):
    """Test double for a plugin model: it only needs ``onnx_exports()`` and a ``config``."""

    def __init__(self, module, spec_kw):
        super().__init__()
        self.module, self.spec_kw = module, spec_kw
        self.config = {"latent": 8}

    def onnx_exports(self):
        return [OnnxExport(module=self.module, **self.spec_kw)]


def decoder_spec(module=None):
    torch.manual_seed(0)
    return OnnxExport(name="decoder", module=(module or TinyDecoder()).eval(), example_inputs=(torch.zeros(2, 8),),
                      input_names=["z"], output_names=["images"],
                      dynamic_axes={"z": {0: "batch"}, "images": {0: "batch"}})


def seq_spec(kind):
    torch.manual_seed(0)
    h = torch.zeros(2, 2, 16)
    inputs, names, outs = (torch.zeros(2, 3, dtype=torch.long), h), ["tokens", "h"], ["logits", "h_out"]
    axes = {"tokens": {0: "batch", 1: "sequence"}, "h": {1: "batch"}, "logits": {0: "batch", 1: "sequence"},
            "h_out": {1: "batch"}}
    if kind == "lstm":
        inputs, names, outs = inputs + (h.clone(),), names + ["c"], outs + ["c_out"]
        axes.update({"c": {1: "batch"}, "c_out": {1: "batch"}})
    return OnnxExport(name="step", module=SequenceStep(kind).eval(), example_inputs=inputs, input_names=names,
                      output_names=outs, dynamic_axes=axes)


def test_decoder_parity_at_two_batch_sizes_and_metadata(tmp_path):
    spec = decoder_spec()
    model = DoubleModel(spec.module, {k: getattr(spec, k) for k in
                                      ("name", "example_inputs", "input_names", "output_names", "dynamic_axes")})
    [res] = export_model(model, tmp_path / "dec.onnx", provenance={"run": {"id": "r1"}, "checkpoint": {"sha256": "c0"}},
                         exporter="legacy")
    assert res.exporter == "legacy" and res.max_error <= 1e-4
    assert sorted(c["sizes"]["batch"] for c in res.checks) == [1, 5]
    meta = read_metadata(res.path)
    assert meta["studio.opset"] == str(res.opset) and int(meta["studio.opset"]) >= 17
    assert json.loads(meta["studio.config"]) == {"latent": 8}
    assert json.loads(meta["studio.provenance"])["checkpoint"]["sha256"] == "c0"
    assert json.loads(meta["studio.inputs"]) == {"z": {"0": "batch"}}
    # plain onnxruntime at a batch size the verifier did not use
    runner = OnnxRunner(res.path)
    z = np.random.default_rng(3).standard_normal((7, 8)).astype(np.float32)
    got = runner(z=z)["images"]
    with torch.no_grad():
        ref = spec.module(torch.from_numpy(z)).numpy()
    assert got.shape == (7, 1, 8, 8) and np.abs(got - ref).max() < 1e-4
    assert runner.metadata["studio.export"] == "decoder"


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_step_with_state_inputs_keeps_batch_and_length_dynamic(tmp_path, kind):
    spec = seq_spec(kind)
    assert len(verification_shapes(spec)) == 4  # 2 batch sizes x 2 lengths
    res = export_module(spec, tmp_path / f"{kind}.onnx", exporter="legacy")
    seen = {(c["sizes"]["batch"], c["sizes"]["sequence"]) for c in res.checks}
    assert seen == {(1, 1), (1, 3), (5, 1), (5, 3)} and res.max_error <= 1e-4


def test_frozen_batch_fails_loudly(tmp_path):
    spec = decoder_spec(FrozenBatchDecoder())
    with pytest.raises(OnnxExportError, match=r"decoder.*(batch|shape|onnxruntime failed)"):
        export_module(spec, tmp_path / "frozen.onnx", exporter="legacy")
    assert not (tmp_path / "frozen.onnx").exists()


def test_parity_failure_beyond_tolerance_is_an_error(tmp_path):
    spec = decoder_spec()
    # an impossible tolerance shows the check is real: float32 conv results differ by ~1e-8
    with pytest.raises(OnnxExportError, match="differs from torch"):
        export_module(spec, tmp_path / "x.onnx", exporter="legacy", tol=-1.0)


def test_dynamo_exporter_parity(tmp_path):
    res = export_module(seq_spec("gru"), tmp_path / "gru-dynamo.onnx", exporter="dynamo")
    assert res.exporter == "dynamo" and res.max_error <= 1e-4 and len(res.checks) == 4
    sess = create_session(res.path)
    logits = next(o for o in sess.get_outputs() if o.name == "logits")
    assert logits.shape[:2] == ["batch", "sequence"]  # not the traced 3


def test_int8_quantisation_is_smaller_and_close(tmp_path):
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(32, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 64),
                        nn.Sigmoid()).eval()
    spec = OnnxExport(name="gen", module=mlp, example_inputs=(torch.zeros(2, 32),), input_names=["z"],
                      output_names=["x"], dynamic_axes={"z": {0: "batch"}, "x": {0: "batch"}})
    res = export_module(spec, tmp_path / "fp32.onnx", metadata={"studio.plugin.id": "mlp"}, exporter="legacy")
    q = quantize_int8(res.path, tmp_path / "int8.onnx")
    report = compare(res.path, q, feeds_for(res.path, batch=16), repeats=3)
    assert report.size_ratio < 0.4  # int8 weights: about a quarter of fp32
    assert report.max_abs_error < 0.05  # stated bound for outputs in [0, 1]
    assert report.max_abs_error > 0  # it really is a different (quantised) model
    meta = read_metadata(q)
    assert meta["studio.quantization"] == "int8-dynamic" and meta["studio.plugin.id"] == "mlp"


def test_sessions_do_not_spin_and_bound_threads():
    opts = session_options()
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    assert 1 <= opts.intra_op_num_threads <= 4 and opts.inter_op_num_threads == 1
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        create_session("nope.onnx")


def test_real_vae_plugin_exports_with_parity(tmp_path):
    vae = pytest.importorskip("studio_plugins.vae")
    from studio.core.plugins.api import DataSpec, config_from_dict

    torch.manual_seed(0)
    model = vae.plugin.build(config_from_dict(vae.plugin.Config, {"latent_size": 8, "width": 8}),
                             DataSpec(modality="image", image_size=32, channels=1)).eval()
    [res] = export_model(model, tmp_path / "vae.onnx", plugin=vae.plugin, exporter="legacy")
    assert res.max_error <= 1e-4 and {c["sizes"]["batch"] for c in res.checks} == {1, 5}
    meta = read_metadata(res.path)
    assert meta["studio.plugin.id"] == "vae" and json.loads(meta["studio.config"])["latent_size"] == 8
    z = torch.randn(3, 8)
    got = OnnxRunner(res.path)(z=z.numpy())["images"]
    assert np.abs(got - model.decode(z).numpy()).max() < 1e-4


def test_auto_falls_back_from_a_frozen_legacy_export(tmp_path):
    spec = decoder_spec(FrozenBatchDecoder())
    try:
        res = export_module(spec, tmp_path / "auto.onnx", exporter="auto")
    except OnnxExportError as exc:  # both exporters refused: the message says why for each
        assert "legacy exporter rejected" in str(exc) and "dynamo exporter" in str(exc)
    else:  # torch.export kept the batch symbolic: verified at both sizes
        assert res.exporter == "dynamo" and any("legacy exporter rejected" in n for n in res.notes)
        assert {c["sizes"]["batch"] for c in res.checks} == {1, 5}
