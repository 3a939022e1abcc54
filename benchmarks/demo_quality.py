"""Demo-model quality report (issue 17): the shipped demo runs judged by modality, each figure next to a
baseline computed in the same run, optionally next to an older set of the same demos ("before").

    python benchmarks/demo_quality.py                                  # every run in studio/resources/demo/runs/index.json
    python benchmarks/demo_quality.py --runs /tmp/demo-out --old /tmp/old-demo-runs --json report.json
    python benchmarks/demo_quality.py --quick                          # seconds: a smoke test, noisy figures

Figures (CPU, one thread by default; a few minutes in all once the melody data is cached):

* image: a *shape judge*, a logistic regression fitted on real demo shapes drawn afresh
  (``studio.core.datasets.demo.generate_shapes`` with seed 1001, not the training seed 0) at the model's
  resolution, names the kind (circle / square / triangle / star) of 300 model samples: mean top-class
  confidence and kinds covered (a kind counts when >= 10 % of the samples are judged to be it). The judge
  reads colour-, position-, size- and rotation-free descriptors of the shape segmented from its background
  (the angular harmonics of its radius around its centroid, how much of its disc it fills): a logistic
  regression on 16x16 colour pixels names only 45 % of held-out real shapes (4 kinds in random colours,
  places and turns), which is no judge; the descriptor judge names 100 %. It has a fifth class, *none of
  the kinds*, learnt from drawn non-shapes (demo kinds stretched 1.6-2.6x, lumpy random blobs), so that a
  lumpy sample lowers the confidence instead of being forced onto the nearest kind with a confident guess.
  On 16x16 colour pixels: a classifier two-sample test (samples vs real shapes, 5-fold cross-validated
  logistic regression; 0.5 = indistinguishable), colourfulness (mean HSV saturation over all pixels and
  over the shape's own pixels) and variety (mean pairwise RMS distance). Rows: real held-out shapes (seed
  1002, tested against seed 1003) and a linear-Gaussian baseline (PCA with 32 components fitted on the
  judge's shapes, sampled from the Gaussian of its coefficients), both at the model's resolution.
* melody: 60 generated 4-bar melodies (64 sixteenths) judged with ``benchmarks/melody_quality.py``'s own
  functions (imported): pitch-class / interval / duration histogram overlap with held-out Essen phrases,
  the classifier two-sample test, the copy rate of 8-note windows; plus *usable tunes* (>= 8 notes and no
  note longer than 2 bars; melody_quality.py has no such notion). Held out = the validation split of the
  whole-collection 4-bar import (``import_demo("melody", n=0, phrase_bars=4)``: 10 % of the Essen files by the
  studio's own per-file hash), which the new demos never saw; the report names the held-out files and says
  whether any is among the old 240-tune demo's files (the first 6: on our machine none is). Copies are counted
  against its training split (the new demos' training set, a superset of the old demo's tunes). Baseline:
  melody_quality's order-2 Markov chain trained on that training split. A model that writes shorter phrases
  (the old 2-bar melody VAE) is judged on two of its phrases played one after the other.
* text: validation nats/char (the plugin's ``evaluate``, as ``studio eval``) on the last 10 % of
  tiny-shakespeare (``import_demo("text")``), or for a model whose vocabulary is that of Python's help
  topics (the old ``python-help-gpt``) on the last 10 % of those (the old demo's own validation split),
  next to unigram and bigram character models fitted on the same training split; 300 generated characters
  from the model (seed 0, its default sampling) and from the bigram are printed to be read.

Prints one markdown table per run, then the JSON on the last line (``--json FILE`` also writes it indented).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import melody_quality as mq  # noqa: E402  (its functions judge the melodies)
from common import emit_json, machine_info  # noqa: E402

SHAPE_KINDS = ("circle", "square", "triangle", "star")  # = studio.core.datasets.demo.SHAPES
JUDGE_SEED, REF_SEED, POOL_SEED = 1001, 1002, 1003        # the demo data is drawn with seed 0
MELODY_LENGTH = mq.LENGTH                                  # 64 sixteenths = 4 bars
USABLE_MIN_NOTES, USABLE_MAX_HELD = 8, 32                  # >= 8 notes, none held longer than 2 bars
COVERED_SHARE = 0.10


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- runs ---------------------------------------------------------------------------------------
def list_runs(folder: Path) -> list[dict]:
    """The runs of ``folder``: from its ``index.json`` when there is one, else every sub-folder with a run.json."""
    from studio.core.training.run_folder import is_run_folder, read_run

    index = folder / "index.json"
    rows = []
    if index.is_file():
        for r in json.loads(index.read_text()).get("runs", []):
            if is_run_folder(folder / r["name"]):
                rows.append({"name": r["name"], "dir": folder / r["name"], "label": r.get("label", ""),
                             "import_options": r.get("import_options", {})})
            else:
                log(f"  {folder / r['name']}: listed in index.json but not a run folder; left out")
    else:
        rows = [{"name": p.name, "dir": p, "label": "", "import_options": {}}
                for p in sorted(folder.iterdir()) if p.is_dir() and is_run_folder(p)]
    for r in rows:
        run = read_run(r["dir"])
        r["plugin"] = run.get("plugin", {}).get("id", "")
        r["spec"] = run.get("data_spec", {})
        r["modality"] = r["spec"].get("modality", "")
        r["step"] = run.get("step")
    return rows


# -- helpers ------------------------------------------------------------------------------------
def two_sample(x_a: np.ndarray, x_b: np.ndarray, seed: int, repeats: int = 1) -> float:
    """Mean 5-fold cross-validated accuracy of a logistic regression telling ``x_a`` from ``x_b``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.vstack([x_a, x_b])
    y = np.r_[np.ones(len(x_a)), np.zeros(len(x_b))]
    accs = []
    for r in range(repeats):
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=2000))
        accs.append(cross_val_score(clf, x, y, cv=StratifiedKFold(5, shuffle=True, random_state=seed + r)).mean())
    return float(np.mean(accs))


def rounded(d: dict, digits: int = 4) -> dict:
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in d.items()}


# -- images -------------------------------------------------------------------------------------
def draw_shapes(n: int, size: int, seed: int, tmp: Path):
    """``n`` demo shapes at ``size`` px: float (n,3,size,size) in [0,1] and the kind index of each."""
    import torch
    from PIL import Image

    from studio.core.datasets.demo import SHAPES, generate_shapes

    assert tuple(SHAPES) == SHAPE_KINDS, f"the demo draws {SHAPES}; this report knows {SHAPE_KINDS}"
    folder = tmp / f"shapes-{size}-{seed}-{n}"
    generate_shapes(folder, n, size, seed)
    xs = [np.asarray(Image.open(folder / SHAPES[i % len(SHAPES)] / f"{i:05d}.png").convert("RGB")) for i in range(n)]
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float().div_(255.0)
    return x, np.array([SHAPES.index(SHAPES[i % len(SHAPES)]) for i in range(n)])


def draw_others(n: int, size: int, seed: int):
    """``n`` shapes that are none of the demo kinds, drawn as the demo draws its own (same colours, sizes,
    places, 4x supersampling): half are demo kinds stretched 1.6-2.6x along a random direction (ellipses,
    rectangles, flat triangles and stars), half random smooth blobs (a radius with random harmonics 1-6).
    They teach the judge to say "none of these" instead of forcing a lumpy sample onto the nearest kind."""
    import random

    import torch
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    out = []
    for i in range(n):
        bg = tuple(rng.randint(200, 255) for _ in range(3))
        fg = tuple(rng.randint(0, 180) for _ in range(3))
        r = rng.uniform(0.18, 0.38) * size
        angle = rng.uniform(0, 2 * math.pi)
        if i % 2 == 0:  # a stretched demo kind
            kind = SHAPE_KINDS[(i // 2) % 4]
            if kind == "circle":
                pts = [(math.cos(a), math.sin(a)) for a in (k * 2 * math.pi / 64 for k in range(64))]
            else:
                from studio.core.datasets.demo import _shape_polygon
                pts = [(x, y) for x, y in _shape_polygon(kind, 0.0, 0.0, 1.0, rng.uniform(0, 2 * math.pi))]
            stretch = rng.uniform(1.6, 2.6)
            pts = [(x * math.sqrt(stretch), y / math.sqrt(stretch)) for x, y in pts]
        else:  # a smooth random blob
            amps = []
            while sum(a for a, _ in amps) < 0.3:  # visibly lumpy: never a near-circle
                amps = [(rng.uniform(0, 0.3) / math.sqrt(k), rng.uniform(0, 2 * math.pi)) for k in range(1, 7)]
            pts = []
            for k in range(96):
                a = k * 2 * math.pi / 96
                rad = 1 + sum(amp * math.cos((h + 1) * a + ph) for h, (amp, ph) in enumerate(amps))
                pts.append((max(rad, 0.2) * math.cos(a), max(rad, 0.2) * math.sin(a)))
        ext = max(math.hypot(x, y) for x, y in pts)
        pts = [(x / ext, y / ext) for x, y in pts]
        ca, sa = math.cos(angle), math.sin(angle)
        cx, cy = rng.uniform(r, size - r), rng.uniform(r, size - r)
        big = Image.new("RGB", (size * 4, size * 4), bg)
        ImageDraw.Draw(big).polygon([(4 * (cx + r * (x * ca - y * sa)), 4 * (cy + r * (x * sa + y * ca)))
                                     for x, y in pts], fill=fg)
        out.append(np.asarray(big.resize((size, size), Image.Resampling.LANCZOS)))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float().div_(255.0)


def shape_mask(x):
    """Where the shape is: pixels farther from the background colour (median of the border) than half the
    image's strongest contrast. (B,3,S,S) -> bool (B,S,S)."""
    import torch

    border = torch.cat([x[:, :, 0], x[:, :, -1], x[:, :, :, 0], x[:, :, :, -1]], 2)
    bg = border.median(2).values[:, :, None, None]
    d = (x - bg).norm(dim=1)
    return d > 0.5 * d.flatten(1).quantile(0.99, dim=1).clamp_min(1e-3)[:, None, None]


def shape_descriptors(x, angles: int = 64, radii: int = 48, harmonics: int = 12) -> np.ndarray:
    """Colour-, position-, scale- and rotation-free outline features of the segmented shape: the magnitudes of
    the first angular harmonics of its radius around its centroid (a square has a strong 4th, a star a 5th, a
    triangle a 3rd, a circle none), how much of the disc of its mean radius it fills, its radius' spread."""
    import torch
    import torch.nn.functional as F

    b, _, s, _ = x.shape
    m = shape_mask(x).float()
    ys, xs = torch.meshgrid(torch.arange(s).float() + 0.5, torch.arange(s).float() + 0.5, indexing="ij")
    area = m.flatten(1).sum(1).clamp_min(1.0)
    cx, cy = (m * xs).flatten(1).sum(1) / area, (m * ys).flatten(1).sum(1) / area
    th = torch.arange(angles) * 2 * math.pi / angles
    reach = s * 0.75
    t = (torch.arange(radii).float() + 0.5) * reach / radii
    px = cx[:, None, None] + t[None, None, :] * torch.cos(th)[None, :, None]
    py = cy[:, None, None] + t[None, None, :] * torch.sin(th)[None, :, None]
    grid = torch.stack([px / s * 2 - 1, py / s * 2 - 1], -1)
    along = F.grid_sample(m[:, None], grid, align_corners=False, padding_mode="zeros")[:, 0]  # (B, angles, radii)
    r = along.sum(2) * reach / radii
    rn = r / r.mean(1, keepdim=True).clamp_min(1e-3)
    spectrum = torch.fft.rfft(rn, dim=1).abs()[:, 1:harmonics + 1] / angles
    fill = area / (math.pi * (r ** 2).mean(1)).clamp_min(1e-3)
    return torch.cat([spectrum, fill[:, None], rn.std(1, keepdim=True)], 1).numpy()


def pixels16(x) -> np.ndarray:
    import torch.nn.functional as F
    return F.adaptive_avg_pool2d(x, 16).reshape(len(x), -1).numpy()


def saturation(x):
    """HSV saturation per pixel, (B,S,S)."""
    mx, mn = x.max(1).values, x.min(1).values
    return (mx - mn) / mx.clamp_min(1e-6)


def variety(feats: np.ndarray) -> float:
    """Mean pairwise RMS distance between the rows (16x16 colour pixels in [0,1])."""
    import torch
    f = torch.from_numpy(feats).double()
    d = torch.cdist(f, f) / math.sqrt(f.shape[1])
    n = len(f)
    return float(d.sum() / max(n * (n - 1), 1))


class ImageJudge:
    """Everything one resolution needs: the fitted shape judge, the real reference sets, the baseline."""

    def __init__(self, size: int, n: int, n_judge: int, seed: int, tmp: Path):
        import torch
        from sklearn.decomposition import PCA
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        t0 = time.time()
        self.size, self.n, self.seed = size, n, seed
        xj, yj = draw_shapes(n_judge, size, JUDGE_SEED, tmp)
        self.ref, yref = draw_shapes(n, size, REF_SEED, tmp)
        self.pool, _ = draw_shapes(n, size, POOL_SEED, tmp)
        others = draw_others(n_judge // 2, size, JUDGE_SEED)
        self.judge = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000))
        self.judge.fit(np.vstack([shape_descriptors(xj), shape_descriptors(others)]),
                       np.r_[yj, np.full(len(others), len(SHAPE_KINDS))])  # class 4: none of the kinds
        self.pool_px = pixels16(self.pool)
        self.judge_accuracy = float((self.judge.predict(shape_descriptors(self.ref)) == yref).mean())
        held_others = draw_others(n, size, REF_SEED)
        self.others_rejected = float((self.judge.predict(shape_descriptors(held_others)) == len(SHAPE_KINDS)).mean())
        self.real_saturation = float(saturation(self.ref).mean())
        # linear-Gaussian baseline: PCA coefficients ~ independent Gaussians
        k = min(32, n_judge - 1)
        pca = PCA(k, svd_solver="randomized", random_state=seed).fit(xj.reshape(len(xj), -1).numpy())
        g = np.random.default_rng(seed)
        z = g.standard_normal((n, k)) * np.sqrt(pca.explained_variance_)
        self.baseline = torch.from_numpy(pca.inverse_transform(z)).float().clamp(0, 1).reshape(n, 3, size, size)
        self.seconds = time.time() - t0

    def figures(self, x, against_pool: bool = True) -> dict:
        x = x.float().clamp(0, 1)
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        p = self.judge.predict_proba(shape_descriptors(x))
        kinds = p[:, :len(SHAPE_KINDS)]  # the 5th column is "none of the kinds"
        share = np.bincount(p.argmax(1), minlength=len(SHAPE_KINDS) + 1) / len(x)
        px = pixels16(x)
        mask = shape_mask(x)
        sat = saturation(x)
        return rounded({
            "samples": int(len(x)), "size": int(x.shape[-1]),
            "judge_confidence": float(kinds.max(1).mean()),
            "kinds_covered": int((share[:len(SHAPE_KINDS)] >= COVERED_SHARE).sum()),
            "kind_shares": {k: round(float(v), 3) for k, v in zip(SHAPE_KINDS + ("none",), share)},
            "two_sample_accuracy": two_sample(px, self.pool_px, self.seed),
            "saturation": float(sat.mean()),
            "saturation_shape": float(sat[mask].mean()) if mask.any() else 0.0,
            "variety": variety(px),
        })

    def reference(self) -> dict:
        return {**self.figures(self.ref), "judge_accuracy": round(self.judge_accuracy, 4),
                "judge_rejects_non_shapes": round(self.others_rejected, 4)}


def image_samples(model, n: int, seed: int):
    import torch
    with torch.no_grad():
        out = model.sample(n, seed=seed)
    return out if isinstance(out, torch.Tensor) else torch.as_tensor(np.asarray(out))


# -- melodies -----------------------------------------------------------------------------------
def to_judged(events, min_pitch: int) -> list[int]:
    """Any event list (the run's pitch range) -> melody_quality's encoding, LENGTH steps."""
    from studio.core.audio.events import events_to_notes, notes_to_events
    notes = events_to_notes([int(e) for e in events], min_pitch)
    return notes_to_events(notes, MELODY_LENGTH, mq.MIN_PITCH, mq.MAX_PITCH)


def usable(ev) -> bool:
    ns = mq.notes_of(ev)
    return len(ns) >= USABLE_MIN_NOTES and all(n.duration <= USABLE_MAX_HELD for n in ns)


def held_out_files(manifest: dict) -> dict:
    """Which Essen files the import's per-file split held out (the importer's own hash of each file's path),
    and whether any of them is among the first 6 files, whose first 40 tunes each the old 240-tune demo used."""
    from studio.core.datasets.pipeline import val_mask_for

    files = sorted(str(f) for f in (manifest.get("accepted") or []))
    if len(files) < 5:
        return {}
    mask = val_mask_for(files, float(manifest.get("settings", {}).get("val_fraction", 0.1)))
    held = [Path(f).name for f, v in zip(files, mask) if v]
    first6 = {Path(f).name for f in files[:6]}
    return {"held_out_files": held, "held_out_in_old_demo_files": sorted(first6 & set(held))}


class MelodyJudge:
    """Held-out Essen phrases, the training split's copy keys and n-gram vocabulary, the Markov baseline."""

    def __init__(self, data_dir: Path, n: int, seed: int, quick: bool):
        from studio.core.audio.events import events_to_notes
        from studio.core.datasets import import_demo, load_dataset

        t0 = time.time()
        if not (data_dir / "manifest.json").is_file():
            # quick: two files' first 40 tunes, a third of their phrases held out (too few files for a per-file split)
            opts = {"n": 80, "phrase_bars": 4, "val_fraction": 0.3} if quick else {"n": 0, "phrase_bars": 4}
            log(f"  importing the Essen demo melodies {opts} into {data_dir} (once; minutes for the whole "
                f"collection) ...")
            import_demo("melody", data_dir, **opts)
        data = load_dataset(data_dir)
        if data.spec.phrase_length != MELODY_LENGTH:
            raise SystemExit(f"{data_dir}: phrases of {data.spec.phrase_length} steps; this report judges "
                             f"{MELODY_LENGTH}-step (4-bar) phrases: import with phrase_bars=4")
        events = data.tensors["events"].numpy()
        val = data.tensors["val_mask"].numpy().astype(bool)
        lo = data.spec.min_pitch
        self.n, self.seed, self.data_dir = n, seed, data_dir
        manifest = data.manifest
        self.dataset = {"folder": str(data_dir), "fingerprint": manifest.get("fingerprint"),
                        "phrases": int(len(events)), "validation_phrases": int(val.sum()),
                        "settings": manifest.get("settings", {}), **held_out_files(manifest)}
        train_tunes = [t for t in (events_to_notes(row, lo) for row in events[~val]) if len(t) >= 2]
        held = [to_judged(row, lo) for row in events[val]]
        held = [w for w in held if sum(e >= 2 for e in w) >= 6]  # melody_quality's windows(): >= 6 notes
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(held))
        cut = len(order) // 3
        self.ref_w = [held[i] for i in order[cut:]]        # every melody set is judged against these
        self.other_w = [held[i] for i in order[:cut]]      # disjoint: the "real vs real" row
        if len(self.other_w) < n or len(self.ref_w) < n:
            raise SystemExit(f"{data_dir}: only {len(held)} held-out phrases with >= 6 notes; need {3 * n}")
        ivs = [mq.intervals(t) for t in train_tunes]
        self.vocab3 = [k for k, _ in Counter(tuple(v[i:i + 3]) for v in ivs for i in range(len(v) - 2)).most_common(40)]
        self.vocab4 = [k for k, _ in Counter(tuple(v[i:i + 4]) for v in ivs for i in range(len(v) - 3)).most_common(40)]
        self.train_keys = set().union(*(mq.window_keys(t) for t in train_tunes))
        self.train_tunes = train_tunes
        self.seconds = time.time() - t0

    def figures(self, gen: list[list[int]]) -> dict:
        rng = np.random.default_rng([self.seed, 17])  # the same real draws for every judged set
        pc, iv, du = mq.overlaps(gen, self.ref_w)
        return rounded({
            "melodies": len(gen),
            "usable": int(sum(usable(g) for g in gen)),
            "usable_share": sum(usable(g) for g in gen) / max(len(gen), 1),
            "notes_per_melody": float(np.mean([len(mq.notes_of(g)) for g in gen])),
            "pitch_class": pc, "interval": iv, "duration": du,
            "classifier_acc": mq.two_sample_accuracy(gen, self.ref_w, self.vocab3, self.vocab4, rng),
            "copy_rate": mq.copy_rate(gen, self.train_keys),
        })

    def reference(self) -> dict:
        rng = np.random.default_rng([self.seed, 1])
        return self.figures([self.other_w[i] for i in rng.choice(len(self.other_w), self.n, replace=False)])

    def markov(self, order: int = 2) -> dict:
        rng = np.random.default_rng([self.seed, 2])
        chain = mq.Markov(self.train_tunes, order)
        return self.figures([chain.melody(rng) for _ in range(self.n)])


def melody_samples(model, run: dict, n: int, seed: int) -> tuple[list[list[int]], str]:
    """``n`` melodies of 64 steps in melody_quality's encoding, and how they were made."""
    import torch

    lo = int(run["spec"].get("min_pitch") or 36)
    length = int(getattr(model, "sequence_length", None) or run["spec"].get("phrase_length") or MELODY_LENGTH)
    with torch.no_grad():
        if run["plugin"] == "melody-rnn":
            out = model.sample(n, seed=seed, length=MELODY_LENGTH)
            how = f"sampled {MELODY_LENGTH} steps from nothing"
            rows = out.tolist()
        elif length >= MELODY_LENGTH:
            rows = [r[:MELODY_LENGTH] for r in model.sample(n, seed=seed).tolist()]
            how = f"{MELODY_LENGTH}-step phrases sampled from the prior"
        else:
            k = math.ceil(MELODY_LENGTH / length)
            out = model.sample(n * k, seed=seed).tolist()
            rows = [sum((out[i + j * n] for j in range(k)), [])[:MELODY_LENGTH] for i in range(n)]
            how = (f"writes {length}-step ({length // 16}-bar) phrases: each judged melody is {k} independent "
                   f"phrases played one after the other")
    return [to_judged(r, lo) for r in rows], how


# -- text ---------------------------------------------------------------------------------------
def pydoc_text() -> str:
    """Python's help topics as one document, as the old demo imported them (``python-help-gpt``)."""
    from pydoc_data.topics import topics
    return "\n\n".join(f"{key}\n{'=' * len(key)}\n\n{topics[key].strip()}" for key in sorted(topics)) + "\n"


TEXT_SETS = {
    "shakespeare": "last 10 % of tiny-shakespeare (import_demo('text') validation split)",
    "python-help": "last 10 % of Python's help topics, pydoc_data (the old python-help-gpt's own validation split)",
}


class TextJudge:
    """One text dataset's validation split and its unigram/bigram character baselines."""

    def __init__(self, name: str, cache: Path, seed: int):
        from studio.core.datasets import import_demo, load_dataset
        from studio.core.datasets.text import import_text

        t0 = time.time()
        folder = cache / f"text-{name}"
        if not (folder / "manifest.json").is_file():
            if name == "shakespeare":
                import_demo("text", folder)
            else:
                src = cache / "python-help-topics.txt"
                src.write_text(pydoc_text(), encoding="utf-8")
                import_text([src], folder)
        data = load_dataset(folder)
        self.name, self.description, self.seed = name, TEXT_SETS[name], seed
        self.vocab = list(data.spec.vocab)
        tok = data.tensors["tokens"].long()
        split = int(data.manifest.get("split_at", int(len(tok) * 0.9)))
        self.train_tokens, self.val_tokens = tok[:split].numpy(), tok[split:].numpy()
        self.val_text = "".join(self.vocab[i] for i in self.val_tokens)
        v = len(self.vocab)
        uni = np.bincount(self.train_tokens, minlength=v).astype(np.float64) + 1.0   # add-one
        self.p_uni = uni / uni.sum()
        big = np.zeros((v, v))
        np.add.at(big, (self.train_tokens[:-1], self.train_tokens[1:]), 1.0)
        alpha = 1.0  # Dirichlet smoothing towards the unigram
        self.p_big = (big + alpha * self.p_uni[None, :]) / (big.sum(1, keepdims=True) + alpha)
        a, b = self.val_tokens[:-1], self.val_tokens[1:]
        self.unigram_nats = float(-np.log(self.p_uni[b]).mean())
        self.bigram_nats = float(-np.log(self.p_big[a, b]).mean())
        g = np.random.default_rng(seed)
        cur, out = self.vocab.index("\n") if "\n" in self.vocab else 0, []
        for _ in range(300):
            cur = int(g.choice(v, p=self.p_big[cur]))
            out.append(self.vocab[cur])
        self.bigram_sample = "".join(out)
        self.val_chars = int(len(self.val_tokens) - 1)
        self.seconds = time.time() - t0

    def baselines(self) -> dict:
        return {"unigram": {"val_nats_per_char": round(self.unigram_nats, 4), "val_chars": self.val_chars},
                "bigram": {"val_nats_per_char": round(self.bigram_nats, 4), "val_chars": self.val_chars,
                           "sample": self.bigram_sample}}

    def figures(self, model, n_chars: int, max_batches: int | None) -> dict:
        import torch

        from studio.core.datasets.training_data import TrainingData
        from studio.core.plugins.api import DataSpec

        vocab = list(model.codec.vocab)
        ids = model.codec.encode(self.val_text)  # characters the model does not know are skipped (counted)
        unknown = len(self.val_text) - len(ids)
        data = TrainingData(DataSpec(modality="text", vocab=vocab), {"tokens": torch.tensor(ids, dtype=torch.long)},
                            {"split_at": 0})
        with torch.no_grad():
            ev = model.evaluate(data.iter_batches("val", 64, seq_len=model.sequence_length, max_batches=max_batches))
            text = model.sample(1, seed=self.seed, length=n_chars)[0]
        return rounded({"val_nats_per_char": float(ev["nats_per_char"]), "val_chars": int(ev.get("chars", 0)),
                        "unknown_chars_skipped": unknown, "dataset": self.name, "sample": text})


def text_set_for(run: dict) -> str:
    """Which validation text suits the run: the one whose characters are exactly the model's vocabulary."""
    vocab = set(run["spec"].get("vocab") or [])
    shakespeare = ROOT / "studio" / "resources" / "demo" / "sources" / "tiny-shakespeare.txt"
    candidates = {"shakespeare": set(shakespeare.read_text(encoding="utf-8")) if shakespeare.is_file() else set(),
                  "python-help": set(pydoc_text())}
    # exact match first, else the one with the fewest characters the model does not know
    return min(candidates, key=lambda k: (candidates[k] != vocab, len(candidates[k] - vocab), k != "shakespeare"))


# -- the report ---------------------------------------------------------------------------------
class Report:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="studio-demo-quality-"))
        self.cache = args.cache
        self.cache.mkdir(parents=True, exist_ok=True)
        q = args.quick
        self.n_images = 40 if q else 300
        self.n_judge = 200 if q else 1200
        self.n_melodies = 12 if q else 60
        self.n_chars = 60 if q else 300
        self.text_batches = 2 if q else None
        self._images: dict[int, ImageJudge] = {}
        self._melody: MelodyJudge | None = None
        self._text: dict[str, TextJudge] = {}
        self.baselines: dict[str, dict] = {}

    def image_judge(self, size: int) -> ImageJudge:
        if size not in self._images:
            log(f"  drawing real shapes at {size} px and fitting the shape judge ...")
            j = ImageJudge(size, self.n_images, self.n_judge, self.args.seed, self.tmp)
            self._images[size] = j
            self.baselines[f"image-{size}px"] = {
                "real held-out shapes": j.reference(),
                "linear-Gaussian (PCA-32)": j.figures(j.baseline),
                "_seconds": round(j.seconds, 1)}
        return self._images[size]

    def melody_judge(self) -> MelodyJudge:
        if self._melody is None:
            folder = self.args.melody_data or self.cache / ("essen-4bar-quick" if self.args.quick else "essen-4bar")
            log(f"  loading held-out Essen phrases from {folder} ...")
            j = MelodyJudge(Path(folder), self.n_melodies, self.args.seed, self.args.quick)
            self._melody = j
            self.baselines["melody"] = {"real held-out phrases": j.reference(), "Markov order 2": j.markov(2),
                                        "_dataset": j.dataset, "_seconds": round(j.seconds, 1)}
        return self._melody

    def text_judge(self, name: str) -> TextJudge:
        if name not in self._text:
            log(f"  text baselines on {name} ...")
            j = TextJudge(name, self.cache, self.args.seed)
            self._text[name] = j
            self.baselines[f"text-{name}"] = {**j.baselines(), "_dataset": j.description,
                                              "_seconds": round(j.seconds, 1)}
        return self._text[name]

    def judge_run(self, run: dict) -> dict:
        from studio.core.training.checkpoints import load_model

        t0 = time.time()
        out = {"dir": str(run["dir"]), "plugin": run["plugin"], "modality": run["modality"], "step": run["step"]}
        try:
            model, _plugin, _info = load_model(run["dir"])
            model.eval()
            seed = self.args.seed
            if run["modality"] == "image":
                x = image_samples(model, self.n_images, seed)
                judge = self.image_judge(int(x.shape[-1]))
                out.update(group=f"image-{judge.size}px", figures=judge.figures(x))
            elif run["modality"] == "melody":
                judge = self.melody_judge()
                gen, how = melody_samples(model, run, self.n_melodies, seed)
                out.update(group="melody", how=how, figures=judge.figures(gen))
            elif run["modality"] == "text":
                name = text_set_for(run)
                judge = self.text_judge(name)
                out.update(group=f"text-{name}", figures=judge.figures(model, self.n_chars, self.text_batches))
            else:
                out["error"] = f"no quality figures for modality {run['modality']!r}"
        except SystemExit:
            raise
        except Exception as exc:  # noqa: BLE001 - one broken run is reported, the rest still judged
            out["error"] = f"{type(exc).__name__}: {exc}"
        out["seconds"] = round(time.time() - t0, 1)
        return out


# figure key -> (label, how to print)
ROWS = {
    "image": [("judge_confidence", "shape judge: mean top-class confidence"),
              ("kinds_covered", "kinds covered (>= 10 % of samples, of 4)"),
              ("kind_shares", "judged: circle / square / triangle / star / none of them"),
              ("two_sample_accuracy", "two-sample classifier accuracy, 16x16 px (0.5 = like real)"),
              ("saturation", "colourfulness: mean saturation, all pixels"),
              ("saturation_shape", "colourfulness: mean saturation of the shape"),
              ("variety", "variety: mean pairwise RMS distance, 16x16 px"),
              ("samples", "samples (px)")],
    "melody": [("usable", "usable tunes (>= 8 notes, none held > 2 bars)"),
               ("notes_per_melody", "notes per 4-bar melody"),
               ("pitch_class", "pitch-class overlap (>= 0.90)"),
               ("interval", "interval overlap (>= 0.85)"),
               ("duration", "duration overlap (>= 0.85)"),
               ("classifier_acc", "two-sample classifier accuracy (0.5 = like real; <= 0.70)"),
               ("copy_rate", "copied 8-note windows (<= 0.10)")],
    "text": [("val_nats_per_char", "validation nats/char"), ("val_chars", "characters scored")],
}


def cell(key: str, figs: dict | None) -> str:
    if not figs or key not in figs:
        return "-"
    v = figs[key]
    if key == "kind_shares":
        return " / ".join(f"{v[k]:.2f}" for k in SHAPE_KINDS + ("none",))
    if key == "usable":
        return f"{v} / {figs.get('melodies')}"
    if key == "samples":
        return f"{v} ({figs.get('size')} px)"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def markdown(result: dict) -> str:
    lines = ["# Demo quality report", ""]
    s = result["settings"]
    lines.append(f"runs: `{s['runs']}`" + (f"; before: `{s['old']}`" if s["old"] else "")
                 + f"; seed {s['seed']}; {s['threads']} thread(s); CPU"
                 + ("; QUICK (smoke sizes, noisy)" if s["quick"] else ""))
    lines.append("")
    for name, entry in result["runs"].items():
        before, after = entry.get("before"), entry.get("after")
        any_run = after or before
        modality = any_run["modality"]
        lines.append(f"## {name} ({modality}, {any_run['plugin']})")
        lines.append("")
        for side, r in (("before", before), ("after" if s["old"] else "this run", after)):
            if r and r.get("error"):
                lines.append(f"- {side}: **could not be judged**: {r['error']}")
            if r and r.get("how"):
                lines.append(f"- {side}: {r['how']}")
        groups = [g for g in dict.fromkeys(r.get("group") for r in (after, before) if r and r.get("group"))]
        cols = []
        if s["old"]:
            cols.append(("before" + ("" if after else " (not in the new set)"), (before or {}).get("figures")))
            if after or not before:
                cols.append(("after", (after or {}).get("figures")))
        else:
            cols.append(("this run", (after or {}).get("figures")))
        for g in groups:
            suffix = f" ({g.split('-', 1)[1]})" if len(groups) > 1 or g.startswith("image") else ""
            for bname, figs in result["baselines"].get(g, {}).items():
                if not bname.startswith("_"):
                    cols.append((f"{bname}{suffix}", figs))
            desc = result["baselines"].get(g, {}).get("_dataset")
            if isinstance(desc, str):
                lines.append(f"- scored on the {desc}")
        if modality == "melody" and groups:
            d = result["baselines"]["melody"]["_dataset"]
            lines.append(f"- held out: the validation split of `{d['folder']}` ({d['validation_phrases']} of "
                         f"{d['phrases']} 4-bar phrases); copies counted against its training split")
            if d.get("held_out_files"):
                clash = d.get("held_out_in_old_demo_files")
                lines.append(f"- held-out Essen files: {', '.join(d['held_out_files'])}; of the old 240-tune demo's "
                             f"files (the first 6): {', '.join(clash) if clash else 'none'}")
        if modality == "image":
            for g in groups:
                ref = result["baselines"][g]["real held-out shapes"]
                lines.append(f"- {g}: the shape judge names {ref.get('judge_accuracy', 0):.1%} of held-out real shapes "
                             f"and calls {ref.get('judge_rejects_non_shapes', 0):.1%} of held-out non-shapes "
                             f"(stretched kinds, random blobs) none of the kinds")
        lines.append("")
        lines.append("| figure | " + " | ".join(c[0] for c in cols) + " |")
        lines.append("|---|" + "---|" * len(cols))
        for key, label in ROWS.get(modality, []):
            lines.append(f"| {label} | " + " | ".join(cell(key, c[1]) for c in cols) + " |")
        lines.append("")
        if modality == "text":
            for side, r in (("before", before), ("after", after)):
                if r and r.get("figures", {}).get("sample") is not None:
                    lines.append(f"{side if s['old'] else 'model'} sample ({len(r['figures']['sample'])} characters, "
                                 f"seed {s['seed']}):")
                    lines += ["", "```", r["figures"]["sample"], "```", ""]
            for g in groups:
                big = result["baselines"][g]["bigram"].get("sample")
                if big:
                    lines += [f"bigram baseline sample ({g}):", "", "```", big, "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="Figures: see the module docstring.")
    ap.add_argument("--runs", type=Path, default=ROOT / "studio" / "resources" / "demo" / "runs",
                    help="folder of demo runs (its index.json, else every run folder in it); default the shipped ones")
    ap.add_argument("--old", type=Path, default=None, help="a second folder of runs: printed as the 'before' column")
    ap.add_argument("--only", default="", help="comma-separated run names to judge (default: all)")
    ap.add_argument("--json", type=Path, default=None, help="also write the report as indented JSON to this file")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (seconds, noisy): a smoke test")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "studio-demo-quality",
                    help="where imported melody/text data are kept between runs")
    ap.add_argument("--melody-data", type=Path, default=None,
                    help="an existing whole-Essen 4-bar melody dataset folder (default: imported into --cache once)")
    args = ap.parse_args(argv)

    import torch
    torch.set_num_threads(max(1, args.threads))
    t0 = time.time()
    for folder in (args.runs, args.old):
        if folder is not None and not folder.is_dir():
            ap.error(f"{folder} is not a folder of runs")
    new = list_runs(args.runs)
    old = list_runs(args.old) if args.old else []
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    names = [r["name"] for r in new] + [r["name"] for r in old if r["name"] not in {x["name"] for x in new}]
    names = [n for n in names if not only or n in only]
    rep = Report(args)
    runs: dict[str, dict] = {}
    try:
        for name in names:
            entry = {}
            for side, pool in (("after", new), ("before", old)):
                run = next((r for r in pool if r["name"] == name), None)
                if run is not None:
                    log(f"{name} ({side}): {run['plugin']} at {run['dir']} ...")
                    entry[side] = rep.judge_run(run)
            runs[name] = entry
    finally:
        import shutil
        shutil.rmtree(rep.tmp, ignore_errors=True)
    result = {"settings": {"runs": str(args.runs), "old": str(args.old) if args.old else None, "quick": args.quick,
                           "seed": args.seed, "threads": args.threads, "device": "cpu",
                           "image_samples": rep.n_images, "judge_shapes": rep.n_judge,
                           "melodies": rep.n_melodies, "text_chars": rep.n_chars,
                           "seconds": round(time.time() - t0, 1)},
              "runs": runs, "baselines": rep.baselines, "machine": machine_info(False)}
    print(markdown(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    emit_json(result)
    return 1 if any(r.get("error") for e in runs.values() for r in e.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
