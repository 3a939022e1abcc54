"""What Content Credentials (C2PA signing) add to an export: time and bytes, signed vs unsigned.

    python benchmarks/credentials_cost.py [--repeats 15] [--json]

For a 64x64 PNG, a 256x256 JPEG, a 2 s WAV and a 64-note MIDI, each written through the studio's own
writer (``save_image`` / ``save_audio`` / ``save_midi``) with signing on and off in the same run,
interleaved: the median time of each (after one warm-up), the ratio signed / unsigned, and the file
size added by the manifest (for MIDI: the size of the ``.c2pa`` sidecar). The studio's key is made
once in a temporary config folder before timing. The last line is one JSON object with --json.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import emit_json, spread  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="credentials-bench-"))
    os.environ["STUDIO_CONFIG_DIR"] = str(tmp / "config")

    import numpy as np

    from studio.core.export.audio import save_audio
    from studio.core.export.credentials import sidecar_path
    from studio.core.export.images import save_image
    from studio.core.export.midi import save_midi
    from studio.core.export.provenance import make_recipe

    rng = np.random.default_rng(0)
    recipe = make_recipe(plugin_id="vae", run_id="bench", seed=1, vector=rng.standard_normal(32))
    cases = {
        "png_64": (lambda p: save_image(rng.random((3, 64, 64)), p, recipe, overwrite=True), ".png"),
        "jpeg_256": (lambda p: save_image(rng.random((3, 256, 256)), p, recipe, overwrite=True), ".jpg"),
        "wav_2s": (lambda p: save_audio(rng.standard_normal(44100 * 2) * 0.1, p, recipe, overwrite=True), ".wav"),
        "midi_64": (lambda p: save_midi(list(rng.integers(0, 40, 64)), p, recipe, overwrite=True), ".mid"),
    }
    out: dict = {"repeats": args.repeats}
    for name, (write, ext) in cases.items():
        times: dict[str, list[float]] = {"on": [], "off": []}
        sizes: dict[str, int] = {}
        for i in range(args.repeats + 1):
            for mode in ("on", "off"):
                os.environ["STUDIO_CONTENT_CREDENTIALS"] = mode
                path = tmp / f"{name}-{mode}{ext}"
                start = time.perf_counter()
                write(path)
                if i:  # the first round warms up (imports, the key on first use)
                    times[mode].append((time.perf_counter() - start) * 1000)
                side = sidecar_path(path)
                sizes[mode] = path.stat().st_size + (side.stat().st_size if mode == "on" and side.exists() else 0)
        on, off = spread(times["on"]), spread(times["off"])
        out[name] = {"signed_ms": on, "unsigned_ms": off, "ratio": round(on["median"] / off["median"], 2),
                     "bytes_added": sizes["on"] - sizes["off"]}
        if not args.json:
            print(f"{name:9s} signed {on['median']:7.2f} ms  unsigned {off['median']:7.2f} ms  "
                  f"x{out[name]['ratio']:.2f}  +{out[name]['bytes_added']} bytes")
    if args.json:
        emit_json(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
