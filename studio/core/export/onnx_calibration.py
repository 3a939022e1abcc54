"""Calibration inputs for static int8 quantisation: what the exported module really sees when it generates.

Static quantisation fixes every activation's int8 range ahead of time from
sample inputs, so the samples must look like generation-time inputs:

* a latent decoder (input ``z`` of the model's ``latent_dim``) gets half latents
  drawn from the model's own prior (``latents(n, seed)``: a VAE's fitted mixture,
  a GAN's normal) and, when the model can ``encode`` and the run's dataset is
  on disk, half latent means of real dataset items;
* a module whose inputs are all float (a DDIM decoder's ``noise``) gets
  standard normal draws, which is what its sampler feeds it;
* a sequence step (token ids plus states / a KV cache) is rolled out with the
  fp32 ONNX model itself: token sequences from the run's dataset are fed step
  by step (teacher forcing) and each state output is fed back to its input,
  so the calibration sees real hidden states, not noise.

Each :class:`Calibration` says in words where its samples came from.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("studio.export")

CALIBRATION_ITEMS = 128   # samples per module (latents) or sequences x steps (rollouts)
NOISE_DRAWS = 32          # noise inputs of a sampler module
ROLLOUT_BATCH = 16
ROLLOUT_STEPS = 24


@dataclass
class Calibration:
    batches: list[dict[str, np.ndarray]]
    source: str                      # where the samples came from, in words
    count: int                       # samples (rows) in all batches
    notes: list[str] = field(default_factory=list)

    def __iter__(self):
        return iter(self.batches)


# -- the run's dataset (a studio.core.datasets TrainingData, loaded by the caller) -----------------
@dataclass
class RunData:
    """The run's dataset for calibration, or None with the reason (the caller loads it: the export
    layer does not import the dataset layer)."""
    data: Any = None
    note: str = "no dataset given"


def _dataset_items(data, n: int, seq_len: int | None = None):
    """Up to ``n`` items of the training split as the model trains on them (deterministic)."""
    import torch

    g = torch.Generator().manual_seed(0)
    if data.spec.modality == "text":
        return data.random_batch("train", n, generator=g, seq_len=seq_len or 65)
    size = min(n, data.size("train"))
    return data.random_batch("train", size, generator=g)


# -- latent decoders ------------------------------------------------------------------------
def _is_latent_input(model, spec) -> bool:
    dim = getattr(model, "latent_dim", None)
    ex = spec.example_inputs[0]
    return (len(spec.input_names) == 1 and dim is not None and ex.dtype.is_floating_point
            and ex.dim() == 2 and int(ex.shape[1]) == int(dim))


def _latent_rows(model, spec, run_data: RunData, n: int, seed: int) -> tuple[np.ndarray, str, list[str]]:
    import torch

    notes: list[str] = []
    half = n // 2 if hasattr(model, "encode") else 0
    with torch.no_grad():
        if hasattr(model, "latents"):
            prior = model.latents(n - half, seed=seed)
            what = f"{n - half} latents from the model's prior"
        else:
            prior = torch.randn(n - half, int(model.latent_dim), generator=torch.Generator().manual_seed(seed))
            what = f"{n - half} standard normal latents"
        rows = [prior.float().cpu()]
        if half:
            data, note = run_data.data, run_data.note
            encoded = None
            if data is not None:
                try:
                    encoded = model.encode(_dataset_items(data, half)).float().cpu()
                except Exception as exc:  # a dataset that does not fit the model: prior only, said so
                    note = f"encoding the dataset failed ({type(exc).__name__}: {exc})"
            if encoded is not None and len(encoded):
                rows.append(encoded)
                what += f" + {len(encoded)} latents of encoded items from the {note}"
            else:
                extra = model.latents(half, seed=seed + 1) if hasattr(model, "latents") else \
                    torch.randn(half, int(model.latent_dim), generator=torch.Generator().manual_seed(seed + 1))
                rows.append(extra.float().cpu())
                what += f" + {half} more prior latents"
                notes.append(f"no encoded dataset items: {note}")
    return torch.cat(rows).numpy().astype(np.float32), what, notes


def _split(name: str, rows: np.ndarray, size: int = 16) -> list[dict[str, np.ndarray]]:
    return [{name: rows[i:i + size]} for i in range(0, len(rows), size)]


# -- sequence steps ---------------------------------------------------------------------------
def state_links(input_names: list[str], output_names: list[str]) -> dict[str, str]:
    """Output -> input it feeds at the next step, by the plugins' naming (h->h0, h_out->h, present->past)."""
    links = {}
    for out in output_names:
        for cand in (f"{out}0", out[:-4] if out.endswith("_out") else None, out.replace("present", "past")):
            if cand and cand != out and cand in input_names:
                links[out] = cand
                break
    return links


def _rollout(model, spec, session, data, seed: int) -> tuple[list[dict[str, np.ndarray]], str, list[str]]:
    """Step the fp32 model through dataset sequences (or its own samples), recording every step's inputs."""
    from studio.core.export.onnx_export import usable_inputs

    batch_axes = {n for axes in spec.dynamic_axes.values() for n in axes.values() if "batch" in n.lower()}
    inputs, _ = usable_inputs(spec, {a: ROLLOUT_BATCH for a in batch_axes}, seed=seed)
    feeds = {n: t.numpy() for n, t in zip(spec.input_names, inputs)}
    outs = [o.name for o in session.get_outputs()]
    links = state_links(list(spec.input_names), outs)
    for name in links.values():  # states start empty, as generation does
        feeds[name] = np.zeros_like(feeds[name])
    for name in spec.input_names:
        if name == "z" and getattr(model, "latent_dim", None) and hasattr(model, "latents"):
            feeds[name] = model.latents(ROLLOUT_BATCH, seed=seed).float().numpy()
    token = next((n for n in spec.input_names if n in ("token", "tokens")), None)
    seqs = None
    if token is not None and data is not None and data.spec.modality in ("text", "melody"):
        try:
            seqs = _dataset_items(data, ROLLOUT_BATCH, seq_len=ROLLOUT_STEPS + 1).long().numpy()
            seqs = seqs if len(seqs) == ROLLOUT_BATCH and seqs.shape[1] >= ROLLOUT_STEPS else None
        except Exception as exc:  # a dataset that does not fit: the model's own samples instead
            log.info("calibration: dataset sequences unusable (%s)", exc)
            seqs = None
    rng = np.random.default_rng(seed)
    batches = []
    position = next((n for n in spec.input_names if n == "position" and feeds[n].shape == (1,)), None)
    for step in range(ROLLOUT_STEPS):
        if token is not None and seqs is not None:
            feeds[token] = seqs[:, step:step + 1].astype(feeds[token].dtype)
        if position is not None:  # absolute position of the token (a KV-cache step)
            feeds[position] = np.array([step], dtype=feeds[position].dtype)
        batches.append({k: np.ascontiguousarray(v) for k, v in feeds.items()})
        got = dict(zip(outs, session.run(None, feeds)))
        for out, inp in links.items():
            feeds[inp] = got[out]
        if token is not None and seqs is None and "logits" in got:  # sample the next token from the model
            logits = got["logits"].reshape(ROLLOUT_BATCH, -1).astype(np.float64)
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            nxt = np.array([rng.choice(len(row), p=row) for row in p])
            feeds[token] = nxt.reshape(feeds[token].shape).astype(feeds[token].dtype)
    what = (f"{ROLLOUT_BATCH} {'dataset sequences' if seqs is not None else 'sampled sequences'} x "
            f"{ROLLOUT_STEPS} steps, states fed back")
    return batches, what, []


# -- public ------------------------------------------------------------------------------------
def calibration_for(model, spec, fp32_path: str | Path, run_data: RunData | None = None, *,
                    n: int = CALIBRATION_ITEMS, seed: int = 0) -> Calibration:
    """Calibration batches for one exported module (see the module docstring for the choice)."""
    import torch

    from studio.core.export.sessions import create_session

    run_data = run_data or RunData()
    if _is_latent_input(model, spec):
        rows, what, notes = _latent_rows(model, spec, run_data, n, seed)
        return Calibration(_split(spec.input_names[0], rows), what, len(rows), notes)
    if all(t.dtype.is_floating_point for t in spec.example_inputs) and len(spec.input_names) == 1:
        # a sampler (DDIM) runs its network many times per draw: fewer draws give as many activations
        n = min(n, NOISE_DRAWS)
        shape = list(spec.example_inputs[0].shape)
        shape[0] = n
        rows = torch.randn(shape, generator=torch.Generator().manual_seed(seed)).numpy()
        return Calibration(_split(spec.input_names[0], rows), f"{n} standard normal draws of "
                           f"'{spec.input_names[0]}' (the sampler's own input)", n)
    session = create_session(fp32_path, intra_threads=1)
    batches, what, notes = _rollout(model, spec, session, run_data.data, seed)
    if run_data.data is None:
        notes.append(f"no dataset sequences: {run_data.note}")
    return Calibration(batches, what, sum(len(next(iter(b.values()))) for b in batches), notes)


def parity_feeds(model, spec, fp32_path: str | Path, batch: int = 64, seed: int = 1,
                 run_data: RunData | None = None) -> dict[str, np.ndarray]:
    """Held-out inputs (a different seed from the calibration) for the int8-vs-fp32 comparison."""
    import torch

    if _is_latent_input(model, spec):
        with torch.no_grad():
            z = model.latents(batch, seed=seed + 1000) if hasattr(model, "latents") else \
                torch.randn(batch, int(model.latent_dim), generator=torch.Generator().manual_seed(seed))
        return {spec.input_names[0]: z.float().numpy()}
    if all(t.dtype.is_floating_point for t in spec.example_inputs) and len(spec.input_names) == 1:
        shape = list(spec.example_inputs[0].shape)
        shape[0] = batch
        return {spec.input_names[0]: torch.randn(shape, generator=torch.Generator().manual_seed(seed + 1000)).numpy()}
    # a sequence step: the last step of a held-out rollout (real states, a filled cache), tiled to ``batch``
    from studio.core.export.sessions import create_session

    data = (run_data or RunData()).data
    steps, _, _ = _rollout(model, spec, create_session(fp32_path, intra_threads=1), data, seed + 1000)
    return feeds_at_batch(steps[-1], spec, batch)


def feeds_at_batch(feeds: dict[str, np.ndarray], spec, batch: int) -> dict[str, np.ndarray]:
    """``feeds`` cut (or tiled) to ``batch`` along each input's batch axis."""
    out = {}
    for name, arr in feeds.items():
        axis = next((int(a) for a, n in spec.dynamic_axes.get(name, {}).items() if "batch" in n.lower()), None)
        if axis is None:
            out[name] = arr
            continue
        reps = -(-batch // arr.shape[axis])
        tiled = np.concatenate([arr] * reps, axis=axis) if reps > 1 else arr
        out[name] = np.ascontiguousarray(np.take(tiled, np.arange(batch), axis=axis))
    return out


def describe_inputs(feeds: dict[str, Any]) -> str:
    return ", ".join(f"{k} {tuple(v.shape)}" for k, v in feeds.items())
