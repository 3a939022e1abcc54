"""Accelerator choice with the real torch (CPU here; GPU checks skip with a reason)."""
import pytest
import torch

from studio.core import devices
from studio.core.devices import Accelerator, DeviceUnavailable


def test_cpu_is_always_detected_last():
    found = devices.detect()
    assert found[-1].id == "cpu" and found[-1].kind == "cpu"
    assert "cores" in found[-1].name


def test_auto_picks_the_best_available():
    fake = [Accelerator("cuda:0", "cuda", "Big GPU", 8 << 30, "8.9", True), Accelerator("cpu", "cpu", "CPU")]
    assert devices.choose("auto", fake).id == "cuda:0"
    assert devices.choose("cpu", fake).id == "cpu"
    assert devices.choose("cuda", fake).id == "cuda:0"
    assert devices.choose("CUDA:0", fake).id == "cuda:0"


def test_rocm_build_answers_to_cuda():
    fake = [Accelerator("cuda:0", "rocm", "Radeon", 16 << 30, "gfx1100"), Accelerator("cpu", "cpu", "CPU")]
    assert devices.choose("cuda", fake).kind == "rocm"


def test_unavailable_choice_lists_what_is_available():
    with pytest.raises(DeviceUnavailable, match="available: cpu"):
        devices.choose("cuda:3", [Accelerator("cpu", "cpu", "CPU")])


def test_choice_on_this_machine_runs_a_tensor():
    acc = devices.choose("auto")
    x = torch.ones(2, device=acc.id if acc.kind != "cpu" else "cpu")
    assert float(x.sum()) == 2.0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_cuda_is_detected_with_memory():
    acc = devices.choose("cuda")
    assert acc.memory_bytes > 0 and acc.capability


def test_training_threads_leave_a_core_for_the_ui(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert devices.training_threads(reserve_for_ui=True) == 1
    assert devices.training_threads(reserve_for_ui=False) == 2
