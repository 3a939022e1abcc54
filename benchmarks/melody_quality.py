"""Melody quality: train melody-rnn and melody-vae on half of music21's Essen folk songs, judge 60 of their
melodies against the other half, next to order-1 / order-2 Markov chains computed in the same run.

Figures (issue 7):
  * pitch-class / interval / duration histogram overlap (0-1; targets >= 0.90 / 0.85 / 0.85)
  * classifier two-sample test: logistic regression with cross-validation on structural features
    (interval 3/4-grams, one-bar repetition, range, contour runs); 0.5 = indistinguishable; target <= 0.70
  * copy rate: share of generated 8-note windows (intervals + durations) found verbatim in the training half (<= 0.10)

    python benchmarks/melody_quality.py                  # 3 minutes of training per model, all tunes
    python benchmarks/melody_quality.py --seconds 10 --tunes 200   # a quick check
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.core.audio.events import Note, events_to_notes, notes_to_events  # noqa: E402

MIN_PITCH, MAX_PITCH = 48, 84
LENGTH = 64  # 4 bars of 16ths: the unit every melody is judged in
CACHE = Path(tempfile.gettempdir()) / "studio-essen-events-v1.npz"


# -- data ---------------------------------------------------------------------------
def _parse_file(path: str) -> list[list[tuple[int, int, int]]]:
    """Tunes of one Essen ABC file as (pitch, start step, duration) lists, bar-aligned (pickups shifted)."""
    from music21 import converter, stream
    out = []
    try:
        parsed = converter.parse(path)
    except Exception:  # noqa: BLE001 - a bad file just contributes nothing
        return out
    scores = parsed.scores if isinstance(parsed, stream.Opus) else [parsed]
    for score in scores:
        try:
            part = score.parts[0] if score.parts else score
            measures = list(part.getElementsByClass("Measure"))
            shift = float(measures[0].paddingLeft) if measures else 0.0
            notes = []
            for n in part.flatten().notes:
                pitch = max(p.midi for p in n.pitches)  # the top line of any chord
                start = int(round((float(n.offset) + shift) * 4))
                dur = max(1, int(round(float(n.quarterLength) * 4)))
                notes.append((int(pitch), start, dur))
            if len(notes) >= 8:
                out.append(notes)
        except Exception:  # noqa: BLE001
            continue
    return out


def load_tunes(max_tunes: int, workers: int = 2) -> list[list[Note]]:
    if CACHE.exists():
        d = np.load(CACHE, allow_pickle=False)
        flat, lens = d["notes"], d["lens"]
        tunes, i = [], 0
        for n in lens:
            tunes.append([Note(int(p), int(s), int(u)) for p, s, u in flat[i:i + n]])
            i += n
        if len(tunes) >= max_tunes or bool(d["complete"]):
            return tunes[:max_tunes]
    from multiprocessing import Pool

    from music21 import corpus
    paths = sorted(str(p) for p in corpus.getComposer("essenFolksong"))
    paths = [p for p in paths if not Path(p).name.startswith("test")]
    tunes, done = [], 0
    with Pool(workers) as pool:
        for got in pool.imap(_parse_file, paths):
            tunes += [[Note(*t) for t in tune] for tune in got]
            done += 1
            print(f"  parsed {done}/{len(paths)} files, {len(tunes)} tunes", file=sys.stderr)
            if len(tunes) >= max_tunes:
                pool.terminate()
                break
    flat = np.array([(n.pitch, n.start, n.duration) for t in tunes for n in t], dtype=np.int64)
    np.savez(CACHE, notes=flat, lens=np.array([len(t) for t in tunes]), complete=done == len(paths))
    return tunes[:max_tunes]


def tune_events(tune: list[Note]) -> list[int]:
    return notes_to_events(tune, None, MIN_PITCH, MAX_PITCH)


def windows(tunes, stride: int = 16) -> list[list[int]]:
    """Bar-aligned LENGTH-step windows that hold at least 6 notes."""
    out = []
    for t in tunes:
        ev = tune_events(t)
        for s in range(0, max(1, len(ev) - LENGTH + 1), stride):
            w = ev[s:s + LENGTH]
            if len(w) == LENGTH and sum(e >= 2 for e in w) >= 6:
                out.append(w)
    return out


# -- metrics ------------------------------------------------------------------------
def notes_of(events) -> list[Note]:
    return events_to_notes(events, MIN_PITCH)


def histograms(melodies) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pc, iv, du = np.zeros(12), np.zeros(25), np.zeros(16)
    for ev in melodies:
        ns = notes_of(ev)
        for n in ns:
            pc[n.pitch % 12] += 1
            du[min(n.duration, 16) - 1] += 1
        for a, b in zip(ns, ns[1:]):
            iv[int(np.clip(b.pitch - a.pitch, -12, 12)) + 12] += 1
    return tuple(h / max(h.sum(), 1) for h in (pc, iv, du))


def overlaps(a, b) -> tuple[float, float, float]:
    return tuple(float(np.minimum(x, y).sum()) for x, y in zip(histograms(a), histograms(b)))


def intervals(ns):
    return [b.pitch - a.pitch for a, b in zip(ns, ns[1:])]


def features(melodies, vocab3, vocab4) -> np.ndarray:
    rows = []
    for ev in melodies:
        ns = notes_of(ev)
        iv = intervals(ns)
        g3 = Counter(tuple(iv[i:i + 3]) for i in range(len(iv) - 2))
        g4 = Counter(tuple(iv[i:i + 4]) for i in range(len(iv) - 3))
        n3, n4 = max(sum(g3.values()), 1), max(sum(g4.values()), 1)
        bars = [tuple(ev[i:i + 16]) for i in range(0, len(ev), 16)]
        repeats = sum(b in bars[:i] for i, b in enumerate(bars)) / max(len(bars) - 1, 1)
        pitches = [n.pitch for n in ns] or [0]
        signs = [np.sign(x) for x in iv if x != 0]
        runs, cur = [], 1
        for a, b in zip(signs, signs[1:]):
            if a == b:
                cur += 1
            else:
                runs.append(cur)
                cur = 1
        runs.append(cur)
        rows.append([g3[k] / n3 for k in vocab3] + [g4[k] / n4 for k in vocab4] + [
            repeats, max(pitches) - min(pitches), float(np.mean(runs)), max(runs), len(ns) / LENGTH,
            sum(e == 0 for e in ev) / LENGTH, float(np.mean(np.abs(iv))) if iv else 0.0,
            sum(abs(x) > 7 for x in iv) / max(len(iv), 1)])
    return np.array(rows, dtype=np.float64)


def two_sample_accuracy(gen, real_pool, vocab3, vocab4, rng, repeats: int = 5) -> float:
    """Mean 5-fold CV accuracy of a logistic regression telling ``gen`` from equal-sized real samples."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    accs = []
    fg = features(gen, vocab3, vocab4)
    for r in range(repeats):
        idx = rng.choice(len(real_pool), len(gen), replace=False)
        fr = features([real_pool[i] for i in idx], vocab3, vocab4)
        x = np.vstack([fg, fr])
        y = np.r_[np.ones(len(fg)), np.zeros(len(fr))]
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=2000))
        accs.append(cross_val_score(clf, x, y, cv=StratifiedKFold(5, shuffle=True, random_state=r)).mean())
    return float(np.mean(accs))


def window_keys(ns, k: int = 8):
    return {tuple((b.pitch - a.pitch, a.duration) for a, b in zip(ns[i:i + k], ns[i + 1:i + k]))
            + (ns[i + k - 1].duration,) for i in range(len(ns) - k + 1)}


def copy_rate(gen, train_keys) -> float:
    keys = [key for ev in gen for key in window_keys(notes_of(ev))]
    return sum(k in train_keys for k in keys) / max(len(keys), 1)


# -- baselines ----------------------------------------------------------------------
class Markov:
    """Order-k chain over (pitch, inter-onset steps) tokens with back-off to lower orders."""

    def __init__(self, tunes, order: int):
        self.order = order
        self.tables = [defaultdict(Counter) for _ in range(order + 1)]
        for t in tunes:
            toks = [(a.pitch, max(1, min(16, b.start - a.start))) for a, b in zip(t, t[1:])]
            for i, tok in enumerate(toks):
                for k in range(order + 1):
                    if i >= k:
                        self.tables[k][tuple(toks[i - k:i])][tok] += 1

    def melody(self, rng) -> list[int]:
        hist, notes, step = [], [], 0
        while step < LENGTH:
            for k in range(min(self.order, len(hist)), -1, -1):
                table = self.tables[k].get(tuple(hist[len(hist) - k:]) if k else ())
                if table:
                    break
            toks, counts = zip(*table.items())
            tok = toks[rng.choice(len(toks), p=np.array(counts) / sum(counts))]
            notes.append(Note(tok[0], step, tok[1]))
            step += tok[1]
            hist.append(tok)
        return notes_to_events(notes, LENGTH, MIN_PITCH, MAX_PITCH)


def uniform_melodies(n, rng) -> list[list[int]]:
    out = []
    for _ in range(n):
        notes, step = [], 0
        while step < LENGTH:
            d = int(rng.integers(1, 9))
            notes.append(Note(int(rng.integers(60, 80)), step, d))
            step += d
        out.append(notes_to_events(notes, LENGTH, MIN_PITCH, MAX_PITCH))
    return out


# -- models -------------------------------------------------------------------------
def train_plugin(name: str, overrides: dict, phrases: np.ndarray, seconds: float, batch: int, seed: int):
    import importlib

    import torch

    from studio.core.datasets.training_data import TrainingData
    from studio.core.plugins.api import DataSpec, config_from_dict
    from studio.core.training.optim import EngineOptimizers, OptimSettings

    plugin = importlib.import_module(f"plugins.{name}").plugin
    spec = DataSpec("melody", phrase_length=LENGTH, min_pitch=MIN_PITCH, max_pitch=MAX_PITCH)
    ev = torch.as_tensor(phrases)
    val = torch.zeros(len(ev), dtype=torch.bool)
    val[torch.randperm(len(ev), generator=torch.Generator().manual_seed(seed))[: max(1, len(ev) // 20)]] = True
    data = TrainingData.from_tensors(spec, events=ev, val_mask=val)
    torch.manual_seed(seed)
    model = plugin.build(config_from_dict(plugin.Config, overrides), spec)
    opt = EngineOptimizers(model, OptimSettings(lr=2e-3, grad_clip=1.0))
    g = torch.Generator().manual_seed(seed)
    steps, t0 = 0, time.time()
    model.train()
    while time.time() - t0 < seconds:
        model.training_step(data.random_batch("train", batch, g), opt)
        steps += 1
    model.eval()
    ev_metrics = model.evaluate(data.iter_batches("val", 64))
    return model, steps, ev_metrics


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=180, help="training time per model (default 180)")
    ap.add_argument("--tunes", type=int, default=100000, help="use at most this many tunes (default: all)")
    ap.add_argument("--n", type=int, default=60, help="melodies generated per model")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    import torch
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    tunes = load_tunes(args.tunes)
    train_t, test_t = tunes[0::2], tunes[1::2]
    train_w, test_w = windows(train_t), windows(test_t)
    # held-out windows: one pool every melody set is judged against, a disjoint one for "real vs real"
    order = rng.permutation(len(test_w))
    ref_w = [test_w[i] for i in order[len(order) // 3:]]
    other_w = [test_w[i] for i in order[: len(order) // 3]]
    print(f"{len(tunes)} tunes ({len(train_t)} train / {len(test_t)} held out), {len(train_w)} training phrases "
          f"of {LENGTH} steps; loaded in {time.time() - t0:.0f}s")
    # n-gram vocabulary for the classifier from the training half only
    iv_lists = [intervals(t) for t in train_t]
    vocab3 = [k for k, _ in Counter(tuple(v[i:i + 3]) for v in iv_lists for i in range(len(v) - 2)).most_common(40)]
    vocab4 = [k for k, _ in Counter(tuple(v[i:i + 4]) for v in iv_lists for i in range(len(v) - 3)).most_common(40)]
    train_keys = set().union(*(window_keys(t) for t in train_t))
    n = args.n

    results = {}

    def judge(name, gen, extra=None):
        pc, iv, du = overlaps(gen, ref_w)
        acc = two_sample_accuracy(gen, ref_w, vocab3, vocab4, rng)
        results[name] = {"pitch_class": pc, "interval": iv, "duration": du, "classifier_acc": acc,
                         "copy_rate": copy_rate(gen, train_keys), **(extra or {})}

    judge("real (held-out)", [other_w[i] for i in rng.choice(len(other_w), n, replace=False)])
    judge("uniform random", uniform_melodies(n, rng))
    for order in (1, 2):
        chain = Markov(train_t, order)
        judge(f"markov order {order}", [chain.melody(rng) for _ in range(n)])
    phrases = np.array(train_w, dtype=np.int64)
    for name, overrides in (("melody_rnn", {}), ("melody_vae", {"bars": 4})):
        model, steps, ev = train_plugin(name, overrides, phrases, args.seconds, args.batch, args.seed)
        with torch.no_grad():
            gen = model.sample(n, seed=args.seed, **({"length": LENGTH} if name == "melody_rnn" else {}))
        extra = {"steps": steps, **{k: round(v, 4) for k, v in ev.items() if k != "events"}}
        judge(name.replace("_", "-"), [list(map(int, r)) for r in gen.tolist()], extra)

    print(f"\n{'':20s} {'pc':>5s} {'intv':>5s} {'dur':>5s} {'clf acc':>8s} {'copy':>6s}  notes")
    for name, r in results.items():
        note = " ".join(f"{k}={v}" for k, v in r.items() if k not in ("pitch_class", "interval", "duration",
                                                                      "classifier_acc", "copy_rate"))
        print(f"{name:20s} {r['pitch_class']:5.3f} {r['interval']:5.3f} {r['duration']:5.3f} "
              f"{r['classifier_acc']:8.3f} {r['copy_rate']:6.3f}  {note}")
    print("targets: pc >= 0.90, intv >= 0.85, dur >= 0.85, classifier <= 0.70 (aim 0.62), copy <= 0.10; "
          f"{args.seconds:.0f}s training per model, total {time.time() - t0:.0f}s")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": results},
                                        indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
