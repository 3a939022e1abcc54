"""Scenario 9c (issue 21, items 6-8): the hostile inputs under a hard memory cap, and streaming generate.

Each case runs ``studio`` in a child whose address space is capped with ``RLIMIT_AS`` (set in
``preexec_fn``): a regression that allocates gigabytes then ends in MemoryError (or a kill) instead of
passing because the test machine happened to have the memory. The cap is measured, not guessed: the
``VmPeak`` of ``studio import`` and ``studio generate`` on tiny inputs (torch imported, a model loaded,
files written), plus :data:`MARGIN`. Every child reports its own ``VmPeak``/``VmHWM`` at exit, so the
report can say how close each case came. What the fixed code needs and what the old code needed:

* 45-byte MIDI primer (far note / tempo 0) via ``generate --prime``: was ~8.6 GB / ZeroDivisionError;
* 2.2 MB one-tune ABC via ``import music``: did not finish in 100 s;
* zip of 300 × 9.9 MB zero members via ``import images``: was 2.95 GB RSS;
* 32 MB text via ``import text``: was ~40× the file (1.3 GB), now ~0.6 GB VmPeak;
* ``generate --n 1000`` of 128×128 colour pictures: was +831 MiB for 1,280 (every sample held), now flat.
"""
from __future__ import annotations

import json
import random
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARGIN = 512 * 2**20  # over the measured baseline: room for the case's own work, far under what the bugs took
TIME_LIMIT_S = 120.0

# the child: run `studio ARGS` and print its VmPeak/VmHWM (kB) on stderr at exit (atexit: also after an error)
_CHILD = r"""
import atexit, runpy, sys
def _report():
    st = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
    print("STUDIO-MEMORY", st["VmPeak"].split()[0], st["VmHWM"].split()[0], file=sys.stderr, flush=True)
atexit.register(_report)
sys.argv = ["studio", *sys.argv[1:]]
runpy.run_module("studio", run_name="__main__")
"""


@dataclass
class Capped:
    """One capped run: exit code, output, wall time, and the child's peak address space / RSS (bytes)."""
    rc: int
    out: str
    err: str
    seconds: float
    vm_peak: int = 0
    rss_peak: int = 0
    problems: list[str] = field(default_factory=list)
    said: str = ""  # the line that holds the expected words

    @property
    def message(self) -> str:
        lines = [ln for ln in self.err.splitlines() if ln.strip() and not ln.startswith("STUDIO-MEMORY")]
        return self.said or (lines[-1] if lines else "")


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", STUDIO_CONTENT_CREDENTIALS="off", PYTHONFAULTHANDLER="1")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def run_studio(args: list, cap: int | None = None, timeout: float = TIME_LIMIT_S) -> Capped:
    """``studio ARGS`` in a child, its address space capped at ``cap`` bytes (None: uncapped)."""
    def limit():
        if cap is not None:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    t = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-c", _CHILD, *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, cwd=ROOT, env=_env(), preexec_fn=limit)
    except subprocess.TimeoutExpired as exc:
        return Capped(-9, str(exc.stdout or ""), str(exc.stderr or ""), time.monotonic() - t,
                      problems=[f"still running after {timeout:.0f} s (hang)"])
    res = Capped(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - t)
    m = re.search(r"STUDIO-MEMORY (\d+) (\d+)", proc.stderr)
    if m:
        res.vm_peak, res.rss_peak = int(m.group(1)) * 1024, int(m.group(2)) * 1024
    return res


def allocation_fails_under(cap: int) -> bool:
    """The cap is really in force: a child asking for ``cap`` bytes gets MemoryError."""
    probe = "try:\n    b = bytearray(%d)\nexcept MemoryError:\n    raise SystemExit(7)\n" % cap
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=60,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)))
    return proc.returncode == 7


# -- tiny inputs -----------------------------------------------------------------------------------------------
def tiny_run(folder: Path, plugin_id: str, config: dict, spec: dict) -> Path:
    """A run folder with one checkpoint of a freshly initialised small model (random weights: fine for I/O)."""
    import torch

    from studio.core.plugins.api import DataSpec, config_from_dict, config_to_dict
    from studio.core.plugins.registry import get_plugin
    from studio.core.training.checkpoints import save_checkpoint
    from studio.core.training.state import model_tensors

    plugin = get_plugin(plugin_id)
    cfg, data_spec = config_from_dict(plugin.Config, config), DataSpec(**spec)
    torch.manual_seed(0)
    model = plugin.build(cfg, data_spec)
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"id": folder.name, "plugin": {"id": plugin.id}, "status": "done",
                                                 "step": 1}))
    save_checkpoint(folder / "checkpoints", 1, model_tensors(model),
                    {"plugin": {"id": plugin.id, "version": plugin.version}, "config": config_to_dict(cfg),
                     "data_spec": data_spec.to_dict()})
    return folder


def melody_run(folder: Path) -> Path:
    return tiny_run(folder, "melody-rnn", {"layers": 1, "hidden": 16, "embed": 8},
                    {"modality": "melody", "phrase_length": 32, "min_pitch": 48, "max_pitch": 84})


def picture_run(folder: Path, size: int = 32, channels: int = 1) -> Path:
    return tiny_run(folder, "vae", {"latent_size": 4, "width": 8},
                    {"modality": "image", "image_size": size, "channels": channels})


def big_text(path: Path, mib: int = 32) -> Path:
    """``mib`` MiB of sentences with accented letters (a realistic character table, not one letter)."""
    rng = random.Random(1)
    words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "Ünïcode", "naïve", "café", "—",
             "«quoted»", "line\n"]
    lines = [" ".join(rng.choice(words) for _ in range(12)) + ".\n" for _ in range(4096)]
    block = "".join(lines).encode()
    with open(path, "wb") as fh:
        for _ in range(mib * 2**20 // len(block) + 1):
            fh.write(block)
    return path


# -- the cases -------------------------------------------------------------------------------------------------
def baseline(tmp: Path) -> dict[str, int]:
    """VmPeak (bytes) of the normal path on tiny inputs: ``import text`` and ``generate`` (pictures, melody)."""
    tmp.mkdir(parents=True, exist_ok=True)
    txt = tmp / "small.txt"
    txt.write_text("hello world, a small text. " * 40)
    pics, mel = picture_run(tmp / "pics-run"), melody_run(tmp / "mel-run")
    out: dict[str, int] = {}
    for name, args in (("import text", ["import", "text", txt, "--out", tmp / "ds", "--quiet"]),
                       ("generate pictures", ["generate", "--run", pics, "--out", tmp / "g1", "--n", 2]),
                       ("generate melody", ["generate", "--run", mel, "--out", tmp / "g2.mid", "--length", 16])):
        r = run_studio(args)
        if r.rc != 0 or not r.vm_peak:
            raise AssertionError(f"baseline {name} failed: exit {r.rc}: {r.err[-500:]}")
        out[name] = r.vm_peak
    return out


def _primer(path: Path, tpb: int, events: bytes) -> Path:
    from tests.faults.scenario_values import _midi

    path.write_bytes(_midi(tpb, events))
    return path


def case_midi_far_note(tmp: Path):
    from tests.faults.scenario_values import _vlq

    primer = _primer(tmp / "far.mid", 1, b"\x00\x90\x3c\x40" + _vlq(0x0FFFFFFF) + b"\x80\x3c\x00")
    return ["generate", "--run", melody_run(tmp / "run"), "--prime", primer, "--out", tmp / "o.mid"], {1, 2}, \
        "no melody is that long"


def case_midi_tempo_zero(tmp: Path):
    primer = _primer(tmp / "t0.mid", 96, b"\x00\xff\x51\x03\x00\x00\x00\x00\x90\x3c\x40\x60\x80\x3c\x00")
    return ["generate", "--run", melody_run(tmp / "run"), "--prime", primer, "--out", tmp / "o.mid",
            "--length", 16], {0}, ""


def case_abc_one_tune(tmp: Path):
    abc = tmp / "long.abc"
    abc.write_bytes(("X:1\nT:long\nM:4/4\nL:1/8\nK:C\n" + "CDEF GABc|\n" * 200_000).encode())
    return ["import", "music", abc, "--out", tmp / "ds", "--quiet"], {2}, "an abc tune may have"


def case_zip_members(tmp: Path):
    from tests.faults.scenario_values import _zip_of_zeros

    z = tmp / "many.zip"
    _zip_of_zeros(z, 300, 9_900_000)
    return ["import", "images", z, "--out", tmp / "ds", "--quiet"], {2}, "zip bomb"


def case_big_text(tmp: Path):
    return ["import", "text", big_text(tmp / "big.txt"), "--out", tmp / "ds", "--quiet"], {0}, ""


def case_generate_many(tmp: Path, n: int = 1000):
    def check() -> str | None:
        files = list((tmp / "out").glob("*.png"))
        return None if len(files) == n else f"{len(files)} files written, not {n}"
    return ["generate", "--run", picture_run(tmp / "run", 128, 3), "--out", tmp / "out", "--n", n], {0}, \
        f"{n:,}/{n:,} samples written", check


# (id, what, builder(tmp) -> (args, allowed exit codes, words the output must hold[, check() -> problem or None]))
CASES = [
    ("midi-primer-far-note", "45-byte MIDI primer, one note 0x0FFFFFFF ticks away (generate --prime)",
     case_midi_far_note),
    ("midi-primer-tempo-0", "MIDI primer with tempo 0 (generate --prime)", case_midi_tempo_zero),
    ("abc-2MB-one-tune", "2.2 MB one-tune ABC (import music)", case_abc_one_tune),
    ("zip-300-members", "zip of 300 × 9.9 MB zero members (import images)", case_zip_members),
    ("text-32MB", "32 MB text (import text)", case_big_text),
    ("generate-n-1000", "generate --n 1000 pictures of 128×128×3", case_generate_many),
]


def run_case(builder, tmp: Path, cap: int, time_limit: float = TIME_LIMIT_S) -> Capped:
    """Build the input, run it capped; ``problems`` lists what went wrong (empty: handled)."""
    tmp.mkdir(parents=True, exist_ok=True)
    args, codes, words, *check = builder(tmp)
    r = run_studio(args, cap, timeout=time_limit)
    if r.problems:
        return r
    text = r.err + r.out
    if "Traceback" in text or "MemoryError" in text or "Unable to allocate" in text:
        r.problems.append(f"crashed under the {cap / 2**20:.0f} MiB cap: {r.err[-400:]}")
    elif r.rc not in codes:
        r.problems.append(f"exit {r.rc} (expected {sorted(codes)}): {r.err[-400:]}")
    elif words and words not in text.lower():
        r.problems.append(f"the output does not say {words!r}: {r.message!r}")
    elif words:
        r.said = next(ln for ln in text.splitlines() if words in ln.lower()).replace(f"{tmp}/", "").strip()
    if not r.problems and check and (problem := check[0]()):
        r.problems.append(problem)
    if r.seconds > time_limit:
        r.problems.append(f"took {r.seconds:.0f} s (limit {time_limit:.0f} s)")
    return r
