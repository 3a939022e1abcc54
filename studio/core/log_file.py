"""The studio's log file and the last-resort error hook of the command line.

Every run of ``studio``/``generative-studio`` appends to a rotating ``studio.log`` (1 MiB, 3 old files
kept) in the user log folder (platformdirs; ``STUDIO_LOG_DIR`` overrides it, and with ``STUDIO_DATA_DIR``
set, as the tests do, it is ``$STUDIO_DATA_DIR/logs``). Warnings still reach stderr as before. An error
nobody caught is written there in full while the user sees one line naming the file (the window shows a
dialog instead: studio.ui.error_dialog). No Qt here.
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
import traceback
from pathlib import Path

LOG_NAME = "studio.log"
MAX_BYTES = 1024 * 1024
BACKUPS = 3
_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
log = logging.getLogger("studio")
crash_log = logging.getLogger("studio.crash")  # full tracebacks: the file only (the user gets one line)


def log_dir() -> Path:
    """Where the log files go (created)."""
    env = os.environ.get("STUDIO_LOG_DIR")
    if env:
        p = Path(env)
    elif os.environ.get("STUDIO_DATA_DIR"):
        p = Path(os.environ["STUDIO_DATA_DIR"]) / "logs"
    else:
        from platformdirs import user_log_dir

        p = Path(user_log_dir("generative-studio", appauthor=False))
    p.mkdir(parents=True, exist_ok=True)
    return p


class _QuietRotatingHandler(logging.handlers.RotatingFileHandler):
    """A log file that never disturbs the user: a failed write or rotation (another studio process
    holding the file on Windows, a full disk) is dropped rather than printed on stderr."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass


class _Stderr(logging.Handler):
    """Warnings on whatever stderr is now (as Python's last-resort handler did before a file handler
    existed); nothing under pythonw, where there is no stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        stream = sys.stderr
        if stream is None or record.name == crash_log.name:
            return
        try:
            stream.write(self.format(record) + "\n")
        except (OSError, ValueError):
            pass


_installed: dict[str, object] = {}


def setup_logging() -> Path | None:
    """Attach the log file (once per process) and return its path; None when it cannot be opened."""
    if "path" in _installed:
        return _installed["path"]  # type: ignore[return-value]
    root = logging.getLogger()
    path: Path | None = None
    try:
        path = log_dir() / LOG_NAME
        handler = _QuietRotatingHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8",
                                        delay=True)
        handler.setLevel(logging.INFO)
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
    except OSError:
        path = None  # a read-only home: the studio still runs, without a log file
    stderr = _Stderr(level=logging.WARNING)
    stderr.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(stderr)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    _installed["path"] = path
    return path


def log_path() -> Path | None:
    """The log file in use (None before :func:`setup_logging` or when it could not be opened)."""
    return _installed.get("path")  # type: ignore[return-value]


def where_to_look() -> str:
    path = log_path()
    return f"the details are in {path}" if path else "no log file could be written"


def log_uncaught(exc_type, exc, tb, where: str = "") -> None:
    crash_log.critical("uncaught error%s:\n%s", f" in {where}" if where else "",
                 "".join(traceback.format_exception(exc_type, exc, tb)).rstrip())


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def install_cli_excepthook(prog: str = "studio", debug: bool = False) -> None:
    """An uncaught error: the traceback goes to the log file, the user gets one line with its path
    (``--debug`` keeps Python's full traceback on stderr too)."""

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log_uncaught(exc_type, exc, tb, prog)
        if debug:
            sys.__excepthook__(exc_type, exc, tb)
        if sys.stderr is not None:
            print(f"{prog}: internal error ({one_line(exc)}); {where_to_look()}", file=sys.stderr)

    def thread_hook(args):
        if args.exc_type is SystemExit:
            return
        log_uncaught(args.exc_type, args.exc_value, args.exc_traceback,
                     f"thread {getattr(args.thread, 'name', '?')}")
        if sys.stderr is not None:
            print(f"{prog}: internal error in a background thread ({one_line(args.exc_value)}); "
                  f"{where_to_look()}", file=sys.stderr)

    sys.excepthook = hook
    threading.excepthook = thread_hook
