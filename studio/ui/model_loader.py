"""The one way the window opens a run's model: ``studio.core.session.open_run`` off the UI thread.

``open_session`` is the worker-side step (open, check the modality and capabilities, say what went wrong
in words naming the run); :class:`ModelLoader` runs it on a daemon thread and emits ``loaded(ModelSession)``
or ``failed(str)``. Only the newest request is delivered, so restoring a file (which first opens the
newest checkpoint of its run, then the one the file names) always ends on the right model. Panels'
own job objects (Melody and Text) call ``open_session`` from their job thread so that one thread per
panel touches the model.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from studio.core.session import MissingCapability, ModelSession

log = logging.getLogger(__name__)

#: the adapter each modality's panels use, checked while loading so a wrong run fails there
ADAPTER_FOR = {"image": "latent", "melody": "melody", "text": "text"}
PICK_INSTEAD = {"image": "pick a run of a VAE or GAN",
                "melody": "pick a run of a melody model",
                "text": "pick a run of a text model (char-rnn, tiny-gpt or a text plugin)"}


class ModelLoadError(RuntimeError):
    """Opening a run failed; the message names the run and the reason."""


def open_session(run_dir: str | Path, checkpoint: Any = None, *, modality: str | None = None,
                 adapter: str | None = None, device: str = "cpu", hint: str | None = None) -> ModelSession:
    """Open ``run_dir`` (worker thread: reads and hashes the checkpoint). ``modality`` refuses a run of
    another kind; ``adapter`` ("latent", "text", "melody", "scorer") is built now so a run without the
    capability fails here, in words; ``hint`` (default: by modality) says what to pick instead."""
    run_dir = str(run_dir)
    try:
        from studio.core.session import open_run
        session = open_run(run_dir, checkpoint, device=device)
    except ImportError as exc:
        raise ModelLoadError(f"{run_dir}: this build cannot open runs ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - plugin code may raise anything; the panel shows it in words
        text = str(exc) or type(exc).__name__
        raise ModelLoadError(text if run_dir in text else f"{run_dir}: {text}") from exc
    if modality is not None and session.modality != modality:
        raise ModelLoadError(f"{run_dir}: a {session.modality} model ({session.plugin.name}), not a {modality} "
                             f"model; {PICK_INSTEAD.get(modality, '')}".rstrip("; "))
    if adapter is not None:
        try:
            getattr(session, adapter)
        except MissingCapability as exc:
            hint = hint if hint is not None else PICK_INSTEAD.get(modality or session.modality, "")
            raise ModelLoadError(f"{exc}; {hint}" if hint else str(exc)) from exc
    return session


class ModelLoader(QObject):
    """Loads runs on a daemon thread; ``loaded(ModelSession)`` / ``failed(str)`` for the newest request."""

    loaded = Signal(object)     # ModelSession (or what ``prepare`` made of it)
    failed = Signal(str)

    thread_name = "model-load"

    def __init__(self, parent=None, *, modality: str | None = None, adapter: str | None = None,
                 prepare: Callable[[ModelSession], Any] | None = None, hint: str | None = None):
        super().__init__(parent)
        self.modality, self.adapter, self.prepare, self.hint = modality, adapter, prepare, hint
        self._token = 0
        self._lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    # -- requests -------------------------------------------------------------------
    def load(self, run_dir: str | Path, checkpoint: Any = None, device: str = "cpu") -> int:
        """Open a run (None: its newest checkpoint); returns the request's token."""
        return self.submit(lambda: self._open(str(run_dir), checkpoint, device))

    def submit(self, work: Callable[[], Any]) -> int:
        """Run ``work()`` on a worker thread; its result is emitted by ``loaded`` if no newer request came."""
        with self._lock:
            self._token += 1
            token = self._token
        t = threading.Thread(target=self._run, args=(token, work), name=self.thread_name, daemon=True)
        self.threads = [x for x in self.threads if x.is_alive()] + [t]
        t.start()
        return token

    def is_current(self, token: int) -> bool:
        return token == self._token

    def busy(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def wait(self, timeout: float = 30.0) -> bool:
        """Join loads in flight (on close: a thread still inside torch at exit aborts the process);
        whatever finishes now is not delivered."""
        with self._lock:
            self._token += 1
        end = time.monotonic() + timeout
        for t in list(self.threads):
            t.join(max(0.0, end - time.monotonic()))
        return not self.busy()

    # -- worker side --------------------------------------------------------------------
    def _open(self, run_dir: str, checkpoint: Any, device: str) -> Any:
        session = open_session(run_dir, checkpoint, modality=self.modality, adapter=self.adapter, device=device,
                               hint=self.hint)
        return self.prepare(session) if self.prepare is not None else session

    def _run(self, token: int, work: Callable[[], Any]) -> None:
        try:
            result = work()
        except Exception as exc:  # noqa: BLE001 - reported in the panel, never raised into Qt
            log.warning("could not load the model: %s", exc)
            if token == self._token:
                self.failed.emit(str(exc))
            return
        if token == self._token:
            self.loaded.emit(result)
