"""Background jobs of the Melody panel: generating variations and loading a run's model.

Work runs on a Python thread; results come back through Qt signals (queued to
the UI thread), so the window never waits on torch. Cancel is checked between
tokens and between variations. Models are opened with ``studio.ui.model_loader.open_session``
(``studio.core.session.open_run``) and used only through the session's ``MelodySampler``, i.e. as
the plugin declares them (``continue`` streams and takes a primer; otherwise whole phrases).
"""
from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Signal

from studio.core.session import MelodySampler, MissingCapability, ModelSession
from studio.ui.background_jobs import BackgroundJobs
from studio.ui.model_loader import ModelLoadError, open_session
from studio.ui.panels.melody_copies import run_tunes, tunes_of_run

log = logging.getLogger(__name__)


@dataclass
class GenerationRequest:
    primer: list[int]            # events before the continuation point (may be empty)
    length: int                  # steps to generate
    variations: int = 1
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0
    params: dict = field(default_factory=dict)


#: the declared sampler of each model opened from a run (the panel holds the model; its plugin's
#: declaration travels with it here, so a model is never judged by the methods it happens to have)
_DECLARED: "weakref.WeakKeyDictionary[object, MelodySampler]" = weakref.WeakKeyDictionary()


def sampler_for(model) -> MelodySampler:
    """The :class:`MelodySampler` of a model opened from a run (as its plugin declares it), of a
    session, or - for a model handed in by code, with no plugin - of what the model offers."""
    if isinstance(model, MelodySampler):
        return model
    if isinstance(model, ModelSession):
        return model.melody
    try:
        return _DECLARED[model]
    except (KeyError, TypeError):
        return MelodySampler(model)


def describe_capabilities(model) -> str:
    """"continue", "latent" or "sample": what the model does with a request (see ``MelodySampler.mode``)."""
    try:
        return sampler_for(model).mode
    except MissingCapability:
        return "sample"


class MelodyJobs(BackgroundJobs):
    progress = Signal(int, int)          # done, total (tokens over all variations)
    variation = Signal(list, int)        # full event list, seed
    finished = Signal(bool)              # True when cancelled
    failed = Signal(str)
    # token, model, description, where it came from (plugin, run, checkpoint) or None, checkpoint step
    model_loaded = Signal(int, object, str, object, object)
    model_failed = Signal(int, str)      # token, message
    session_loaded = Signal(int, object)  # token, studio.core.session.ModelSession (before model_loaded)
    tunes_ready = Signal(int, object)    # token, RunTunes: meter, key, copy index (after model_loaded)

    thread_name = "melody-job"

    def _start(self, target, *args) -> None:
        self._spawn(target, *args)

    # -- generation ------------------------------------------------------------
    def generate(self, model, req: GenerationRequest) -> None:
        self._start(self._generate, model, req)

    def _generate(self, model, req: GenerationRequest) -> None:
        try:
            import torch
            torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
            sampler = sampler_for(model)
            total = req.length * req.variations
            for i in range(req.variations):
                if self._cancel.is_set():
                    break
                seed = req.seed + i
                def progress(done: int, i: int = i) -> None:
                    self.progress.emit(i * req.length + done, total)

                events = sampler.variation(req.primer, req.length, seed, temperature=req.temperature, top_k=req.top_k,
                                           top_p=req.top_p, stop=self._cancel.is_set, progress=progress)
                if self._cancel.is_set():
                    break
                self.progress.emit((i + 1) * req.length, total)
                self.variation.emit(events, seed)
            self.finished.emit(self._cancel.is_set())
        except Exception as exc:  # noqa: BLE001 - shown to the user, logged with traceback
            log.exception("melody generation failed")
            self.failed.emit(f"generation failed: {exc}")

    # -- model loading -------------------------------------------------------
    def load_run(self, run_dir: str, checkpoint: str | None = None, token: int = 0) -> None:
        """Open ``checkpoint`` of a run (None: the newest); the signals carry ``token`` so the panel
        can ignore the result of a request it has since replaced."""
        self._start(self._load, run_dir, checkpoint, token)

    def find_tunes(self, run_dir: str, token: int) -> None:
        """Read the run's training tunes again (``tunes_ready``), e.g. once its dataset was imported."""
        threading.Thread(target=lambda: self.tunes_ready.emit(token, tunes_of_run(run_dir)), name="melody-tunes",
                         daemon=True).start()

    def _load(self, run_dir: str, checkpoint: str | None, token: int) -> None:
        try:
            session = open_session(run_dir, checkpoint, modality="melody", adapter="melody")
        except ModelLoadError as exc:
            log.warning("melody panel: %s", exc)
            self.model_failed.emit(token, str(exc))
            return
        _DECLARED[session.model] = session.melody
        self.session_loaded.emit(token, session)
        name = f"{session.plugin.name} · {Path(run_dir).name}"  # the full path is in the tooltip
        self.model_loaded.emit(token, session.model, name, session.origin.recipe_source(session.plugin),
                               session.origin.checkpoint_step)
        self.tunes_ready.emit(token, run_tunes(session))  # after: the model is usable meanwhile
