"""Opening the demo project (``studio gui --demo``, ``make run``): runs ready in the panels at once.

1. :func:`studio.core.demo.ensure_demo_project` copies the shipped demo runs into
   the demo project (a few MB, well under a second) before the project is opened.
2. When the panels are loaded, each explorer panel opens its demo run: the image
   VAE in the latent grid, the melody RNN in Melody, the text model in Text.
3. Once plugins are discovered, the demo datasets (shapes, folk songs, Shakespeare's
   text) are imported by child processes, then added to the project so training on
   them can start from the Datasets panel.
"""
from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Signal

from studio.core.demo import (DEMO_NAME, add_demo_datasets, default_demo_folder, demo_run_for, ensure_demo_project,
                              import_command, import_demo_datasets, pending_dataset_imports)

log = logging.getLogger("studio.demo")

#: panel key -> (modality of the demo run it opens, the panel's method that opens a run)
PANEL_RUNS = {"latent": ("image", "open_run"), "melody": ("melody", "open_run"), "text": ("text", "open_run")}


class DemoDatasets(QObject):
    """Imports the demo datasets in child processes (``studio import demo-…``), watched from a thread.

    A child process keeps music21's pure-Python parsing off the window's interpreter lock, so
    the window stays responsive. ``done`` carries ``{modality: folder}``.
    """

    done = Signal(dict)
    failed = Signal(str)

    def __init__(self, folder: Path, parent=None):
        super().__init__(parent)
        self.folder = Path(folder)
        self.cancelled = threading.Event()
        self.thread: threading.Thread | None = None
        self._proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._work, name="demo-datasets", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Cancel (on quit): the running import is terminated; its half-written folder is never used."""
        self.cancelled.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()

    def _work(self) -> None:
        try:
            for run, out in pending_dataset_imports(self.folder):
                if self.cancelled.is_set():
                    return
                self._proc = subprocess.Popen(import_command(run, out, sys.executable), stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE, text=True)
                _, err = self._proc.communicate()
                if self.cancelled.is_set():
                    return
                if self._proc.returncode != 0:
                    self.failed.emit(f"{out.name}: {(err or '').strip().splitlines()[-1:] or 'import failed'}")
            made = import_demo_datasets(self.folder)  # all imported by now: links the runs to them
        except Exception as exc:  # noqa: BLE001 - reported in words; the demo runs still work
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.done.emit({k: str(v) for k, v in made.items()})


def open_demo(actions, folder: Path | None = None) -> bool:
    """Prepare and open the demo project in ``actions.window``; False when it could not be opened."""
    folder = Path(folder) if folder else default_demo_folder()
    try:
        ensure_demo_project(folder)
    except Exception as exc:  # noqa: BLE001 - the window still opens; the project may be incomplete
        log.error("could not prepare the demo project in %s: %s", folder, exc)
    if not actions.open_folder(folder, create=True, name=DEMO_NAME):
        return False
    window = actions.window
    if getattr(window, "panels_done", False):
        open_demo_runs(window)
    else:
        window.panels_loaded.connect(lambda: open_demo_runs(window))
    _import_datasets_later(actions, folder)
    return True


def open_demo_runs(window) -> dict[str, str]:
    """Each explorer panel opens the demo run of its modality; returns ``{panel key: run folder}``."""
    project = window.ctx.project
    opened: dict[str, str] = {}
    if project is None:
        return opened
    for key, (modality, method) in PANEL_RUNS.items():
        panel = getattr(window, "panels", {}).get(key)
        run = demo_run_for(project, modality, key)
        opener = getattr(panel, method, None)
        if run is None or not callable(opener):
            continue
        try:
            opener(str(run))
            opened[key] = str(run)
        except Exception as exc:  # noqa: BLE001 - one panel's failure must not stop the others
            log.warning("%s panel could not open the demo run %s: %s", key, run.name, exc)
    dock = getattr(window, "docks", {}).get("latent")
    if "latent" in opened and dock is not None:
        dock.raise_()  # the first thing to try: drag across the grid of shapes
    return opened


def _import_datasets_later(actions, folder: Path) -> None:
    job = DemoDatasets(folder, parent=actions)
    actions._demo_datasets = job  # keep a reference while the thread runs

    def finished(made: dict) -> None:
        session = actions.session
        if session is None or session.folder.resolve() != folder.resolve():
            return  # the user opened something else meanwhile; the folders stay for next time
        added = add_demo_datasets(session.project, {k: Path(v) for k, v in made.items()})
        for ref in added:
            actions.ctx.dataset_added.emit(str(session.project.resolve(ref)))
        if added:
            actions._save_quietly()  # nothing for crash recovery to offer about the demo
            actions.ctx.project_changed.emit()
            actions.ctx.status_message.emit(f"Demo datasets ready: {len(added)} added to the project")

    job.done.connect(finished)
    job.failed.connect(lambda msg: log.warning("demo datasets could not be imported: %s", msg))
    app = QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(job.stop)
    window = actions.window
    # After torch is imported and plugins are found: start-up work comes first.
    if getattr(window, "discovery_done", True) or not hasattr(window, "discovery_finished"):
        job.start()
    else:
        window.discovery_finished.connect(job.start)
