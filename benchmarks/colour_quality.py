"""Colour image quality at 64 px: each image plugin against a naive loop, judged by a classifier two-sample test.

    python benchmarks/colour_quality.py --colour DIR [--seconds 600] [--plugins vae,dcgan,ddpm,vae-gan] [--json]

The colour set: if DIR holds no pictures, 600 tiles are cut from the two colour photographs
scikit-learn ships (china.jpg, flower.jpg; random squares of 48-192 px at random places,
randomly flipped, resized to 64 px) and written there as PNGs; a folder of your own
pictures is used as it is (resized to 64 px). Half the pictures train, the other half are
held out. No one here tuned anything on these pictures (the plugins were tuned on digits
and the demo shapes).

The test (issue 20): a logistic regression on fixed features (16x16 colour thumbnail,
per-channel colour histograms, gradient-magnitude histogram, Laplacian energy; see
``studio.core.originality.image_features``), 5-fold cross-validated, separates 300 samples
from 300 held-out real pictures: 0.5 = indistinguishable, 1.0 = told apart every time.
Calibration rows degrade real training pictures the way generators fail: none (real vs
real), down-sampled to 32 px and back, Gaussian blur sigma 1.

Each plugin trains the way `studio train` does (its engine defaults; ``--set`` for
overrides) for a fixed wall time; in the same run a naive loop of its family gets the same
time (the PyTorch examples' MLP VAE, DCGAN at 64 px, a plain conv DDPM; the naive GAN is
trained once and stands next to both GAN plugins).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.image_quality import run_plugin  # noqa: E402
from benchmarks.naive_images import N_SAMPLES, run_naive, save_sheet  # noqa: E402
from studio.core.datasets.training_data import TrainingData  # noqa: E402
from studio.core.originality import image_features  # noqa: E402
from studio.core.plugins.api import DataSpec  # noqa: E402

SIZE = 64
N_TILES = 600
PLUGINS = ("vae", "dcgan", "ddpm", "vae-gan")
FAMILY = {"vae": "vae", "dcgan": "gan", "vae-gan": "gan", "ddpm": "diffusion"}
PICTURES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
# the naive DCGAN: the PyTorch example at 64 px (100 noise numbers, bias-free convolutions, Tanh), ngf = ndf = 32
NAIVE_GAN = {"nz": 100, "bias": False, "tanh": True}


# -- the colour set ------------------------------------------------------------------
def build_tiles(folder: Path, n: int = N_TILES, seed: int = 0) -> None:
    """Cut ``n`` colour tiles from scikit-learn's sample photographs into ``folder``."""
    from PIL import Image
    from sklearn.datasets import load_sample_images
    rng = np.random.default_rng(seed)
    photos = [Image.fromarray(a) for a in load_sample_images().images]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = photos[i % len(photos)]
        side = int(rng.integers(48, 193))
        x, y = int(rng.integers(0, img.width - side + 1)), int(rng.integers(0, img.height - side + 1))
        tile = img.crop((x, y, x + side, y + side)).resize((SIZE, SIZE), Image.LANCZOS)
        if rng.random() < 0.5:
            tile = tile.transpose(Image.FLIP_LEFT_RIGHT)
        tile.save(folder / f"tile_{i:04d}.png")


def load_folder(folder: Path) -> torch.Tensor:
    """(N, 3, 64, 64) uint8 from every picture in ``folder`` (sorted by name)."""
    from PIL import Image
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in PICTURES)
    out = []
    for p in files:
        img = Image.open(p).convert("RGB").resize((SIZE, SIZE), Image.LANCZOS)
        out.append(torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1))
    return torch.stack(out)


def colour_data(folder: Path, seed: int = 0) -> TrainingData:
    if not folder.is_dir() or not any(p.suffix.lower() in PICTURES for p in folder.iterdir()):
        build_tiles(folder, seed=seed)
    images = load_folder(folder)
    perm = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    val = torch.zeros(len(images), dtype=torch.bool)
    val[perm[: len(images) // 2]] = True  # held out: what samples are compared with
    spec = DataSpec(modality="image", image_size=SIZE, channels=3)
    return TrainingData.from_tensors(spec, images=images, labels=torch.zeros(len(images), dtype=torch.long),
                                     val_mask=val)


# -- the classifier two-sample test -----------------------------------------------------
def two_sample_score(fake: torch.Tensor, real: torch.Tensor, seed: int = 0) -> float:
    """5-fold cross-validated accuracy of a logistic regression telling ``fake`` from ``real``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    n = min(len(fake), len(real))
    x = torch.cat([image_features(fake[:n]), image_features(real[:n])]).numpy()
    y = np.r_[np.ones(n), np.zeros(n)]
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    return round(float(cross_val_score(clf, x, y, cv=folds).mean()), 3)


def blur(x: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    r = int(3 * sigma + 0.5)
    k = torch.exp(-torch.arange(-r, r + 1, dtype=torch.float32) ** 2 / (2 * sigma ** 2))
    k = (k / k.sum()).to(x.dtype)
    c = x.shape[1]
    x = F.conv2d(F.pad(x, [r, r, 0, 0], mode="reflect"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, [0, 0, r, r], mode="reflect"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def calibration(train: torch.Tensor, held: torch.Tensor) -> dict:
    down = F.interpolate(F.interpolate(train, size=32, mode="bilinear", antialias=True, align_corners=False),
                         size=SIZE, mode="bilinear", align_corners=False).clamp(0, 1)
    return {"real_vs_real": two_sample_score(train, held), "down_up_32px": two_sample_score(down, held),
            "blur_sigma1": two_sample_score(blur(train).clamp(0, 1), held)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--colour", type=Path, required=True, metavar="DIR",
                    help="colour picture folder (built from scikit-learn's sample photos if it holds none)")
    ap.add_argument("--plugins", default=",".join(PLUGINS), help="comma list of image plugins")
    ap.add_argument("--seconds", type=float, default=600.0, help="training time per plugin and per naive loop")
    ap.add_argument("--steps", type=int, default=0,
                    help="train every model for this many steps instead of --seconds (a busy machine)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (the target machine has 2 cores)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="PLUGIN:KEY=VALUE",
                    help="a setting for one plugin, e.g. vae-gan:adversarial_weight=1")
    ap.add_argument("--no-baseline", action="store_true", help="skip the naive loops (tuning only)")
    ap.add_argument("--sheets", type=Path, help="write a PNG of 64 samples per model into this folder")
    ap.add_argument("--json", action="store_true", help="print one JSON object last")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    plugins = [p.strip() for p in args.plugins.split(",") if p.strip()]
    bad = [p for p in plugins if p not in PLUGINS]
    if bad:
        ap.error(f"unknown plugin {', '.join(bad)}; use some of {', '.join(PLUGINS)}")
    overrides: dict[str, dict] = {p: {} for p in plugins}
    for s in args.set:
        who, _, kv = s.partition(":")
        key, _, value = kv.partition("=")
        if who not in overrides or not key or not value:
            ap.error(f"--set {s!r}: use PLUGIN:KEY=VALUE for one of {', '.join(plugins)}")
        overrides[who][key] = value

    data = colour_data(args.colour, args.seed)
    t = data.tensors
    mask = t["val_mask"]
    train_x, held = t["images"][~mask].float() / 255, t["images"][mask].float() / 255
    n = min(N_SAMPLES, len(held))
    out = {"colour": str(args.colour), "pictures": {"train": len(train_x), "held_out": len(held)},
           "seconds": None if args.steps else args.seconds, "steps": args.steps or None, "threads": args.threads,
           "load_before": [round(v, 2) for v in os.getloadavg()],
           "calibration": calibration(train_x[:n], held[:n]), "plugins": {}, "naive": {}}
    if args.sheets:
        args.sheets.mkdir(parents=True, exist_ok=True)
    naive_done: dict[str, dict] = {}
    for pid in plugins:
        t0 = time.perf_counter()
        res = run_plugin(pid, data, args.seconds, args.seed, overrides[pid], max_steps=args.steps)
        samples = res.pop("samples")
        res["train_seconds"] = round(time.perf_counter() - t0 - res["sample_seconds"], 1)
        out["plugins"][pid] = {"score": two_sample_score(samples[:n], held[:n]), "steps": res["steps"],
                               "train_seconds": res["train_seconds"],
                               "sample_seconds": res["sample_seconds"], "engine": res["engine"],
                               "overrides": overrides[pid], "load": [round(v, 2) for v in os.getloadavg()]}
        if args.sheets:
            save_sheet(samples, args.sheets / f"{pid}.png")
        family = FAMILY[pid]
        if not args.no_baseline and family not in naive_done:
            base = run_naive(family, data, args.seconds, args.seed, args.steps, sample_batch=100, gan=NAIVE_GAN)
            naive_done[family] = {"score": two_sample_score(base["samples"][:n], held[:n]), "steps": base["steps"],
                                  "train_seconds": base["train_seconds"]}
            if args.sheets:
                save_sheet(base["samples"], args.sheets / f"naive-{family}.png")
        if family in naive_done:
            out["naive"][pid] = {"family": family, **naive_done[family]}
        print(f"{pid:>8}: {out['plugins'][pid]['score']:.3f} ({res['steps']} steps)"
              + (f"   naive {family}: {naive_done[family]['score']:.3f} ({naive_done[family]['steps']} steps)"
                 if family in naive_done else ""), flush=True)
    out["load_after"] = [round(v, 2) for v in os.getloadavg()]
    if args.json:
        print(json.dumps(out))
    else:
        c = out["calibration"]
        print(f"calibration: real vs real {c['real_vs_real']:.3f}, down/up from 32 px {c['down_up_32px']:.3f}, "
              f"blur sigma 1 {c['blur_sigma1']:.3f}   (0.5 = indistinguishable)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
