"""Background jobs of the Melody panel: generating variations and loading a run's model.

Work runs on a Python thread; results come back through Qt signals (queued to
the UI thread), so the window never waits on torch. Cancel is checked between
tokens and between variations.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from PySide6.QtCore import Signal

from studio.ui.background_jobs import BackgroundJobs

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


def describe_capabilities(model) -> str:
    if hasattr(model, "generate"):
        return "continue"
    if hasattr(model, "decode"):
        return "latent"
    return "sample"


class MelodyJobs(BackgroundJobs):
    progress = Signal(int, int)          # done, total (tokens over all variations)
    variation = Signal(list, int)        # full event list, seed
    finished = Signal(bool)              # True when cancelled
    failed = Signal(str)
    # token, model, description, where it came from (plugin, run, checkpoint) or None, checkpoint step
    model_loaded = Signal(int, object, str, object, object)
    model_failed = Signal(int, str)      # token, message

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
            total = req.length * req.variations
            for i in range(req.variations):
                if self._cancel.is_set():
                    break
                seed = req.seed + i
                if hasattr(model, "generate"):
                    out = []
                    for tok in model.generate(req.primer, req.length, temperature=req.temperature, top_k=req.top_k,
                                              top_p=req.top_p, seed=seed):
                        out.append(int(tok))
                        if len(out) % 8 == 0:
                            self.progress.emit(i * req.length + len(out), total)
                        if self._cancel.is_set():
                            break
                    if self._cancel.is_set():
                        break
                    events = list(req.primer) + out
                else:
                    # a latent model writes whole phrases: chain them to reach the length
                    events = list(req.primer)
                    k = 0
                    while len(events) < len(req.primer) + req.length and not self._cancel.is_set():
                        phrase = model.sample(1, seed=seed * 1000 + k, temperature=req.temperature)
                        events += [int(e) for e in phrase[0].tolist()]
                        k += 1
                    events = events[:len(req.primer) + req.length]
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

    def _load(self, run_dir: str, checkpoint: str | None, token: int) -> None:
        try:
            try:
                from studio.core.training.checkpoints import load_model
            except ImportError as exc:
                raise RuntimeError(f"this build cannot load runs yet ({exc})") from exc
            model, plugin, info = load_model(run_dir, checkpoint=checkpoint)
            if getattr(plugin, "modality", "melody") != "melody":
                self.model_failed.emit(token, f"{run_dir}: a {plugin.modality} model, not a melody model")
                return
            source = None
            try:
                from studio.core.export.generate import run_source
                source = run_source(run_dir, plugin, info)  # goes into every export's recipe
            except (OSError, ValueError) as exc:
                log.warning("melody panel: cannot describe %s for exports: %s", run_dir, exc)
            name = f"{plugin.name} · {run_dir.rstrip('/').split('/')[-1]}"  # the full path is in the tooltip
            self.model_loaded.emit(token, model, name, source, getattr(info, "step", None))
        except Exception as exc:  # noqa: BLE001
            log.warning("melody panel: cannot load %s: %s", run_dir, exc)
            self.model_failed.emit(token, f"{run_dir}: {exc}")
