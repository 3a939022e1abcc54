"""The recipe a saved Text panel sample carries: its model (plugin, run, checkpoint), seed and settings.

Sample ``index`` of a batch was written with seed ``seed + index`` (as ``studio generate`` numbers
them); the recipe keeps the batch's base seed and the index, so restoring the file gives that sample.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.ui.panels.text_worker import TextRequest


def sample_recipe(req: TextRequest, index: int, sample_seed: int, model_name: str, source: dict | None,
                  run_dir: str, plugin: Any) -> dict[str, Any]:
    recipe = {"seed": sample_seed - index, "batch": {"n": req.samples, "index": index},
              "sampling": {**req.controls(), "length": req.length, "prime": req.prime}, "model": model_name}
    src = source or {}
    if run_dir and plugin is not None:
        recipe["run"] = {"path": run_dir, "id": src.get("run_id") or Path(run_dir).name}
    if src.get("checkpoint_path") or src.get("checkpoint_step") is not None:
        recipe["checkpoint"] = {k: src[f"checkpoint_{k}"] for k in ("path", "step", "sha256")
                                if src.get(f"checkpoint_{k}") is not None}
    if plugin is not None:
        recipe["plugin"] = {"id": plugin.id, "version": plugin.version}
    return recipe
