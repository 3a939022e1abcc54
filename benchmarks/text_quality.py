"""tiny-gpt on tiny-shakespeare: validation nats/char after a fixed wall-clock budget, and generation speed.

    python benchmarks/text_quality.py                 # the full benchmark: 90 s of training, 2 threads
    python benchmarks/text_quality.py --seconds 10    # a quick check that it runs
    python benchmarks/text_quality.py --set width=192 --set lr=2e-3   # try other settings

Reference: nanoGPT's CPU "baby GPT" (4 layers, 4 heads, 128 wide, context 64, batch 12, dropout 0)
reaches about 1.88 nats/char of validation loss in 90 s on a 2-core machine like the studio's.
The loop mirrors the engine: ``EngineOptimizers`` (AdamW) with ``TrainingData.random_batch`` and a
linear warm-up followed by cosine decay of the learning rate (engine settings ``optimizer=adamw``,
``warmup_steps``, ``schedule=cosine``); here the cosine runs over the wall-clock budget.
Numbers are noisy when other programs share the CPU: run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_TEXT = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
NANOGPT_BASELINE = 1.88


def parse_sets(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set {pair!r}: expected key=value")
        out[key.strip()] = value.strip()
    return out


def load_data(path: Path):
    import torch

    from studio.core.datasets import TrainingData
    from studio.core.plugins.api import DataSpec

    if not path.is_file():
        raise SystemExit(f"{path}: the benchmark text is missing")
    text = path.read_text(encoding="utf-8")
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    tokens = torch.tensor([index[c] for c in text], dtype=torch.long)
    return TrainingData.from_tensors(DataSpec(modality="text", vocab=vocab), tokens=tokens)  # 90 % / 10 %


def train(model, data, seconds: float, engine: dict, seed: int, log_every: float = 10.0) -> dict:
    import torch

    from studio.core.training.optim import EngineOptimizers, OptimSettings

    settings = OptimSettings(optimizer="adamw", lr=float(engine["lr"]), weight_decay=float(engine["weight_decay"]),
                             betas=(0.9, 0.99), grad_clip=float(engine["grad_clip"]))
    opt = EngineOptimizers(model, settings)
    warmup, batch, min_factor = int(engine["warmup_steps"]), int(engine["batch_size"]), 0.1
    g = torch.Generator().manual_seed(seed)
    model.train()
    step, start, next_log, loss = 0, time.perf_counter(), log_every, float("nan")
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
        progress = min(1.0, elapsed / seconds)
        cosine = min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * progress))
        opt.set_lr(factor=min(1.0, (step + 1) / max(warmup, 1)) * cosine)
        batch_t = data.random_batch("train", batch, g, seq_len=model.sequence_length)
        loss = model.training_step(batch_t, opt)["loss"]
        step += 1
        if elapsed >= next_log:
            print(f"  {elapsed:5.1f} s  step {step:5d}  loss {loss:.3f}  lr {opt.current_lr:.2e}", flush=True)
            next_log += log_every
    wall = time.perf_counter() - start
    return {"steps": step, "train_seconds": wall, "steps_per_s": step / wall, "last_train_loss": loss,
            "train_chars_per_s": step * batch * (model.sequence_length - 1) / wall}


def generation_speed(model, tokens: int, prime: list[int]) -> dict:
    import torch

    def rate(fn) -> float:
        t0 = time.perf_counter()
        fn()
        return tokens / (time.perf_counter() - t0)

    list(model.generate(prime, 20, seed=0))  # warm-up: first-call allocations are not generation speed
    cached = rate(lambda: list(model.generate(prime, tokens, temperature=0.8, seed=0)))
    exact = rate(lambda: list(model.generate(prime, tokens, temperature=0.8, seed=0, use_cache=False)))

    @torch.no_grad()
    def cropped():  # nanoGPT's generate: recompute the last `context` characters every step
        from studio.core.sampling import pick
        hist, g = list(prime), torch.Generator().manual_seed(0)
        for _ in range(tokens):
            logits = model(torch.tensor([hist[-model.context:]]))[0, -1]
            hist.append(int(pick(logits, temperature=0.8, generator=g)))

    return {"tokens": tokens, "kv_cache_tok_per_s": cached, "no_cache_window_tok_per_s": rate(cropped),
            "no_cache_full_tok_per_s": exact}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=90.0, help="training wall-clock budget")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--text", type=Path, default=DEFAULT_TEXT)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gen-tokens", type=int, default=500)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="tiny-gpt config or engine setting (lr, batch_size, warmup_steps, weight_decay, grad_clip)")
    ap.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = ap.parse_args(argv)

    import torch

    from studio_plugins.tiny_gpt import RECOMMENDED_ENGINE, Config, plugin
    from studio.core.plugins.api import config_from_dict, config_to_dict

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    sets = parse_sets(args.set)
    # the plugin's engine defaults, as the engine applies them; --set overrides either kind
    engine = {k: v for k, v in RECOMMENDED_ENGINE.items() if k not in ("optimizer", "schedule")}
    for key in list(sets):
        if key in engine:
            engine[key] = sets.pop(key)
    config = config_from_dict(Config, sets)
    data = load_data(args.text)
    model = plugin.build(config, data.spec)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"tiny-gpt {config_to_dict(config)}  engine {engine}  {n_params / 1e6:.2f} M parameters, "
          f"{args.threads} threads, {args.seconds:.0f} s", flush=True)
    result = train(model, data, args.seconds, engine, args.seed)
    t0 = time.perf_counter()
    ev = model.evaluate(data.iter_batches("val", 64, seq_len=model.sequence_length))
    result.update(val_nats_per_char=ev["nats_per_char"], val_bits_per_char=ev["bits_per_char"],
                  eval_seconds=time.perf_counter() - t0)
    result.update(generation_speed(model, args.gen_tokens, model.codec.encode("ROMEO:\n")))
    result.update(config=config_to_dict(config), engine=engine, parameters=n_params, threads=args.threads,
                  nanogpt_baseline=NANOGPT_BASELINE)
    print(f"\nvalidation: {result['val_nats_per_char']:.3f} nats/char ({result['val_bits_per_char']:.3f} bits/char)"
          f" after {result['steps']} steps in {result['train_seconds']:.0f} s "
          f"({result['train_chars_per_s']:.0f} training chars/s); nanoGPT baseline ~{NANOGPT_BASELINE}")
    print(f"generation of {args.gen_tokens} tokens: KV cache {result['kv_cache_tok_per_s']:.0f} tok/s, "
          f"no cache (window recompute, nanoGPT) {result['no_cache_window_tok_per_s']:.0f} tok/s, "
          f"no cache (exact full recompute) {result['no_cache_full_tok_per_s']:.0f} tok/s")
    print("sample:\n" + model.sample(1, seed=1, length=300, prime="ROMEO:\n", temperature=0.8)[0])
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
