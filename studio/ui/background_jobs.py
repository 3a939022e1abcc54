"""The thread plumbing shared by panels that open a model and generate with it off the UI thread."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer


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


class LatestLoad(QObject):
    """Model loads where only the newest request counts (the Melody and Text panels).

    Restoring a file first selects its run everywhere (the panels start opening the newest
    checkpoint) and then asks for the checkpoint the file names: that later request must win
    whichever load would finish first. Each request gets a token; a request made while a job is
    running waits for it (cancelling it: loads do not poll, generation does), only the newest
    waiting request is started, and the panel applies a result only when ``is_current(token)``.
    """

    def __init__(self, jobs: BackgroundJobs, start, parent=None):
        super().__init__(parent or jobs)
        self.jobs, self._start = jobs, start    # start(*args, token=...) begins the job
        self.token = 0
        self._pending: tuple | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(40)              # polled: a job's end signal may come before it is not busy
        self._timer.timeout.connect(self._poll)

    @property
    def waiting(self) -> bool:
        """True while a request waits for the running job to end."""
        return self._pending is not None

    def request(self, *args) -> int:
        self.token += 1
        self._pending = args
        if self.jobs.busy:
            self.jobs.cancel()
            self._timer.start()
        else:
            self._launch()
        return self.token

    def is_current(self, token: int) -> bool:
        return token == self.token

    def stop(self) -> None:
        """Forget a waiting request (on close)."""
        self._pending = None
        self._timer.stop()

    def _poll(self) -> None:
        if self._pending is None:
            self._timer.stop()
        elif not self.jobs.busy:
            self._launch()

    def _launch(self) -> None:
        self._timer.stop()
        args, self._pending = self._pending, None
        self.jobs.wait(5.0)  # a finished job's thread may still be returning
        self._start(*args, token=self.token)
