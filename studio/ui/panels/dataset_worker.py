"""Runs one dataset import off the UI thread and reports back through Qt signals."""
from __future__ import annotations

import logging
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.core.datasets.report import ImportCancelled

log = logging.getLogger(__name__)


@dataclass
class ImportRequest:
    modality: str                  # image | melody | text
    sources: list[str]             # empty for a demo import
    out_dir: Path
    options: dict[str, Any] = field(default_factory=dict)
    demo: bool = False
    #: files whose Content Credentials say no to AI training: "skip" | "include" | None (what the dataset remembers)
    opt_outs: str | None = None


class ImportJob(QObject):
    """One import on a Python thread; signals arrive queued on the UI thread (the QObject lives there)."""

    progress = Signal(int, int, str)
    finished = Signal(object)   # ImportResult
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, request: ImportRequest, parent=None):
        super().__init__(parent)
        self.request = request
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dataset-import", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        from studio.core.datasets import import_dataset, import_demo
        from studio.core.datasets.training_permission import opt_out_choice

        req = self.request
        try:
            if req.demo:
                result = import_demo(req.modality, req.out_dir, progress=self.progress.emit, cancel=self._cancel,
                                     **req.options)
            else:
                with opt_out_choice(req.opt_outs):  # a context variable: set on this thread
                    result = import_dataset(req.modality, req.sources, req.out_dir, progress=self.progress.emit,
                                            cancel=self._cancel, **req.options)
        except ImportCancelled:
            self.cancelled.emit()
        except (OSError, ValueError) as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a studio bug: say so, keep the window alive
            log.error("dataset import failed:\n%s", traceback.format_exc())
            self.failed.emit(f"internal error ({type(exc).__name__}: {exc}); see the Log panel")
        else:
            self.finished.emit(result)
