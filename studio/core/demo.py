"""The demo project that ``studio gui --demo`` (``make run``) opens: something works in the first minute.

It holds the small runs shipped in ``studio/resources/demo/runs/`` (trained by
``studio/resources/demo/train_demo_models.py`` on the studio's own demo data), so the
latent grid, melody playback and text generation work before anything is
trained. The demo datasets are imported on demand with
:func:`import_demo_datasets` (seconds: the melodies are parsed by music21),
which the window does in the background after it opens.

No Qt here. Runs the user deleted from the demo project are not brought back:
``project.json`` remembers which shipped runs were installed (key ``demo``).
"""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from studio.core import paths
from studio.core.fileio import atomic_write_json, read_json
from studio.core.project import PROJECT_FILE, Project
from studio.core.project_schema import ProjectError

log = logging.getLogger("studio.demo")

DEMO_NAME = "Demo project"
DEMO_KEY = "demo"  # project.json key: {"runs": [names installed], "datasets": {modality: ref}}
DATASET_NAMES = {"image": "demo-shapes", "melody": "demo-folk-melodies", "text": "demo-shakespeare"}


@dataclass
class DemoRun:
    name: str
    label: str
    plugin: str
    modality: str
    folder: Path
    import_options: dict[str, Any] = field(default_factory=dict)  # what the demo project imports
    opens_in: tuple[str, ...] = ()   # panels that open this run first


def shipped_runs_dir() -> Path:
    return paths.resources_dir() / "demo" / "runs"


def default_demo_folder() -> Path:
    return paths.data_dir() / "demo-project"


def shipped_runs(root: Path | None = None) -> list[DemoRun]:
    """The demo runs that ship with the studio (``runs/index.json``, else every folder holding a run.json)."""
    root = Path(root) if root else shipped_runs_dir()
    entries: list[dict[str, Any]] = []
    try:
        entries = list(read_json(root / "index.json").get("runs", []))
    except (OSError, ValueError, AttributeError):
        entries = [{"name": p.name} for p in sorted(root.iterdir()) if (p / "run.json").is_file()] \
            if root.is_dir() else []
    runs = []
    for e in entries:
        folder = root / str(e.get("name", ""))
        if not (folder / "run.json").is_file():
            log.warning("demo run %s is listed in %s but missing", folder.name, root / "index.json")
            continue
        runs.append(DemoRun(name=folder.name, label=str(e.get("label") or folder.name),
                            plugin=str(e.get("plugin", "")), modality=str(e.get("modality", "")),
                            folder=folder,
                            import_options=dict(e.get("project_import_options") or e.get("import_options") or {}),
                            opens_in=tuple(e.get("opens_in") or ())))
    return runs


def _demo_state(project: Project) -> dict[str, Any]:
    state = project.extra.get(DEMO_KEY)
    if not isinstance(state, dict):
        state = {}
    state.setdefault("runs", [])
    state.setdefault("datasets", {})
    project.extra[DEMO_KEY] = state
    return state


def _install_runs(project: Project, runs: list[DemoRun]) -> list[str]:
    """Copy shipped runs not installed before into ``runs/``; returns the refs added."""
    state = _demo_state(project)
    added = []
    for run in runs:
        if run.name in state["runs"]:
            continue  # installed once: if the user deleted it, it stays deleted
        dest = project.runs_dir / run.name
        if not (dest / "run.json").exists():
            tmp = project.runs_dir / f".{run.name}.copying"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(run.folder, tmp)
            tmp.replace(dest)  # a half-copied run is never seen under its real name
        ref = project.add_run(dest)
        project.labels.setdefault(ref, run.label)
        state["runs"].append(run.name)
        added.append(ref)
    return added


def _pending(folder: Path, runs: list[DemoRun]) -> bool:
    try:
        project = Project.open(folder)
    except ProjectError:
        return True
    installed = _demo_state(project)["runs"]
    return any(r.name not in installed for r in runs)


def ensure_demo_project(folder: str | Path | None = None, *, datasets: bool = False,
                        runs_root: Path | None = None, progress: Callable | None = None) -> Project:
    """Create (or top up) the demo project at ``folder``; returns it (opened read-only, unlocked).

    Writes nothing when the project is already complete, so a demo open in
    another window, or one with a crash-recovery pending, is left to the GUI.
    ``datasets=True`` also imports the demo datasets (seconds; see :func:`import_demo_datasets`).
    """
    from studio.core.project_store import ProjectLockedError, ProjectSession

    folder = Path(folder) if folder else default_demo_folder()
    runs = shipped_runs(runs_root)
    if not runs:
        log.warning("no demo runs found in %s; run `make demo-models` to train them",
                    runs_root or shipped_runs_dir())
    if (folder / PROJECT_FILE).exists() and not _pending(folder, runs) and not datasets:
        return Project.open(folder)
    try:
        if (folder / PROJECT_FILE).exists():
            session = ProjectSession.open(folder)
        else:
            session = ProjectSession.create(folder, DEMO_NAME)
    except ProjectLockedError as exc:
        log.info("demo project not updated: %s", exc)
        return Project.open(folder)
    try:
        if session.recovery is not None:  # unsaved work to offer back first: the window asks
            session.close(save=False)
            return Project.open(folder)
        _install_runs(session.project, runs)
        if datasets:
            made = import_demo_datasets(folder, runs, progress=progress)
            add_demo_datasets(session.project, made)
        if session.dirty:
            session.save()
    finally:
        session.close(save=False)
    return Project.open(folder)


def import_demo_datasets(folder: str | Path, runs: list[DemoRun] | None = None, *,
                         progress: Callable | None = None, cancel=None) -> dict[str, Path]:
    """Import the demo sources the shipped runs were trained on into ``folder/datasets/``.

    Returns ``{modality: dataset folder}`` (existing ones are kept, not re-imported) and points
    each demo run's ``run.json`` at its dataset, so resuming or comparing works. Touches
    neither ``project.json`` nor the lock: add the folders with :func:`add_demo_datasets`.
    """
    from studio.core.datasets import import_demo

    folder = Path(folder)
    runs = shipped_runs() if runs is None else runs
    made: dict[str, Path] = {}
    for run in runs:
        modality = run.modality
        if modality not in DATASET_NAMES or modality in made:
            continue
        out = folder / "datasets" / DATASET_NAMES[modality]
        if not (out / "manifest.json").exists():
            options = {k: v for k, v in run.import_options.items()}
            import_demo(modality, out, progress=progress, cancel=cancel, **options)
        made[modality] = out
    for run in runs:
        dest = folder / "runs" / run.name
        if run.modality in made and (dest / "run.json").exists():
            _point_run_at(dest, made[run.modality])
    return made


CLI_KINDS = {"image": "demo-images", "melody": "demo-music", "text": "demo-text"}


def pending_dataset_imports(folder: str | Path, runs: list[DemoRun] | None = None) -> list[tuple[DemoRun, Path]]:
    """(run, dataset folder) for each demo dataset not imported yet into ``folder/datasets/``."""
    folder = Path(folder)
    out, seen = [], set()
    for run in shipped_runs() if runs is None else runs:
        if run.modality not in DATASET_NAMES or run.modality in seen:
            continue
        seen.add(run.modality)
        path = folder / "datasets" / DATASET_NAMES[run.modality]
        if not (path / "manifest.json").exists():
            out.append((run, path))
    return out


def import_command(run: DemoRun, out: Path, python: str) -> list[str]:
    """``studio import demo-…`` for one demo dataset, to run in a child process (the window's GIL stays free)."""
    cmd = [python, "-m", "studio", "import", CLI_KINDS[run.modality], "--out", str(out), "--quiet"]
    for key, value in run.import_options.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


def _point_run_at(run_dir: Path, dataset: Path) -> None:
    try:
        data = read_json(run_dir / "run.json")
        manifest = read_json(dataset / "manifest.json")
    except (OSError, ValueError) as exc:
        log.warning("could not link %s to its demo dataset: %s", run_dir, exc)
        return
    ds = data.get("dataset") or {}
    if ds.get("path"):
        return  # already linked (or the user moved it on purpose)
    data["dataset"] = {"path": str(dataset.resolve()), "fingerprint": ds.get("fingerprint") or
                       manifest.get("fingerprint", "")}
    atomic_write_json(run_dir / "run.json", data)


def add_demo_datasets(project: Project, made: dict[str, Path]) -> list[str]:
    """Record imported demo datasets in ``project`` (not saved); returns the refs that were new."""
    state = _demo_state(project)
    new = []
    for modality, path in made.items():
        if modality in state["datasets"]:
            continue  # added once: a user's delete sticks
        ref = project.add_dataset(path)
        state["datasets"][modality] = ref
        new.append(ref)
    return new


def demo_run_for(project: Project, modality: str, panel: str = "") -> Path | None:
    """The demo run of ``modality`` still in ``project`` that the window opens in ``panel``.

    A run listed for the panel (``opens_in``) comes first, then any run of the modality.
    """
    runs = [r for r in shipped_runs() if r.modality == modality]
    runs.sort(key=lambda r: panel not in r.opens_in)
    for run in runs:
        for ref in project.runs:
            if Path(ref).name == run.name and (project.resolve(ref) / "run.json").exists():
                return project.resolve(ref)
    return None


__all__ = ["DemoRun", "add_demo_datasets", "default_demo_folder", "demo_run_for", "ensure_demo_project",
           "import_command", "import_demo_datasets", "pending_dataset_imports", "shipped_runs", "shipped_runs_dir"]
