"""A sampler that describes itself as a loop (``onnx_loop``) is exported as one ONNX Loop; a loop
form that does not compute what the module computes is refused and the steps are unrolled."""
from __future__ import annotations

import numpy as np
import onnx
import torch

from studio.core.plugins.api import OnnxExport

torch.set_num_threads(1)


class Step(torch.nn.Module):
    def __init__(self, broken: bool = False):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 2, 3, padding=1)
        self.broken = broken

    def forward(self, x, row):
        out = x * row[0] + row[1] * self.conv(x)
        return out + 1 if self.broken else out


class Sampler(torch.nn.Module):
    def __init__(self, broken: bool = False):
        super().__init__()
        torch.manual_seed(0)
        self.step, self.real = Step(broken), Step()
        self.real.conv = self.step.conv
        self.register_buffer("schedule", torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]]))

    def forward(self, x):
        for i in range(len(self.schedule)):
            x = self.real(x, self.schedule[i])
        return torch.tanh(x)

    def onnx_loop(self):
        return {"step": self.step, "schedule": self.schedule, "finish": torch.nn.Tanh()}


def spec_of(module):
    return OnnxExport("sampler", module.eval(), (torch.randn(2, 2, 5, 5),), ["noise"], ["images"],
                      {"noise": {0: "batch"}, "images": {0: "batch"}})


def test_loop_form_is_one_loop_and_matches_the_module(tmp_path):
    from studio.core.export.onnx_quantize import export_fp32
    from studio.core.export.sessions import create_session

    sampler = Sampler()
    res = export_fp32(spec_of(sampler), tmp_path / "s.onnx")
    model = onnx.load(res.path)
    assert [n.op_type for n in model.graph.node].count("Loop") == 1 and res.max_error <= 1e-4
    body = next(n for n in model.graph.node if n.op_type == "Loop").attribute[0].g
    assert [n.op_type for n in body.node].count("Conv") == 1  # the step once, not three times
    assert {p.key for p in model.metadata_props} >= {"studio.loop", "studio.verified"}
    x = torch.randn(7, 2, 5, 5)
    with torch.no_grad():
        ref = sampler(x).numpy()
    got = create_session(res.path, intra_threads=1).run(None, {"noise": x.numpy()})[0]
    assert np.abs(got - ref).max() < 1e-5


def test_a_loop_form_that_differs_is_refused_and_the_steps_unrolled(tmp_path):
    from studio.core.export.onnx_quantize import export_fp32

    res = export_fp32(spec_of(Sampler(broken=True)), tmp_path / "s.onnx")
    assert res.notes[0].startswith("loop form not used (OnnxExportError") and "steps unrolled" in res.notes[0]
    ops = [n.op_type for n in onnx.load(res.path).graph.node]
    assert "Loop" not in ops and ops.count("Conv") == 3 and res.max_error <= 1e-4
