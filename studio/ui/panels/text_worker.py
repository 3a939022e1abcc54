"""Background jobs of the Text panel: streaming generation, scoring a text, loading a run's model.

Work runs on a Python thread; results come back through Qt signals (queued to the UI thread),
so the window never waits on torch. Several samples are generated round-robin, so every
column fills at the same pace; what is new in every sample goes out in one signal about 25 times
a second (never one per character): each signal makes the UI thread take the GIL, which the
model's thread then waits to get back. Stop is checked between characters.
The jobs take a :class:`studio.core.session.TokenStream` (any text plugin's model through the
documented API), never the model's own methods. Generation runs inside the stream's ``decoding()``
(one torch thread for a small model, as ``studio generate`` does): per-character steps are too
small to share between threads.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from PySide6.QtCore import Signal

from studio.core.session import TokenStream
from studio.ui.background_jobs import BackgroundJobs
from studio.ui.model_loader import ModelLoadError, open_session

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.04


@dataclass
class TextRequest:
    prime: str = ""
    length: int = 300
    samples: int = 1
    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 0.95
    repetition_penalty: float = 1.0
    seed: int = 0

    def controls(self) -> dict:
        return {"temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p,
                "repetition_penalty": self.repetition_penalty}

    def to_dict(self) -> dict:
        return asdict(self)


class TextJobs(BackgroundJobs):
    written = Signal(object, int, int)  # new characters per sample (list[str]), characters done, total
    finished = Signal(bool)             # True when stopped
    failed = Signal(str)
    scored = Signal(dict)
    score_failed = Signal(str)
    model_loaded = Signal(int, object, object, str, object)  # token, model, plugin, description, source
    model_failed = Signal(int, str)     # token, message
    session_loaded = Signal(int, object)  # token, studio.core.session.ModelSession (before model_loaded)

    thread_name = "text-job"

    def __init__(self, parent=None):
        super().__init__(parent)
        self._running = False

    @property
    def busy(self) -> bool:
        """True from the start of a job until just before its final signal (so the UI can start the next)."""
        return self._running

    def _start(self, target, *args) -> None:
        if self._running:
            raise RuntimeError("the text model is busy; stop the current job first")
        self.wait()  # a finished job's thread may still be returning
        self._running = True
        self._spawn(self._run, target, args)

    def _run(self, target, args) -> None:
        """Run a job; it returns its final (signal, *args), emitted after ``busy`` turns False."""
        final = None
        try:
            final = target(*args)
        finally:
            self._running = False
            if final is not None:
                final[0].emit(*final[1:])

    # -- generation -------------------------------------------------------------
    def generate(self, stream: TokenStream, request: TextRequest) -> None:
        self._start(self._generate, stream, request)

    def _generate(self, stream: TokenStream, req: TextRequest) -> None:
        try:
            with stream.decoding():
                self._stream(stream, req)
        except Exception as exc:  # noqa: BLE001 - model code may raise anything; report it in words
            log.exception("text generation failed")
            self.failed.emit(f"generation failed: {type(exc).__name__}: {exc}")
            return self.finished, True
        return self.finished, self._cancel.is_set()

    def _stream(self, stream: TokenStream, req: TextRequest) -> None:
        """Write the samples round-robin, sending what is new every FLUSH_SECONDS, until done or stopped."""
        total = req.length * req.samples
        done = 0
        streams = [stream.continue_text(req.prime, req.length, seed=req.seed + i, **req.controls())
                   for i in range(req.samples)]
        pending = [""] * req.samples
        alive = list(range(req.samples))
        last = time.monotonic()
        while alive and not self._cancel.is_set():
            for i in list(alive):
                try:
                    pending[i] += next(streams[i])
                    done += 1
                except StopIteration:
                    alive.remove(i)
                if self._cancel.is_set():
                    break
            if time.monotonic() - last >= FLUSH_SECONDS or not alive or self._cancel.is_set():
                self._flush(pending, done, total)
                last = time.monotonic()
        self._flush(pending, done, total)
        for s in streams:
            s.close()

    def _flush(self, pending: list[str], done: int, total: int) -> None:
        self.written.emit(list(pending), done, total)
        pending[:] = [""] * len(pending)

    # -- scoring ----------------------------------------------------------------
    def score(self, stream: TokenStream, text: str) -> None:
        self._start(self._score, stream, text)

    def _score(self, stream: TokenStream, text: str) -> None:
        try:
            result = stream.score_text(text)
            unknown = stream.unknown(text)
            result["unknown_chars"] = "".join(unknown[:20])
        except Exception as exc:  # noqa: BLE001
            return self.score_failed, str(exc)
        return self.scored, result

    # -- loading a run ------------------------------------------------------------
    def load_run(self, run_dir: str, checkpoint: str | None = None, token: int = 0) -> None:
        """Open ``checkpoint`` of a run (None: the newest); the signals carry ``token`` so the panel
        can ignore the result of a request it has since replaced."""
        self._start(self._load, run_dir, checkpoint, token)

    def _load(self, run_dir: str, checkpoint: str | None, token: int) -> None:
        # opened through the session layer: what the plugin declares decides (a text model with
        # "continue"), and the run, checkpoint and its hash (computed here, off the UI thread) are the
        # recipe of every saved sample
        try:
            session = open_session(run_dir, checkpoint, modality="text", adapter="text")
        except ModelLoadError as exc:
            return self.model_failed, token, str(exc)
        self.session_loaded.emit(token, session)
        origin = session.origin
        step = origin.checkpoint_step if origin.checkpoint_step is not None else "?"
        name = f"{session.plugin.name} · {Path(run_dir).name} · step {step}"
        return self.model_loaded, token, session.model, session.plugin, name, origin.recipe_source(session.plugin)
