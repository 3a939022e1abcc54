"""On a CUDA GPU (skipped elsewhere): mixed precision (bf16 autocast, fp16 with loss scaling), resume, load_model."""
from __future__ import annotations

import pytest
import torch

from studio.core.training.checkpoints import load_model
from studio.core.training.engine import train
from studio.core.training.metrics import read_metrics
from studio.core.training.run_folder import read_run
from tests.fixtures.toy_plugins import data as toy_data

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
FAST = {"threads": 1, "val_every": 10, "sample_every": 20, "checkpoint_every": 10, "checkpoint_minutes": 0}


@pytest.mark.parametrize("precision", ["auto", "bf16", "fp16", "fp32"])
def test_cuda_training_in_each_precision_learns_and_resumes(tmp_path, toys, precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    run = tmp_path / "run"
    res = train("toy-image", toy_data.image_data(), run, steps=40, device="cuda",
                settings={**FAST, "precision": precision})
    assert res.status == "done", res.reason
    info = read_run(run)
    # auto: a toy model is far below the size where autocast pays, so fp32
    assert info["device"].startswith("cuda") and info["precision"] == ("fp32" if precision == "auto" else precision)
    steps, values = read_metrics(run)["loss"]
    assert sum(values[-5:]) < sum(values[:5])
    res = train("toy-image", toy_data.image_data(), run, steps=50, device="cuda", resume=True,
                settings={**FAST, "precision": precision})
    assert res.status == "done" and res.step == 50
    model, _, cinfo = load_model(run, device="cuda")
    assert cinfo.step == 50 and model.device.type == "cuda"
    assert model.sample(2, seed=0).device.type == "cuda"


def test_cuda_nan_guard_with_deferred_checks(tmp_path, toys):
    res = train("toy-image", toy_data.image_data(), tmp_path / "run", steps=30, device="cuda",
                settings={**FAST, "precision": "fp32", "nan_at_step": 15})
    assert res.status == "failed" and "step 15" in res.reason and "loss became nan" in res.reason
    assert load_model(tmp_path / "run")[2].step == 10
