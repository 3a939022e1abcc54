"""Helpers shared by the benchmarks: repeats with min/median/max, the JSON last line, the device
choice, and the peak resident memory (RSS) of a child process tree.

Only the standard library at import time: `run_all.py` imports this before anything heavy, and
the start-up benchmark must not pay for torch.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parents[1]


# -- repeats -----------------------------------------------------------------------
def spread(values: Iterable[float], digits: int = 3) -> dict:
    """``{"median", "min", "max", "n", "values"}`` of the finite values (all None when there are none)."""
    vals = [float(v) for v in values if v is not None and v == v]  # v == v drops NaN
    if not vals:
        return {"median": None, "min": None, "max": None, "n": 0, "values": []}
    return {"median": round(statistics.median(vals), digits), "min": round(min(vals), digits),
            "max": round(max(vals), digits), "n": len(vals), "values": [round(v, digits) for v in vals]}


def repeat(fn: Callable[[], float], repeats: int, warmup: int = 1, digits: int = 3) -> dict:
    """Call ``fn`` ``warmup`` times unmeasured, then ``repeats`` times; the spread of what it returned."""
    for _ in range(warmup):
        fn()
    return spread([fn() for _ in range(max(1, repeats))], digits)


# -- the JSON last line --------------------------------------------------------------
def emit_json(obj: dict) -> None:
    """Print ``obj`` as one JSON line, last, flushed (callers read the last line of stdout)."""
    sys.stdout.flush()
    print(json.dumps(obj, default=str), flush=True)


def last_json(text: str) -> dict:
    """The JSON object on the last non-empty line of a benchmark's stdout, or ValueError saying why not."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if not lines:
        raise ValueError("it printed nothing")
    try:
        obj = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"its last line is not JSON ({exc.msg}): {lines[-1][:120]!r}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"its last line is JSON but not an object: {lines[-1][:120]!r}")
    return obj


# -- devices -----------------------------------------------------------------------
def add_device_argument(parser) -> None:
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                        help="where torch runs: cpu (default, the reference figures), cuda, or auto "
                             "(cuda when present, else cpu); each figure records the device that gave it")


def resolve_device(choice: str) -> str:
    """``cpu`` or ``cuda`` (imports torch). ``cuda`` when none is present is an error in words."""
    if choice == "cpu":
        return "cpu"
    import torch

    has_cuda = torch.cuda.is_available()
    if choice == "auto":
        return "cuda" if has_cuda else "cpu"
    if not has_cuda:
        raise SystemExit(f"--device cuda: no CUDA GPU is visible to torch {torch.__version__}; use --device cpu or auto")
    return "cuda"


def cuda_present() -> bool:
    """Whether torch sees a CUDA GPU, asked in a child process so the caller never imports torch."""
    code = "import torch; print(int(torch.cuda.is_available()))"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        return out.stdout.strip().endswith("1")
    except (OSError, subprocess.TimeoutExpired):
        return False


def device_name(device: str) -> str:
    """A human label for the device: the GPU's name, or the CPU model and core count."""
    if device.startswith("cuda"):
        import torch
        return torch.cuda.get_device_name(0)
    return f"{cpu_model()} ({os.cpu_count()} cores)"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()


# -- peak RSS of a process tree ----------------------------------------------------------
def _status_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB of one process; (0, 0) once it has gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return rss, hwm


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, start time in clock ticks) for every process in /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()  # after "(comm)": state, ppid, ... starttime is 20th
            table[int(entry)] = (int(fields[1]), int(fields[19]))
        except (OSError, ValueError, IndexError):
            continue
    return table


def process_tree(root: int, table: dict[int, tuple[int, int]] | None = None) -> list[int]:
    """``root`` and every live descendant (found through the parent ids in /proc/*/stat)."""
    table = _proc_table() if table is None else table
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _start) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


@dataclass
class TreeRun:
    """What :func:`run_measuring_rss` saw."""
    returncode: int | None
    stdout: str
    stderr: str
    peak_tree_mb: float          # largest sum of VmRSS over the tree at one sample (children alive >= 1 interval)
    peak_process_mb: float       # largest VmHWM (kernel-tracked peak) of any one process of the tree
    seconds: float
    timed_out: bool = False
    processes: int = 0           # distinct processes seen in the tree
    samples: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def peak_mb(self) -> float:
        """The tree's peak: never below the single largest process's exact peak."""
        return max(self.peak_tree_mb, self.peak_process_mb)


def run_measuring_rss(cmd: list[str], env: dict | None = None, timeout: float = 600, interval: float = 0.05,
                      cwd: str | Path | None = None) -> TreeRun:
    """Run ``cmd`` to its end, sampling the RSS of its whole process tree every ``interval`` s.

    Linux /proc only (no psutil needed). Sampling misses spikes shorter than ``interval``, so each
    process's VmHWM (the kernel's own high-water mark) is read too, and for a single-process
    command ``getrusage(RUSAGE_CHILDREN)`` gives the exact peak after it has exited. Children are
    summed from their second sample on (see below); pages a forked child still shares with its
    parent are counted in both, as RSS always does.
    """
    if not Path("/proc/self/status").exists():
        raise RuntimeError("peak RSS needs Linux /proc (not available on this system)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak_tree = peak_proc = 0
    seen: set[int] = set()
    before_sample: set[tuple[int, int]] = set()
    samples = 0
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err, text=True, start_new_session=True)
        timed_out = False
        try:
            while proc.poll() is None:
                total, table = 0, _proc_table()
                now = {(pid, table.get(pid, (0, 0))[1]) for pid in process_tree(proc.pid, table)}
                for pid, started in now:
                    rss, hwm = _status_kb(pid)
                    peak_proc = max(peak_proc, hwm)
                    seen.add(pid)
                    # A child is summed only from its second sample on: between fork and exec it
                    # reports all of its parent's pages, which would count the parent twice.
                    if pid == proc.pid or (pid, started) in before_sample:
                        total += rss
                before_sample = now
                peak_tree = max(peak_tree, total)
                samples += 1
                if time.perf_counter() - start > timeout:
                    timed_out = True
                    _kill_group(proc)
                    break
                time.sleep(interval)
        except BaseException:  # Ctrl-C: the child has its own session, so it did not get the signal
            _kill_group(proc)
            raise
        proc.wait()
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    notes = []
    if after > before:  # a child of ours peaked higher than any earlier one: that peak is this run's
        peak_proc = max(peak_proc, after)
        notes.append("getrusage")
    return TreeRun(proc.returncode, stdout, stderr, peak_tree / 1024, peak_proc / 1024, seconds, timed_out,
                   len(seen), samples, notes)


def _kill_group(proc: subprocess.Popen) -> None:
    """Stop the command and its descendants (it runs in its own session, so its group is only its own)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_with_timeout(cmd: list[str], timeout: float, env: dict | None = None,
                     cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """``subprocess.run`` whose timeout also ends the command's children (GUI helpers, workers)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err, text=True, start_new_session=True)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out.seek(0)
            err.seek(0)
            raise subprocess.TimeoutExpired(cmd, timeout, output=out.read(), stderr=err.read()) from None
        except BaseException:  # Ctrl-C: the child has its own session, so it did not get the signal
            _kill_group(proc)
            raise
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())


def machine_info(ask_cuda: bool) -> dict:
    """The machine the figures came from; torch is imported (in a child) only when CUDA matters."""
    from importlib import metadata
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = None
    cuda = cuda_present() if ask_cuda else None  # None: not asked (--device cpu)
    mem = None
    try:
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "ram_gib": mem, "os": platform.platform(),
            "python": platform.python_version(), "torch": torch_version, "cuda_available": cuda,
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}



def studio_env(tmp: str | Path, **extra: str) -> dict:
    """Environment for a studio child: headless Qt, and settings/data kept out of the user's folders."""
    tmp = Path(tmp)
    env = dict(os.environ, STUDIO_CONFIG_DIR=str(tmp / "config"), STUDIO_DATA_DIR=str(tmp / "data"))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env
