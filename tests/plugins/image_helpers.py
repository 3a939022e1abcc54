"""Shared pieces of the image plugin tests: a tiny dataset, a short training loop, ONNX checks."""
from __future__ import annotations

import importlib
import io

import numpy as np
import torch

from studio.core.datasets.training_data import TrainingData
from studio.core.plugins.api import DataSpec, config_from_dict
from studio.core.training.optim import EngineOptimizers, OptimSettings


def tiny_images(n: int = 24, size: int = 32, channels: int = 1, seed: int = 0) -> TrainingData:
    """Bright squares of random size and place on a dark background (coloured when RGB)."""
    g = torch.Generator().manual_seed(seed)
    imgs = torch.zeros(n, channels, size, size)
    for i in range(n):
        w = int(torch.randint(size // 4, size // 2, (1,), generator=g))
        x, y = torch.randint(0, size - w, (2,), generator=g).tolist()
        colour = torch.rand(channels, 1, 1, generator=g) * 0.5 + 0.5
        imgs[i, :, y:y + w, x:x + w] = colour
    spec = DataSpec(modality="image", image_size=size, channels=channels)
    val = torch.zeros(n, dtype=torch.bool)
    val[-4:] = True
    return TrainingData.from_tensors(spec, images=(imgs * 255).round().to(torch.uint8),
                                     labels=torch.zeros(n, dtype=torch.long), val_mask=val)


def build(plugin_id: str, data: TrainingData, **overrides):
    plugin = importlib.import_module(f"studio_plugins.{plugin_id}").plugin
    torch.manual_seed(0)
    return plugin.build(config_from_dict(plugin.Config, overrides), data.spec)


def train(model, data: TrainingData, steps: int, batch: int = 16, lr: float = 2e-3) -> list[dict]:
    """The engine's way of training, minus the engine: EngineOptimizers + random batches + after_step."""
    opt = EngineOptimizers(model, OptimSettings(lr=lr))
    g = torch.Generator().manual_seed(1)
    history = []
    for step in range(1, steps + 1):
        history.append(model.training_step(data.random_batch("train", batch, generator=g), opt))
        model.after_step(step)
    model.eval()
    return history


def state_round_trip(plugin_id: str, model, data: TrainingData, **overrides):
    """A fresh model loaded from the model's state dict through safetensors (the checkpoint format)."""
    from safetensors.torch import load, save
    blob = save({k: v.contiguous() for k, v in model.state_dict().items()})
    clone = build(plugin_id, data, **overrides)
    clone.load_state_dict(load(blob), strict=True)
    return clone.eval()


def assert_onnx_matches(model, batches=(3, 7), atol: float = 1e-4) -> None:
    """Export each module of ``onnx_exports()`` and compare onnxruntime with torch on several batch sizes.

    The legacy TorchScript exporter (``dynamo=False``) is used: in torch 2.13 it honours
    ``dynamic_axes`` directly and takes well under a second; the dynamo exporter also
    works on these modules but takes 4-15 s each.
    """
    import warnings

    import onnxruntime as ort

    exports = model.onnx_exports()
    assert exports, "the plugin declares the onnx capability but offers nothing to export"
    for ex in exports:
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(ex.module, ex.example_inputs, buf, dynamo=False, input_names=ex.input_names,
                              output_names=ex.output_names, dynamic_axes=ex.dynamic_axes)
        sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
        for n in batches:
            x = torch.randn(n, *ex.example_inputs[0].shape[1:], generator=torch.Generator().manual_seed(n))
            with torch.no_grad():
                ref = ex.module(x).numpy()
            out = sess.run(None, {ex.input_names[0]: x.numpy()})[0]
            assert out.shape == ref.shape, f"{ex.name}: ONNX gave {out.shape}, torch {ref.shape}"
            err = float(np.abs(out - ref).max())
            assert err < atol, f"{ex.name}: ONNX differs from torch by {err} on a batch of {n}"
