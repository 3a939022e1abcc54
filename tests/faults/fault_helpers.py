"""Shared tools of the fault-injection suite (also used by ``benchmarks/faults_report.py``).

* :class:`Measure` bounds a refusal: wall time, Python allocation peak (tracemalloc) and the
  resident-set peak sampled by a thread (allocations in C/Rust that tracemalloc cannot see).
* :class:`Zygote` is a fork server: one child Python imports torch and the studio once, then forks a
  fresh process for each "studio" or trainer we want to kill, so 20 kills cost seconds, not minutes.
* :func:`fault_distribution` registers the toy plugins plus a plugin that raises on import.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures.plugin_dist import ROOT, TOY_ENTRY_POINTS, child_env, write_plugin_distribution

FAULT_ENTRY_POINTS = {**TOY_ENTRY_POINTS, "fault-broken": "tests.faults.fault_plugin_broken:plugin"}


def fault_distribution(folder: str | Path) -> tuple[Path, dict[str, str]]:
    """(dist folder, env for children) registering the toy plugins and ``fault-broken``."""
    folder = write_plugin_distribution(folder, dist="studio-faults", entry_points=FAULT_ENTRY_POINTS)
    return folder, child_env(folder)


def rss_bytes() -> int:
    """Resident set size of this process now (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class Measured:
    wall_s: float = 0.0
    py_peak: int = 0        # bytes, tracemalloc peak inside the block
    rss_growth: int = 0     # bytes, sampled RSS peak minus RSS at entry

    def describe(self) -> str:
        return f"{self.wall_s:.2f} s, Python peak {self.py_peak / 2**20:.1f} MiB, RSS +{self.rss_growth / 2**20:.1f} MiB"


class Measure:
    """``with Measure() as m: ...``; then ``m.result`` (a :class:`Measured`)."""

    def __init__(self, sample_s: float = 0.005, trace: bool = True):
        self.sample_s, self.trace = sample_s, trace
        self.result = Measured()
        self._stop = threading.Event()
        self._peak = 0

    def _sample(self) -> None:
        while not self._stop.wait(self.sample_s):
            self._peak = max(self._peak, rss_bytes())

    def __enter__(self) -> "Measure":
        self._start_rss = self._peak = rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        if self.trace:
            tracemalloc.start()
            tracemalloc.reset_peak()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.result.wall_s = time.perf_counter() - self._t0
        if self.trace:
            self.result.py_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, rss_bytes())
        self.result.rss_growth = max(0, self._peak - self._start_rss)


# -- the fork server ---------------------------------------------------------------------------
ZYGOTE = r"""
import importlib, json, os, sys
import torch
torch.set_num_threads(1)
torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])  # the first optimizer imports torch._dynamo (seconds)
import safetensors.torch, studio.cli, studio.cli.train_cmd, studio.core.training.loop, studio.core.project_store
from studio.core.plugins import registry
registry.discover()
for mod in sys.argv[1:]:
    importlib.import_module(mod)
out = sys.stdout
out.write("ready\n"); out.flush()
for line in sys.stdin:
    req = json.loads(line)
    if "wait" in req:
        _, status = os.waitpid(req["wait"], 0)
        rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        out.write(json.dumps({"rc": rc}) + "\n"); out.flush()
        continue
    fd_out = os.open(req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    fd_err = os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    pid = os.fork()
    if pid == 0:
        rc = 70
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0); os.dup2(fd_out, 1); os.dup2(fd_err, 2)
            sys.stdin = open(0, closefd=False)
            sys.stdout = open(1, "w", buffering=1, closefd=False)
            sys.stderr = open(2, "w", buffering=1, closefd=False)
            mod, _, fn = req["call"].partition(":")
            rc = int(getattr(importlib.import_module(mod), fn)(*req.get("args", [])) or 0)
        except BaseException:
            import traceback; traceback.print_exc()
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(rc)
    os.close(fd_out); os.close(fd_err)
    out.write(json.dumps({"pid": pid}) + "\n"); out.flush()
"""


class Zygote:
    """A warm Python that forks a child per :meth:`spawn`; children are reaped with :meth:`wait`."""

    def __init__(self, env: dict[str, str] | None = None, preload: tuple[str, ...] = ()):
        env = dict(env or os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        self.proc = subprocess.Popen([sys.executable, "-c", ZYGOTE, *preload], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.close()
            raise RuntimeError(f"the fork server did not start (said {line!r})")

    def _ask(self, req: dict) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fork server died")
        return json.loads(line)

    def spawn(self, call: str, args: list, stdout: str | Path, stderr: str | Path) -> int:
        """Fork a child running ``module:function(*args)``; its stdout/stderr go to files. Returns its pid."""
        return self._ask({"call": call, "args": [str(a) for a in args], "stdout": str(stdout),
                          "stderr": str(stderr)})["pid"]

    def wait(self, pid: int) -> int:
        """Reap ``pid``; returns its exit code, or minus the signal that ended it."""
        return self._ask({"wait": pid})["rc"]

    def kill(self, pid: int) -> int:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self.wait(pid)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "Zygote":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_events(path: str | Path) -> list[dict]:
    """JSON lines a child wrote (a line cut by SIGKILL is ignored)."""
    out = []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out
