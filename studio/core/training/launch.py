"""Where a training the window starts runs: this computer, several local processes, or a cluster job.

    RunOn()                                  python -m studio train ...
    RunOn("processes", processes=2)          python -m torch.distributed.run --standalone --nproc_per_node=2
                                                 -m studio train ...       (DDP; rank 0 writes the run folder)
    RunOn("cluster", cluster=settings)       python -m studio train ... --submit slurm --partition P ...

The cluster settings (File › Preferences › Slurm cluster) live in ``cluster.json`` in the config
folder, like the other preferences, so they survive the window and other tools could read them.
No Qt here: the Models panel and ``TrainingProcess`` both use these functions.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE, PROCESSES, CLUSTER = "here", "processes", "cluster"
PREFS_FILE = "cluster.json"
INSTALL_HINT = "pip install 'generative-studio[cluster]'"


@dataclass(frozen=True)
class ClusterSettings:
    """What ``--submit`` needs; ``backend`` "local" runs the job through submitit's local executor
    (tests, or checking a setup on this computer before using the cluster)."""
    enabled: bool = False
    partition: str = ""
    gpus_per_node: int = 1
    nodes: int = 1
    time_limit: str = ""          # Slurm format: minutes, H:MM:SS or D-HH:MM:SS ("" = the partition's default)
    backend: str = "slurm"

    def problem(self) -> str:
        """Why these settings cannot be submitted, in words ("" when they can)."""
        from studio.core.training.submit import BACKENDS, SubmitError, parse_time

        if self.backend not in BACKENDS:
            return f"the job backend {self.backend!r} is not one of {', '.join(BACKENDS)}"
        if not 0 <= int(self.gpus_per_node) <= 64:
            return "GPUs per node must be between 0 and 64"
        if not 1 <= int(self.nodes) <= 4096:
            return "nodes must be between 1 and 4096"
        if self.backend == "local" and self.nodes != 1:
            return "a local job runs on this computer: nodes must be 1"
        if any(c.isspace() for c in self.partition):
            return f"the partition {self.partition!r} contains spaces"
        if self.time_limit:
            try:
                parse_time(self.time_limit)
            except SubmitError as exc:
                return str(exc).replace("--time ", "the time limit ")
        return ""


@dataclass(frozen=True)
class RunOn:
    """The Models panel's "Run on" choice."""
    kind: str = HERE
    processes: int = 1
    cluster: ClusterSettings = field(default_factory=ClusterSettings)


def submitit_available() -> bool:
    try:
        import submitit  # noqa: F401
    except ImportError:
        return False
    return True


def _prefs_path() -> Path:
    from studio.core import paths
    return paths.config_dir() / PREFS_FILE


def load_cluster_settings() -> ClusterSettings:
    """The saved settings; defaults (not enabled) when none were saved or the file cannot be read."""
    from studio.core.fileio import read_json

    path = _prefs_path()
    if not path.is_file():
        return ClusterSettings()
    try:
        value = read_json(path, max_bytes=64 * 1024)
    except (OSError, ValueError):
        return ClusterSettings()
    if not isinstance(value, dict):
        return ClusterSettings()
    defaults = asdict(ClusterSettings())
    kept = {}
    for key, default in defaults.items():  # a field of the wrong type falls back to its default
        v = value.get(key, default)
        kept[key] = v if type(v) is type(default) else default
    return ClusterSettings(**kept)


def save_cluster_settings(settings: ClusterSettings) -> None:
    from studio.core.fileio import atomic_write_json
    atomic_write_json(_prefs_path(), asdict(settings))


def cluster_problem(settings: ClusterSettings | None = None) -> str:
    """Why "Cluster (Slurm)" cannot be chosen now ("" when it can)."""
    settings = load_cluster_settings() if settings is None else settings
    if not submitit_available():
        return f"Handing runs to a cluster needs the submitit package: {INSTALL_HINT}"
    if not settings.enabled:
        return "Set up your Slurm cluster first: File › Preferences › Slurm cluster"
    problem = settings.problem()
    return f"The cluster settings in Preferences cannot be used: {problem}" if problem else ""


def on_gpus(device: str, gpu_count: int) -> bool:
    """Whether DDP processes for ``device`` ("auto", "cpu", "cuda:0"...) each take a GPU."""
    return device.startswith(("cuda", "rocm")) or (device == "auto" and gpu_count > 0)


def max_processes(device: str, gpu_count: int, cpu_count: int | None = None) -> int:
    """How many local DDP processes make sense: one per GPU on a GPU, else one per CPU core."""
    cpus = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    return max(gpu_count if on_gpus(device, gpu_count) else cpus, 1)


def launcher(python: str, run_on: RunOn) -> list[str]:
    """The start of the child command: the interpreter, or torchrun for several processes."""
    if run_on.kind == PROCESSES and run_on.processes > 1:
        # --standalone: a rendezvous on a free local port, so two such runs never collide
        return [python, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={int(run_on.processes)}",
                "-m", "studio", "train"]
    return [python, "-m", "studio", "train"]


def job_args(run_on: RunOn) -> list[str]:
    """``--submit`` and its options for a cluster run (nothing otherwise)."""
    if run_on.kind != CLUSTER:
        return []
    c = run_on.cluster
    args = ["--submit", c.backend]
    if c.partition:
        args += ["--partition", c.partition]
    if c.gpus_per_node:
        args += ["--gpus", str(int(c.gpus_per_node))]
    if c.nodes != 1:
        args += ["--nodes", str(int(c.nodes))]
    if c.time_limit:
        args += ["--time", c.time_limit]
    return args


def describe(run_on: RunOn) -> str:
    """One line for logs and the status bar."""
    if run_on.kind == PROCESSES:
        return f"{run_on.processes} processes on this computer"
    if run_on.kind == CLUSTER:
        c = run_on.cluster
        where = f"partition {c.partition}" if c.partition else "the default partition"
        return f"a {c.backend} job on {where} ({c.nodes} node(s) × {c.gpus_per_node} GPU(s))"
    return "this computer"


def resume_run_on(run: dict, device: str = "auto", gpu_count: int = 0) -> tuple[RunOn, str]:
    """How to continue a run the way it was trained: (the choice, a note when it cannot be the same).

    A submitted run goes back to the cluster when Preferences still allow it; a run of N DDP
    processes gets N again (capped at what this computer has); otherwise one process here.
    """
    sub = run.get("submission")
    if isinstance(sub, dict) and sub.get("job_id"):
        problem = cluster_problem()
        if not problem:
            return RunOn(CLUSTER, cluster=load_cluster_settings()), ""
        return RunOn(), f"it was a cluster job; continuing on this computer ({problem})"
    try:
        world = int(run.get("world_size") or 1)
    except (TypeError, ValueError):
        world = 1
    if world > 1:
        n = min(world, max_processes(device, gpu_count))
        note = "" if n == world else f"it was trained by {world} processes; this computer runs {n}"
        return (RunOn(PROCESSES, processes=n) if n > 1 else RunOn()), note
    return RunOn(), ""
