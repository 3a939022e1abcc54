"""Training state <-> (flat tensors, JSON) for safetensors checkpoints: no pickle anywhere.

Tensor names (stable):
  ``model.<state_dict key>``                     model parameters and buffers
  ``optim.<group>.state.<i>.<name>``             optimizer per-parameter tensors (Adam moments, step...)
  ``rng.torch``, ``rng.cuda.<i>``, ``rng.data``  RNG states as uint8
  ``rng.python``, ``rng.numpy``                  Mersenne-Twister keys as int64
Everything that is not a tensor (param groups, non-tensor state, scaler, RNG
positions) goes into the JSON sidecar under ``optimizers``/``scaler``/``rng``.
"""
from __future__ import annotations

import random
from typing import Any

import torch

MODEL = "model."


def _cpu(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu").contiguous()


def model_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``model.``-prefixed state dict on CPU; tied weights cloned (safetensors refuses shared memory)."""
    out: dict[str, torch.Tensor] = {}
    seen: set[tuple[int, int]] = set()
    for key, t in model.state_dict().items():
        t = _cpu(t)
        ident = (t.untyped_storage().data_ptr(), t.storage_offset()) if t.numel() else (id(t), 0)
        if ident in seen or t.untyped_storage().nbytes() != t.numel() * t.element_size():
            t = t.clone()
        seen.add(ident)
        out[MODEL + key] = t
    return out


def strip_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    n = len(prefix)
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix)}


# -- optimizers -----------------------------------------------------------------
def flatten_optimizers(states: dict[str, dict]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``{group: optimizer.state_dict()}`` -> (tensors, JSON layout)."""
    tensors: dict[str, torch.Tensor] = {}
    layout: dict[str, Any] = {}
    for group, sd in states.items():
        plain_state: dict[str, dict[str, Any]] = {}
        for idx, per_param in sd.get("state", {}).items():
            plain: dict[str, Any] = {}
            for name, value in per_param.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"optim.{group}.state.{idx}.{name}"] = _cpu(value).clone()
                else:
                    plain[name] = value
            plain_state[str(idx)] = plain
        layout[group] = {"param_groups": sd.get("param_groups", []), "state": plain_state}
    return tensors, layout


def unflatten_optimizers(tensors: dict[str, torch.Tensor], layout: dict[str, Any]) -> dict[str, dict]:
    states: dict[str, dict] = {}
    for group, info in layout.items():
        state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in info.get("state", {}).items()}
        prefix = f"optim.{group}.state."
        for key, t in tensors.items():
            if key.startswith(prefix):
                idx, _, name = key[len(prefix):].partition(".")
                state.setdefault(int(idx), {})[name] = t
        groups = [{k: (tuple(v) if isinstance(v, list) and k != "params" else v) for k, v in g.items()}
                  for g in info.get("param_groups", [])]
        states[group] = {"state": state, "param_groups": groups}
    return states


# -- random number generators ------------------------------------------------------
def capture_rng(data_gen: torch.Generator | None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    import numpy as np

    tensors = {"rng.torch": torch.get_rng_state().clone()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, st in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = st.clone()
    if data_gen is not None:
        tensors["rng.data"] = data_gen.get_state().clone()
    version, keys, gauss = random.getstate()
    tensors["rng.python"] = torch.tensor(keys, dtype=torch.int64)
    kind, np_keys, pos, has_gauss, cached = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np_keys.astype(np.int64))
    meta = {"python": {"version": version, "gauss": gauss},
            "numpy": {"kind": kind, "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)}}
    return tensors, meta


def restore_rng(tensors: dict[str, torch.Tensor], meta: dict[str, Any], data_gen: torch.Generator | None) -> None:
    import numpy as np

    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"].to(torch.uint8))
    cuda = sorted((k for k in tensors if k.startswith("rng.cuda.")), key=lambda k: int(k.rsplit(".", 1)[1]))
    if cuda and torch.cuda.is_available():
        states = [tensors[k].to(torch.uint8) for k in cuda][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(states)
    if data_gen is not None and "rng.data" in tensors:
        data_gen.set_state(tensors["rng.data"].to(torch.uint8))
    py = meta.get("python")
    if py and "rng.python" in tensors:
        random.setstate((py["version"], tuple(int(x) for x in tensors["rng.python"].tolist()), py.get("gauss")))
    npm = meta.get("numpy")
    if npm and "rng.numpy" in tensors:
        keys = tensors["rng.numpy"].numpy().astype(np.uint32)
        np.random.set_state((npm["kind"], keys, npm["pos"], npm["has_gauss"], npm["cached"]))
