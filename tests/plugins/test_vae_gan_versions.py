"""VAE-GAN 1.1 changed the decoder (a colour picture per resolution): a 1.0 checkpoint is refused in words."""
import pytest
import torch

from tests.plugins.image_helpers import tiny_images

torch.set_num_threads(1)
SMALL = {"width": "8", "latent_size": "8", "batch_size": "4", "threads": "1"}


def test_a_checkpoint_with_the_old_decoder_is_refused_with_the_plugin_version(tmp_path):
    from studio_plugins.vae_gan import plugin
    from studio.core.training.checkpoints import CheckpointError, load_model, read_checkpoint, save_checkpoint
    from studio.core.training.engine import train as engine_train

    data = tiny_images(n=8, size=32, channels=3)
    run = tmp_path / "run"
    done = engine_train("vae-gan", data, run, steps=1, device="cpu", settings=SMALL)
    assert done.status == "done", done.reason
    assert load_model(run)[1].version == plugin.version == "1.1.0"  # the current layout loads

    # rewrite the checkpoint as 1.0 wrote it: one chain of transposed convolutions under decoder.net
    ckpt = sorted((run / "checkpoints").glob("*.safetensors"))[-1]
    tensors, sidecar = read_checkpoint(ckpt)
    old = {k: v for k, v in tensors.items() if ".decoder." not in k and ".decoder_ema." not in k}
    for part in ("decoder", "decoder_ema"):
        old[f"model.{part}.fc.weight"] = tensors[f"model.{part}.fc.weight"]
        old[f"model.{part}.fc.bias"] = tensors[f"model.{part}.fc.bias"]
        old[f"model.{part}.net.1.weight"] = torch.zeros(16, 8, 4, 4)
        old[f"model.{part}.net.1.bias"] = torch.zeros(8)
    for f in (run / "checkpoints").iterdir():
        f.unlink()
    save_checkpoint(run / "checkpoints", 1, old, {**sidecar, "plugin": {"id": "vae-gan", "version": "1.0.0"}})

    with pytest.raises(CheckpointError, match=r"does not fit plugin vae-gan 1\.1\.0"):
        load_model(run)
