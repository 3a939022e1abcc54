"""The studio's performance suite: every benchmark in one run, one table, one JSON line (`make bench`).

    python benchmarks/run_all.py                      # the full suite (slow; run it on a quiet machine)
    python benchmarks/run_all.py --quick              # small sizes, 1-2 repeats: a smoke test
    python benchmarks/run_all.py --only startup,generate --json
    python benchmarks/run_all.py --device auto        # torch figures on a CUDA GPU when one is present

Each benchmark script runs as a child process with --json; its figures are collected into a table
(figure, median, min/median/max, target, pass/FAIL, device). A script that is missing, fails or
times out gives null figures with the reason; the suite always finishes. With --json the last line
of stdout is one JSON object: every figure's median (or null) as a top-level key, plus `figures`
(the details), `machine` and `settings`. Benchmarks: startup, train, latent_grid, onnx, import,
generate, text_stream, memory. Exit status 0 (also with failed targets, unless --strict), 2 for a usage error.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import emit_json, last_json, machine_info, run_with_timeout, spread, studio_env  # noqa: E402

BENCHES = ("startup", "train", "latent_grid", "onnx", "import", "generate", "text_stream", "memory")
# figure -> (target, "<=" or ">=", benchmark that produces it); None target = informational
FIGURES = {
    "first_paint_s": (1.0, "<=", "startup"),
    "train_throughput_vs_raw_loop": (0.95, ">=", "train"),
    "ui_frame_p99_ms_while_training": (16.0, "<=", "train"),
    "latent_grid_fps": (60.0, ">=", "latent_grid"),
    "latent_grid_latency_p95_ms": (33.0, "<=", "latent_grid"),
    "onnx_vs_torch_generate_speedup": (1.5, ">=", "onnx"),
    "image_import_vs_raw_pillow": (0.8, ">=", "import"),
    "text_tokens_per_s": (None, ">=", "generate"),
    "melody_generate_ms_64_steps": (None, "<=", "generate"),
    "text_panel_vs_core": (0.8, ">=", "text_stream"),
    "peak_rss_mb_demo_open": (None, "<=", "memory"),
    "peak_rss_mb_training_image": (None, "<=", "memory"),
}


class BenchError(Exception):
    """A sub-benchmark could not give its figures; the message is the reason shown in the table."""


@dataclass
class Figure:
    key: str
    median: float | None = None
    min: float | None = None
    max: float | None = None
    n: int = 0
    device: str = ""
    source: str = ""
    reason: str = ""     # why the value is null (missing script, error, timeout)
    note: str = ""
    target: float | None = None
    op: str = ">="
    passed: bool | None = field(default=None)

    def judge(self) -> None:
        self.target, self.op, _ = FIGURES.get(self.key, (None, ">=", ""))
        if self.median is None or self.target is None:
            self.passed = None
        else:
            self.passed = self.median <= self.target if self.op == "<=" else self.median >= self.target


@dataclass
class Suite:
    repeats: int
    quick: bool
    device: str            # cpu or cuda, already resolved
    timeout: float
    tmp: Path
    _help: dict = field(default_factory=dict)

    def supports(self, script: str, flag: str) -> bool:
        """Whether ``script --help`` lists ``flag`` (so optional flags are passed only to scripts that take them)."""
        if script not in self._help:
            try:
                res = run_with_timeout([sys.executable, str(HERE / script), "--help"], 120, env=self.env())
                self._help[script] = res.stdout if res.returncode == 0 else ""
            except subprocess.TimeoutExpired:
                self._help[script] = ""
        return flag in self._help[script]

    def env(self) -> dict:
        return studio_env(self.tmp, PYTHONUNBUFFERED="1")

    def call(self, script: str, argv: list[str], timeout: float | None = None) -> dict:
        """Run ``benchmarks/script argv --json``; its JSON last line, or BenchError with the reason."""
        path = HERE / script
        if not path.is_file():
            raise BenchError(f"missing: benchmarks/{script} does not exist yet")
        limit = timeout or self.timeout
        cmd = [sys.executable, str(path), *argv, "--json"]
        try:
            res = run_with_timeout(cmd, limit, env=self.env(), cwd=HERE.parent)
        except subprocess.TimeoutExpired:
            raise BenchError(f"timeout: benchmarks/{script} ran past {limit:.0f} s") from None
        if res.returncode != 0:
            tail = " | ".join((res.stderr or res.stdout).strip().splitlines()[-2:])[-300:]
            raise BenchError(f"error: benchmarks/{script} exited with status {res.returncode}: {tail}")
        try:
            return last_json(res.stdout)
        except ValueError as exc:
            raise BenchError(f"error: benchmarks/{script}: {exc}") from None

    def repeated(self, script: str, argv: list[str], pickers: dict[str, Callable[[dict], float | None]],
                 runs: int | None = None) -> tuple[dict[str, dict], list[dict], str]:
        """Run a script that has no --repeats ``runs`` times; the spread of each picked value."""
        objs, errors = [], []
        for _ in range(runs or self.repeats):
            try:
                objs.append(self.call(script, argv))
            except BenchError as exc:
                errors.append(str(exc))
        if not objs:
            raise BenchError(errors[0])
        stats = {key: spread(pick(o) for o in objs) for key, pick in pickers.items()}
        note = f"{len(errors)} of {len(errors) + len(objs)} runs failed: {errors[0]}" if errors else ""
        return stats, objs, note


def fig(key: str, stats: dict, device: str, source: str, note: str = "") -> Figure:
    if not stats.get("n"):
        return Figure(key, device=device, source=source, reason=f"error: benchmarks/{source} gave no {key}", note=note)
    return Figure(key, stats["median"], stats["min"], stats["max"], stats["n"], device, source, note=note)


def _find(obj: dict, names: tuple[str, ...]):
    for name in names:  # the first plain number (a nested spread dict is read by _spread_of)
        val = obj.get(name)
        if isinstance(val, (int, float)) and not isinstance(val, bool):
            return val
    return None


def _spread_of(obj: dict, names: tuple[str, ...]) -> dict:
    """A figure's spread from a script that repeats by itself: the first {median,min,max} dict among ``names``,
    else the first plain number (with ``NAME_min``/``NAME_max`` when the script gives them)."""
    for name in names:
        val = obj.get(name)
        if isinstance(val, dict) and val.get("median") is not None:
            return {"median": val["median"], "min": val.get("min", val["median"]),
                    "max": val.get("max", val["median"]), "n": val.get("n") or obj.get("repeats") or 1}
    for name in names:
        val = obj.get(name)
        if isinstance(val, (int, float)) and not isinstance(val, bool):
            return {"median": val, "min": obj.get(f"{name}_min", val), "max": obj.get(f"{name}_max", val),
                    "n": obj.get("repeats") or 1}
    return {"n": 0}


# -- the benchmarks ----------------------------------------------------------------------
def bench_startup(s: Suite) -> list[Figure]:
    out = s.call("startup.py", ["--repeats", str(s.repeats)])
    stats = {"median": out["first_paint_s"], "min": out.get("first_paint_min_s", out["first_paint_s"]),
             "max": out.get("first_paint_max_s", out["first_paint_s"]), "n": out.get("repeats", s.repeats)}
    f = fig("first_paint_s", stats, "cpu", "startup.py", f"Qt platform {out.get('platform', '?')}")
    if out.get("torch_before_paint"):
        f.note += "; torch was imported before the first paint (a target breach)"
    return [f]


# The names each train script uses (train_overhead_gui.py: gui_*, ui_lateness_*; train_overhead.py:
# `ratio_child`, the engine in a child process as the window trains); the first present wins.
THROUGHPUT = ("gui_train_throughput_vs_raw_loop", "train_throughput_vs_raw_loop", "ratio_child", "ratio_in_process")
FRAMES = ("ui_frame_p99_ms_while_training", "ui_lateness_p99_ms", "ui_frame_p99_ms")


def bench_train(s: Suite) -> list[Figure]:
    """Engine vs raw loop with the GUI live (train_overhead_gui.py) or, failing that, headless (train_overhead.py)."""
    figures = {}
    reasons = []
    for script, live in (("train_overhead_gui.py", True), ("train_overhead.py", False)):
        if all(k in figures for k in ("train_throughput_vs_raw_loop", "ui_frame_p99_ms_while_training")):
            break
        if not (HERE / script).is_file():
            reasons.append(f"missing: benchmarks/{script} does not exist yet")
            continue
        argv = ["--seconds", "5"] if s.quick and s.supports(script, "--seconds") else []
        if s.supports(script, "--device"):
            argv += ["--device", s.device]
        device = s.device if s.supports(script, "--device") else "cpu"
        try:
            if s.supports(script, "--repeats"):
                obj = s.call(script, argv + ["--repeats", str(s.repeats)])
                stats = {"tp": _spread_of(obj, THROUGHPUT), "ui": _spread_of(obj, FRAMES)}
                note = ""
            else:
                stats, objs, note = s.repeated(script, argv, {"tp": lambda o: _find(o, THROUGHPUT),
                                                              "ui": lambda o: _find(o, FRAMES)})
                obj = objs[0]
        except BenchError as exc:
            reasons.append(str(exc))
            continue
        device = obj.get("device", device)
        note = "; ".join(x for x in (note, "window open, loss plot live" if live else "headless: engine vs raw loop with no window open") if x)
        if "train_throughput_vs_raw_loop" not in figures and stats["tp"].get("n"):
            figures["train_throughput_vs_raw_loop"] = fig("train_throughput_vs_raw_loop", stats["tp"], device, script, note)
        if "ui_frame_p99_ms_while_training" not in figures and stats["ui"].get("n"):
            figures["ui_frame_p99_ms_while_training"] = fig("ui_frame_p99_ms_while_training", stats["ui"], device,
                                                            script, note)
    why = "; ".join(reasons) or "no train benchmark reported it"
    return [figures.get(k) or Figure(k, reason=why) for k in ("train_throughput_vs_raw_loop",
                                                               "ui_frame_p99_ms_while_training")]


def bench_latent_grid(s: Suite) -> list[Figure]:
    argv = ["--untrained", "--seconds", "3" if s.quick else "20"]
    stats, objs, note = s.repeated("latent_grid.py", argv, {"fps": lambda o: o.get("fps"),
                                                            "p95": lambda o: o.get("latency_p95_ms")})
    backends = sorted({str(o.get("backend")) for o in objs})
    note = "; ".join(x for x in (f"untrained default VAE, backend {','.join(backends)}", note) if x)
    return [fig("latent_grid_fps", stats["fps"], "cpu", "latent_grid.py", note),
            fig("latent_grid_latency_p95_ms", stats["p95"], "cpu", "latent_grid.py", note)]


def bench_onnx(s: Suite) -> list[Figure]:
    # 64 px: the size `studio import` gives images by default. fp32 is what the studio's sessions run.
    argv = ["--plugins", "vae", "--batch", "64", "--image-size", "64", "--seconds", "0.5" if s.quick else "5"]

    def row(o: dict) -> dict:
        return next((r for r in o.get("results", []) if r.get("plugin") == "vae" and r.get("batch") == 64), {})
    stats, objs, note = s.repeated("onnx_speed.py", argv, {"fp32": lambda o: row(o).get("fp32_speedup"),
                                                           "int8": lambda o: row(o).get("int8_speedup")})
    extra = f"vae decoder, batch 64, 64 px, fp32 ({objs[0].get('threads')} threads); int8 median {stats['int8']['median']}x"
    return [fig("onnx_vs_torch_generate_speedup", stats["fp32"], "cpu", "onnx_speed.py",
                "; ".join(x for x in (extra, note) if x))]


def bench_import(s: Suite) -> list[Figure]:
    n = 300 if s.quick else 10_000
    obj = s.call("import_images.py", ["--n", str(n), "--repeats", str(s.repeats)])
    stats = spread(obj.get("ratios") or [obj.get("ratio")])
    stats["median"] = obj.get("ratio")  # the script's own ratio of medians
    note = (f"{n} images, {obj.get('executor')}; raw {obj.get('raw_images_per_s')} vs studio "
            f"{obj.get('studio_images_per_s')} images/s")
    return [fig("image_import_vs_raw_pillow", stats, "cpu", "import_images.py", note)]


def bench_generate(s: Suite) -> list[Figure]:
    argv = ["--repeats", str(s.repeats), "--device", s.device, "--tokens", "100" if s.quick else "500"]
    obj = s.call("generate_speed.py", argv)
    dev = obj.get("device", s.device)
    return [fig("text_tokens_per_s", obj.get("text", {}), dev, "generate_speed.py",
                f"tiny-gpt default, {obj.get('text', {}).get('tokens')} tokens, KV cache"),
            fig("melody_generate_ms_64_steps", obj.get("melody", {}), dev, "generate_speed.py", "melody-rnn default")]


def bench_text_stream(s: Suite) -> list[Figure]:
    """Text panel streaming vs headless generation of the demo's text run (CPU, in one process)."""
    argv = ["--repeats", str(s.repeats), "--length", "200" if s.quick else "500"]
    obj = s.call("text_stream.py", argv)
    stats = dict(obj.get("ratios") or {})
    stats["median"] = obj.get("text_panel_vs_core")  # the script's ratio of medians
    note = (f"{obj.get('plugin')} {Path(str(obj.get('run'))).name}, {obj.get('length')} characters: panel "
            f"{obj.get('panel_chars_per_s', {}).get('median')} vs core {obj.get('core_chars_per_s', {}).get('median')} "
            f"chars/s; {obj.get('ui_updates', {}).get('median')} view updates")
    return [fig("text_panel_vs_core", stats, "cpu", "text_stream.py", note)]


def bench_memory(s: Suite) -> list[Figure]:
    argv = ["--repeats", str(s.repeats), "--seconds", "5" if s.quick else "30", "--device", s.device]
    obj = s.call("memory.py", argv)
    base = f"python+torch alone {obj.get('baseline_torch_import_mb')} MB"
    train = obj.get("training_image", {})
    return [fig("peak_rss_mb_demo_open", obj.get("demo_open", {}), "cpu", "memory.py", base),
            fig("peak_rss_mb_training_image", train, train.get("device", s.device), "memory.py",
                f"vae default, {train.get('seconds')} s; {base}")]


RUNNERS = {"startup": bench_startup, "train": bench_train, "latent_grid": bench_latent_grid, "onnx": bench_onnx,
           "import": bench_import, "generate": bench_generate, "text_stream": bench_text_stream,
           "memory": bench_memory}


# -- report -------------------------------------------------------------------------------
def _num(v) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def print_table(figures: list[Figure]) -> None:
    rows = [("figure", "value", "min / median / max", "target", "result", "device")]
    for f in figures:
        result = "n/a" if f.reason else ("info" if f.passed is None else "pass" if f.passed else "FAIL")
        target = "-" if f.target is None else f"{f.op} {f.target:g}"
        mmm = "-" if f.median is None else f"{_num(f.min)} / {_num(f.median)} / {_num(f.max)} (n={f.n})"
        rows.append((f.key, _num(f.median) if f.median is not None else "null", mmm, target, result, f.device or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    notes = [f for f in figures if f.reason or f.note]
    if notes:
        print()
    for f in notes:
        print(f"  {f.key}: {f.reason or f.note}" + (f" ({f.note})" if f.reason and f.note else ""))


def parse_names(text: str | None, option: str) -> list[str]:
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        raise ValueError(f"{option}: unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    return names


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes and 2 repeats: a smoke test, noisy figures")
    ap.add_argument("--repeats", type=int, default=None, help="repeats per figure (default 5; 2 with --quick)")
    ap.add_argument("--only", help=f"comma-separated benchmarks to run ({','.join(BENCHES)})")
    ap.add_argument("--skip", help="comma-separated benchmarks to leave out")
    ap.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                    help="where torch figures run: cpu (default, the reference), cuda, or auto (cuda when present)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds before one script is given up (default "
                                                                 "1800; 240 with --quick)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target fails or a figure is missing")
    ap.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = ap.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        ap.error("--repeats must be at least 1")
    try:
        only, skip = parse_names(args.only, "--only"), parse_names(args.skip, "--skip")
    except ValueError as exc:
        ap.error(str(exc))
    chosen = [b for b in BENCHES if (not only or b in only) and b not in skip]

    machine = machine_info(args.device != "cpu")
    device = args.device
    if device == "auto":
        device = "cuda" if machine["cuda_available"] else "cpu"
    elif device == "cuda" and not machine["cuda_available"]:
        print(f"run_all: --device cuda, but torch {machine['torch']} sees no CUDA GPU here; available: cpu",
              file=sys.stderr)
        return 2
    repeats = args.repeats or (2 if args.quick else 5)
    timeout = args.timeout or (240.0 if args.quick else 1800.0)
    print(f"performance suite{' (quick: small sizes, noisy)' if args.quick else ''}: {', '.join(chosen)}; "
          f"{repeats} repeats; device {device}; {machine['cpu']}, {machine['cores']} cores, "
          f"load {machine['load_avg_at_start']}", flush=True)

    figures: list[Figure] = []
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as tmp:
        suite = Suite(repeats, args.quick, device, timeout, Path(tmp))
        interrupted = False
        for name in chosen:
            t0 = time.perf_counter()
            print(f"  {name} ...", end="", flush=True)
            try:
                if interrupted:
                    raise BenchError("interrupted: the suite was stopped (Ctrl-C) before this benchmark")
                got = RUNNERS[name](suite)
            except KeyboardInterrupt:  # keep what was measured; report the rest as interrupted
                interrupted = True
                got = [Figure(k, reason="interrupted: stopped (Ctrl-C) while it ran")
                       for k, v in FIGURES.items() if v[2] == name]
            except BenchError as exc:
                got = [Figure(k, reason=str(exc)) for k, v in FIGURES.items() if v[2] == name]
            except Exception as exc:  # noqa: BLE001 - a broken adapter is reported, never fatal to the suite
                got = [Figure(k, reason=f"error: run_all could not read {name}: {type(exc).__name__}: {exc}")
                       for k, v in FIGURES.items() if v[2] == name]
            seconds[name] = round(time.perf_counter() - t0, 1)
            print(f" {seconds[name]} s", flush=True)
            for f in got:
                f.source = f.source or name
                f.judge()
            figures += got
    got_keys = {f.key for f in figures}
    skipped = [Figure(k, source=v[2], reason=f"skipped: {v[2]} not chosen (--only/--skip)")
               for k, v in FIGURES.items() if k not in got_keys]
    for f in skipped:
        f.judge()
    print()
    print_table(figures)
    failed = [f for f in figures if f.reason or f.passed is False]
    figures += skipped  # in the JSON only, so every key is always there

    if args.json:
        obj = {f.key: f.median for f in figures}
        obj.update(figures={f.key: {k: v for k, v in asdict(f).items() if k != "key"} for f in figures},
                   machine=machine, settings={"quick": args.quick, "repeats": repeats, "device": device,
                                              "benchmarks": chosen, "seconds": seconds})
        emit_json(obj)
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
