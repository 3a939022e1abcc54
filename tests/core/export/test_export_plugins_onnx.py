"""Every built-in plugin with the onnx capability exports and matches torch in plain onnxruntime."""
from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)

TEXT_VOCAB = sorted(set("to be or not to be, that is the question\n"))
# Tiny settings: export behaviour does not depend on size; keeps the test fast on 2 shared cores.
TINY = {
    "vae": ({"latent_size": 4, "width": 8}, dict(modality="image", image_size=32, channels=3)),
    "dcgan": ({"latent_size": 8, "width": 8}, dict(modality="image", image_size=32, channels=1)),
    "ddpm": ({"width": 8, "sample_steps": 2}, dict(modality="image", image_size=32, channels=1)),
    "melody-rnn": ({"layers": 1, "hidden": 16, "embed": 8}, dict(modality="melody", phrase_length=32,
                                                                  min_pitch=48, max_pitch=84)),
    "melody-vae": ({"latent_dim": 4, "enc_hidden": 16, "dec_hidden": 16, "dec_layers": 1, "embed": 8},
                   dict(modality="melody", phrase_length=32, min_pitch=48, max_pitch=84)),
    "char-rnn": ({"layers": 1, "width": 16, "embedding": 8}, dict(modality="text", vocab=TEXT_VOCAB)),
    "tiny-gpt": ({"layers": 1, "heads": 2, "width": 16, "context": 16}, dict(modality="text", vocab=TEXT_VOCAB)),
}


@pytest.mark.parametrize("plugin_id", sorted(TINY))
def test_builtin_plugin_exports_with_parity(plugin_id, tmp_path):
    from studio.core.export.onnx_export import export_model, read_metadata
    from studio.core.plugins.api import DataSpec, config_from_dict
    from studio.core.plugins.registry import discover

    entry = discover().get(plugin_id)
    if entry is None or not entry.ok:
        pytest.skip(f"plugin {plugin_id} not available ({getattr(entry, 'error', 'not registered')})")
    plugin = entry.plugin
    assert "onnx" in plugin.capabilities
    cfg, spec = TINY[plugin_id]
    torch.manual_seed(0)
    model = plugin.build(config_from_dict(plugin.Config, cfg, strict=False), DataSpec(**spec)).eval()
    results = export_model(model, tmp_path / f"{plugin_id}.onnx", plugin=plugin)
    for res in results:
        assert res.max_error <= 1e-4
        batches = {c["sizes"].get("batch") for c in res.checks}
        assert batches == {1, 5}, res.checks  # two batch sizes, neither the example's
        assert read_metadata(res.path)["studio.plugin.id"] == plugin_id
