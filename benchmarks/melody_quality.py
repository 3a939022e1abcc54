"""Melody quality across styles and sizes: train the melody models on half of a collection, judge 60 of their
melodies against the other half, next to order-1 / order-2 Markov chains trained in the same run.

Collections (``--corpus``): ``essen`` (music21's Essen folk songs), ``ryans`` (Ryan's Mammoth Collection of
fiddle tunes), ``bach-soprano`` (soprano lines of the Bach chorales), or a folder of MIDI / ABC / MusicXML
files (read with the studio's importer); ``--tunes N`` takes a seeded random N of them (200: a musician's
own small collection). Parsed tunes are cached per corpus (benchmarks/melody_corpora.py).

Figures (issues 7 and 25):
  * usable: generated melodies with >= 8 notes and no note held over 2 bars (only these are judged)
  * pitch-class / interval / duration histogram overlap (0-1; targets >= 0.90 / 0.85 / 0.85)
  * classifier two-sample test: logistic regression with cross-validation on structural features
    (interval 3/4-grams, one-bar repetition, range, contour runs); 0.5 = indistinguishable; target <= 0.70
  * copy rate: share of generated 8-note windows (intervals + durations) found verbatim in the training half
    (<= 0.05 with 200 tunes)
Training time is CPU time of this process (``--seconds``, default 180 = 3 CPU minutes; torch at ``--threads``),
so a loaded machine slows the run but not the figures.

    python benchmarks/melody_quality.py --corpus ryans --tunes 200
    python benchmarks/melody_quality.py --corpus essen --models melody-rnn,melody-transformer
    python benchmarks/melody_quality.py --corpus ~/tunes --seconds 20 --n 20    # a quick check on a folder
    python benchmarks/melody_quality.py --corpus ryans --tunes 200 --models melody-rnn \
        --sample default temperature=0.9 temperature=0.8,top_p=0.95 --model-seeds 0,1   # a sampling sweep

``--sample`` judges each trained model once per sampling setting (the model is trained once, not per setting);
``--model-seeds`` trains each model once per seed on the same tunes and split and prints the median over seeds.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.core.audio.events import Note, events_to_notes, notes_to_events  # noqa: E402

from studio.core.melody_originality import note_figures  # noqa: E402

import melody_corpora  # noqa: E402

MIN_PITCH, MAX_PITCH = 48, 84
LENGTH = 64  # 4 bars of 16ths: the unit every melody is judged in
USABLE_MIN_NOTES, USABLE_MAX_HELD = 8, 32  # as benchmarks/demo_quality.py: >= 8 notes, none over 2 bars


# -- data ---------------------------------------------------------------------------
def load_tunes(corpus: str, max_tunes: int, seed: int = 0, workers: int = 1) -> list[melody_corpora.Tune]:
    """The corpus's tunes (cached), or a seeded random ``max_tunes`` of them in corpus order."""
    tunes = melody_corpora.load_corpus(corpus, workers, log=lambda m: print(m, file=sys.stderr, flush=True))
    if max_tunes < len(tunes):
        keep = np.sort(np.random.default_rng([seed, 25]).choice(len(tunes), max_tunes, replace=False))
        tunes = [tunes[i] for i in keep]
    return tunes


def tune_events(tune) -> list[int]:
    return notes_to_events(getattr(tune, "notes", tune), None, MIN_PITCH, MAX_PITCH)


def windows(tunes, stride: int = 16) -> list[list[int]]:
    """LENGTH-step windows that hold at least 6 notes, starting on the tune's bar lines about a 4/4 bar apart."""
    out = []
    for t in tunes:
        ev = tune_events(t)
        bar = getattr(t, "bar_steps", stride)
        step = bar * max(1, -(-stride // bar))  # whole bars: 2/4 -> 16, 6/8 -> 12, 9/8 -> 18
        for s in range(0, max(1, len(ev) - LENGTH + 1), step):
            w = ev[s:s + LENGTH]
            if len(w) == LENGTH and sum(e >= 2 for e in w) >= 6:
                out.append(w)
    return out


# -- metrics ------------------------------------------------------------------------
def notes_of(events) -> list[Note]:
    return events_to_notes(events, MIN_PITCH)


def usable(ev) -> bool:
    ns = notes_of(ev)
    return len(ns) >= USABLE_MIN_NOTES and all(n.duration <= USABLE_MAX_HELD for n in ns)


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
    """8-note figures (intervals + durations), as the studio's own copy check counts them."""
    return set(note_figures(ns, k))


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
            t = getattr(t, "notes", t)
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


# -- the run ------------------------------------------------------------------------
DEFAULT_MODELS = ("melody-rnn", "melody-transformer")
SAMPLE_KEYS = {"temperature": float, "top_k": int, "top_p": float}


def parse_sample(text: str) -> dict:
    """'temperature=0.9,top_p=0.95' -> {'temperature': 0.9, 'top_p': 0.95}; 'default' (or '') -> {} (the model's)."""
    out = {}
    for item in filter(None, text.replace(" ", "").split(",")):
        if item == "default":
            continue
        key, sep, value = item.partition("=")
        key = key.replace("-", "_")
        if not sep or key not in SAMPLE_KEYS:
            raise argparse.ArgumentTypeError(f"{item!r} is not one of "
                                             f"{', '.join(k + '=VALUE' for k in SAMPLE_KEYS)} (or 'default')")
        try:
            out[key] = SAMPLE_KEYS[key](value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key} needs a number, not {value!r}") from None
    return out


def sample_label(setting: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in setting.items()) or "default"


def seed_list(text: str) -> list[int]:
    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") \
            from None
    if not seeds:
        raise argparse.ArgumentTypeError("give at least one seed")
    return seeds


def medians(results: dict, groups: dict[str, list[str]]) -> dict[str, dict]:
    """Median of each figure over the rows of each group (one row per model seed)."""
    out = {}
    for name, rows in groups.items():
        judged = [results[r] for r in rows if "classifier_acc" in results[r]]
        med = {"seeds": len(rows), "judged": len(judged),
               "usable": float(np.median([results[r]["usable"] for r in rows])), "of": results[rows[0]]["of"]}
        if judged:
            for k in ("pitch_class", "interval", "duration", "classifier_acc", "copy_rate"):
                med[k] = float(np.median([r[k] for r in judged]))
            med["classifier_accs"] = [round(r["classifier_acc"], 3) for r in judged]
        out[name] = med
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default="essen", help="essen, ryans, bach-soprano or a folder of MIDI/ABC files")
    ap.add_argument("--tunes", type=int, default=100000, help="use a seeded random N tunes (default: all)")
    ap.add_argument("--models", nargs="*", default=list(DEFAULT_MODELS),
                    help="plugin ids, each optionally with Config overrides: melody-rnn:transpose=5,dropout=0.3; "
                         "'auto' picks regularisation by collection size (default: %(default)s)")
    ap.add_argument("--seconds", type=float, default=180, help="CPU seconds of training per model (default 180)")
    ap.add_argument("--patience", type=int, default=10,
                    help="early stopping: validations (every 100 steps) without a better held-out loss; 0: off")
    ap.add_argument("--n", type=int, default=60, help="melodies generated per model")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1, help="processes parsing the corpus the first time")
    ap.add_argument("--seed", type=int, default=0, help="which tunes (with --tunes), the split and the judging")
    ap.add_argument("--model-seeds", type=seed_list, default=None, metavar="S1,S2",
                    help="train each model once per seed (same tunes and split); default: --seed")
    ap.add_argument("--sample", nargs="+", type=parse_sample, default=[{}], metavar="SETTING",
                    help="sampling settings to judge each trained model with, e.g. 'default' "
                         "'temperature=0.9,top_p=0.95' 'top_k=8' (default: the model's own)")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    import torch

    from melody_training import train_plugin
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    tunes = load_tunes(args.corpus, args.tunes, args.seed, args.workers)
    if len(tunes) < 10:
        print(f"{args.corpus}: only {len(tunes)} usable tunes; need 10 or more", file=sys.stderr)
        return 2
    train_t, test_t = tunes[0::2], tunes[1::2]
    fit_t, val_t = train_t[: max(1, len(train_t) * 9 // 10)], train_t[max(1, len(train_t) * 9 // 10):]
    train_w, test_w = windows(fit_t), windows(test_t)
    # held-out windows: one pool every melody set is judged against, a disjoint one for "real vs real"
    order = rng.permutation(len(test_w))
    ref_w = [test_w[i] for i in order[len(order) // 3:]]
    other_w = [test_w[i] for i in order[: len(order) // 3]]
    n = min(args.n, len(other_w), len(ref_w))
    meters = Counter(t.meter for t in tunes).most_common(4)
    print(f"{args.corpus}: {len(tunes)} tunes ({len(train_t)} train, of which {len(val_t)} for early stopping / "
          f"{len(test_t)} held out), meters {meters}; {len(train_w)} training phrases of {LENGTH} steps; "
          f"loaded in {time.time() - t0:.0f}s", flush=True)
    # n-gram vocabulary for the classifier from the training half only
    iv_lists = [intervals(t.notes) for t in train_t]
    vocab3 = [k for k, _ in Counter(tuple(v[i:i + 3]) for v in iv_lists for i in range(len(v) - 2)).most_common(40)]
    vocab4 = [k for k, _ in Counter(tuple(v[i:i + 4]) for v in iv_lists for i in range(len(v) - 3)).most_common(40)]
    train_keys = set().union(*(window_keys(t.notes) for t in train_t))

    results = {}

    def judge(name, gen, extra=None):
        ok = [g for g in gen if usable(g)]
        r = {"usable": len(ok), "of": len(gen), **(extra or {})}
        if len(ok) >= 10:
            pc, iv, du = overlaps(ok, ref_w)
            # every row is judged against the same draws of real windows, so rows differ only by their melodies
            r.update(pitch_class=pc, interval=iv, duration=du, copy_rate=copy_rate(ok, train_keys),
                     classifier_acc=two_sample_accuracy(ok, ref_w, vocab3, vocab4,
                                                        np.random.default_rng([args.seed, 2])))
        results[name] = r
        print(f"  judged {name} ({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)

    judge("real (held-out)", [other_w[i] for i in rng.choice(len(other_w), n, replace=False)])
    judge("uniform random", uniform_melodies(n, rng))
    for order_k in (1, 2):
        chain = Markov(train_t, order_k)
        judge(f"markov order {order_k}", [chain.melody(rng) for _ in range(n)])
    val_w = windows(val_t)
    model_seeds = args.model_seeds or [args.seed]
    groups: dict[str, list[str]] = defaultdict(list)  # one row per model seed -> their median
    for spec in args.models:
        for model_seed in model_seeds:
            model, info = train_plugin(spec, np.array(train_w, dtype=np.int64), np.array(val_w, dtype=np.int64),
                                       len(train_t), cpu_seconds=args.seconds, batch=args.batch, seed=model_seed,
                                       length=LENGTH, min_pitch=MIN_PITCH, max_pitch=MAX_PITCH,
                                       patience=args.patience)
            for setting in args.sample:
                name = spec if args.sample == [{}] else f"{spec} @ {sample_label(setting)}"
                with torch.no_grad():
                    kw = {} if spec.startswith("melody-vae") else {"length": LENGTH}
                    gen = model.sample(n, seed=model_seed, **kw, **setting)
                row = name if len(model_seeds) == 1 else f"{name} #seed {model_seed}"
                judge(row, [list(map(int, r)) for r in gen.tolist()],
                      {**info, **({"sample": setting} if setting else {})})
                groups[name].append(row)

    print(f"\n{args.corpus}, {len(tunes)} tunes: {'':8s} {'usable':>7s} {'pc':>5s} {'intv':>5s} {'dur':>5s} "
          f"{'clf acc':>8s} {'copy':>6s}  notes")
    for name, r in results.items():
        note = " ".join(f"{k}={v}" for k, v in r.items() if k not in ("pitch_class", "interval", "duration",
                                                                      "classifier_acc", "copy_rate", "usable", "of"))
        figs = (f"{r['pitch_class']:5.3f} {r['interval']:5.3f} {r['duration']:5.3f} {r['classifier_acc']:8.3f} "
                f"{r['copy_rate']:6.3f}" if "classifier_acc" in r else f"{'too few usable melodies to judge':>32s}")
        print(f"{name:36s} {r['usable']:3d}/{r['of']:<3d} {figs}  {note}")
    summary = medians(results, groups) if len(model_seeds) > 1 else {}
    if summary:
        print(f"\nmedian over model seeds {','.join(map(str, model_seeds))}:")
        for name, r in summary.items():
            figs = (f"{r['pitch_class']:5.3f} {r['interval']:5.3f} {r['duration']:5.3f} {r['classifier_acc']:8.3f} "
                    f"{r['copy_rate']:6.3f}  clf {r['classifier_accs']}" if "classifier_acc" in r
                    else f"{'too few usable melodies to judge':>32s}")
            print(f"{name:36s} {r['usable']:5.1f}/{r['of']:<3d} {figs}")
    print(f"targets: usable >= 57/60, pc >= 0.90, intv >= 0.85, dur >= 0.85, classifier <= 0.70 (aim 0.62) and below "
          f"order-2 Markov, copy <= 0.05 (200 tunes); {args.seconds:.0f} CPU s training per model, "
          f"{args.threads} torch thread(s), total {time.time() - t0:.0f}s wall")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "tunes": len(tunes), "results": results, "medians": summary},
                                        indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
