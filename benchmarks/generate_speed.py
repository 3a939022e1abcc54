"""Generation speed a user feels: tiny-gpt characters per second and melody-rnn time for 64 steps.

    python benchmarks/generate_speed.py [--repeats 5] [--tokens 500] [--device cpu|cuda|auto] [--json]

Both models use their plugin's default settings, freshly initialised (speed does not depend on the
weights' values, so no run folder is needed):
  text_tokens_per_s            tiny-gpt `generate()` with the KV cache on, --tokens characters after
                               the prime "ROMEO:\\n" (vocabulary of tiny-shakespeare), temperature 0.8;
  melody_generate_ms_64_steps  melody-rnn `sample(1, length=64)` - one 4-bar melody, as the Generate
                               button makes it.
Each figure is the median of --repeats timed calls after one warm-up, with min and max.
The last line is one JSON object with --json.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import ROOT, add_device_argument, device_name, emit_json, repeat, resolve_device  # noqa: E402

TEXT = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"


def text_vocab() -> list[str]:
    """Tiny-shakespeare's characters (65), or printable ASCII when the file is absent (same size class)."""
    if TEXT.is_file():
        return sorted(set(TEXT.read_text(encoding="utf-8")))
    return [chr(c) for c in range(32, 127)] + ["\n"]


def text_speed(device: str, tokens: int, repeats: int) -> dict:
    from studio_plugins.tiny_gpt import Config, plugin
    from studio.core.plugins.api import DataSpec

    model = plugin.build(Config(), DataSpec(modality="text", vocab=text_vocab())).to(device).eval()
    prime = model.codec.encode("ROMEO:\n")

    def once() -> float:
        t0 = time.perf_counter()
        n = sum(1 for _ in model.generate(prime, tokens, temperature=0.8, seed=0, use_cache=True))
        _sync(device)
        return n / (time.perf_counter() - t0)

    out = repeat(once, repeats, warmup=1, digits=1)
    out.update(tokens=tokens, kv_cache=True, parameters=sum(p.numel() for p in model.parameters()))
    return out


def melody_speed(device: str, steps: int, repeats: int) -> dict:
    from studio_plugins.melody_rnn import Config, plugin
    from studio.core.plugins.api import DataSpec

    model = plugin.build(Config(), DataSpec(modality="melody", phrase_length=steps)).to(device).eval()

    def once() -> float:
        t0 = time.perf_counter()
        events = model.sample(1, seed=0, length=steps)
        _sync(device)
        if tuple(events.shape) != (1, steps):
            raise RuntimeError(f"melody-rnn sample gave shape {tuple(events.shape)}, expected (1, {steps})")
        return (time.perf_counter() - t0) * 1000

    out = repeat(once, repeats, warmup=1, digits=2)
    out.update(steps=steps, parameters=sum(p.numel() for p in model.parameters()))
    return out


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per figure (default 5)")
    ap.add_argument("--tokens", type=int, default=500, help="characters tiny-gpt writes per call (default 500)")
    ap.add_argument("--steps", type=int, default=64, help="melody length in 16th-note steps (default 64)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2, this machine's cores)")
    ap.add_argument("--only", choices=("text", "melody"), default=None, help="measure only one of the two")
    add_device_argument(ap)
    ap.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = resolve_device(args.device)
    result: dict = {"device": device, "device_name": device_name(device), "threads": args.threads,
                    "repeats": args.repeats, "torch": torch.__version__}
    if args.only in (None, "text"):
        text = text_speed(device, args.tokens, args.repeats)
        result["text_tokens_per_s"] = text["median"]
        result["text"] = text
        print(f"tiny-gpt, {args.tokens} characters with the KV cache on {device}: median {text['median']} tok/s "
              f"(min {text['min']}, max {text['max']}, {text['n']} runs)")
    if args.only in (None, "melody"):
        mel = melody_speed(device, args.steps, args.repeats)
        result[f"melody_generate_ms_{args.steps}_steps"] = mel["median"]
        result["melody"] = mel
        print(f"melody-rnn, one {args.steps}-step melody on {device}: median {mel['median']} ms "
              f"(min {mel['min']}, max {mel['max']}, {mel['n']} runs)")
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
