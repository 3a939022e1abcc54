"""Image import speed: the studio's importer vs a raw single-process Pillow decode+resize loop.

Writes N small PNG/JPEG images (default 10,000) to a temp folder, then in the same run
measures (median of --repeats):
  raw:    for each file: Image.open -> convert('RGB') -> ImageOps.fit(size) -> numpy
  studio: studio.core.datasets.images.import_images(folder, fresh_out_dir)  (fingerprint,
          parallel decode, report, safetensors write included; never a cache hit)
and prints images/s for both and the ratio (target >= 0.8 on a 2-core machine).
`--json` prints one JSON object on the last line. Use a small --n for a quick check.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_images(folder: Path, n: int, seed: int = 0) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    base = rng.integers(0, 255, (160, 160, 3), dtype=np.uint8)
    for i in range(n):
        w, h = int(rng.integers(72, 128)), int(rng.integers(72, 128))
        y, x = int(rng.integers(0, 160 - h)), int(rng.integers(0, 160 - w))
        im = Image.fromarray(base[y:y + h, x:x + w])
        if i % 4 == 3:
            im.save(folder / f"{i:06d}.jpg", quality=90)
        else:
            im.save(folder / f"{i:06d}.png", compress_level=1)


def raw_loop(folder: Path, size: int) -> float:
    import numpy as np
    from PIL import Image, ImageOps

    files = sorted(p for p in folder.iterdir() if p.is_file())
    start = time.perf_counter()
    out = []
    for p in files:
        with Image.open(p) as im:
            out.append(np.asarray(ImageOps.fit(im.convert("RGB"), (size, size), Image.Resampling.BICUBIC)))
    np.stack(out)
    return len(files) / (time.perf_counter() - start)


def studio_import(folder: Path, out: Path, size: int, workers: int | None, executor: str) -> tuple[float, str]:
    from studio.core.datasets.images import import_images

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    result = import_images([folder], out, size=size, workers=workers, executor=executor)
    elapsed = time.perf_counter() - start
    assert result.ok and not result.cached, result.skipped[:3]
    return result.accepted_count / elapsed, result.stats.get("executor", "?")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000, help="number of images (default 10,000)")
    ap.add_argument("--size", type=int, default=64, help="target square size")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None, help="decode workers (default: CPU count)")
    ap.add_argument("--executor", default="auto", choices=["auto", "process", "thread", "inline"])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="studio-bench-import-") as tmp:
        src, out = Path(tmp) / "images", Path(tmp) / "dataset"
        make_images(src, args.n)
        raw_loop(src, args.size)  # warm the page cache for both sides
        raw, studio, kinds = [], [], set()
        for _ in range(args.repeats):
            raw.append(raw_loop(src, args.size))
            ips, kind = studio_import(src, out, args.size, args.workers, args.executor)
            studio.append(ips)
            kinds.add(kind)
    r, s = statistics.median(raw), statistics.median(studio)
    result = {"n": args.n, "size": args.size, "repeats": args.repeats, "raw_images_per_s": round(r, 1),
              "studio_images_per_s": round(s, 1), "ratio": round(s / r, 3), "cpus": os.cpu_count(),
              "executor": ",".join(sorted(kinds)),
              # per repeat (studio and raw measured back to back), so a caller can show min/max
              "ratios": [round(b / a, 3) for a, b in zip(raw, studio)]}
    print(f"raw Pillow loop: {r:,.0f} images/s; studio import: {s:,.0f} images/s "
          f"({result['executor']}, {os.cpu_count()} CPUs); ratio {s / r:.2f} (target >= 0.8)")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
