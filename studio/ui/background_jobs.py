"""The thread plumbing shared by panels that open a model and generate with it off the UI thread."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject


class BackgroundJobs(QObject):
    """One job at a time on a daemon thread, with a cancel flag the job polls and a bounded wait."""

    thread_name = "studio-job"

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> None:
        """Join the running job (on close: a thread still inside torch at exit aborts the process)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _spawn(self, target, *args) -> None:
        self._cancel.clear()
        self._thread = threading.Thread(target=target, args=args, daemon=True, name=self.thread_name)
        self._thread.start()
