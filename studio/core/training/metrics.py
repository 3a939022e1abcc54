"""The metrics store: ``metrics.sqlite`` in WAL mode, followed live by readers.

Tables (stable): ``metrics(step INTEGER, time REAL, name TEXT, value REAL)``,
``previews(step INTEGER, time REAL, kind TEXT, path TEXT)`` (``path`` relative
to the run folder) and ``meta(key, value)``. The writer buffers rows and
commits about twice a second, so logging every step costs microseconds; WAL
lets any number of readers (the window, another process) follow while it
writes. When a resumed run discards rows past its checkpoint the ``generation``
in ``meta`` changes and readers start over (:attr:`MetricsUpdate.reset`).
"""
from __future__ import annotations

import logging
import math
import sqlite3
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

SCHEMA = """
CREATE TABLE IF NOT EXISTS metrics(step INTEGER, time REAL, name TEXT, value REAL);
CREATE TABLE IF NOT EXISTS previews(step INTEGER, time REAL, kind TEXT, path TEXT);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
"""
log = logging.getLogger("studio.training")


def _db_path(run_dir: str | Path) -> Path:
    p = Path(run_dir)
    return p if p.suffix == ".sqlite" else p / "metrics.sqlite"


_COLUMNS = {"metrics": ["step", "time", "name", "value"], "previews": ["step", "time", "kind", "path"],
            "meta": ["key", "value"]}


def schema_problem(conn: sqlite3.Connection, path: Path) -> str | None:
    """Why an opened store is not a studio metrics store (damaged, other tables), in words; None when fine."""
    try:
        for table, columns in _COLUMNS.items():
            found = [r[1] for r in conn.execute(f"PRAGMA table_info({table})").fetchall()]
            if found and found != columns:
                return f"{path}: table {table} has columns {', '.join(map(str, found))}, not {', '.join(columns)}"
    except sqlite3.DatabaseError as exc:
        return f"{path}: damaged or not a metrics database ({exc})"
    return None


def _set_aside(path: Path) -> Path:
    """Move a damaged store (and its WAL files) aside in the run folder; the new one starts empty."""
    aside = path.with_name(f"{path.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        if src.exists() or src.is_symlink():
            src.replace(Path(str(aside) + suffix))
    return aside


class MetricsWriter:
    """Trainer side (rank 0 only). ``log`` each step; ``flush`` forces a commit."""

    def __init__(self, run_dir: str | Path, commit_interval: float = 0.5):
        self.path = _db_path(run_dir)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        #: What was wrong with an existing store (set aside, training goes on with a fresh one).
        self.notes: list[str] = []
        problem = self._open()
        if problem:  # a damaged or foreign file at --resume: keep it, never crash the trainer on it
            aside = _set_aside(self.path)
            self.notes.append(f"{problem}; it was moved aside as {aside.name} and the loss history starts "
                              "again from here")
            log.warning("%s", self.notes[-1])
            problem = self._open()
            if problem:
                raise sqlite3.DatabaseError(problem)
        self.commit_interval = commit_interval
        self._rows: list[tuple[int, float, str, float]] = []
        self._last_commit = time.monotonic()

    def _open(self) -> str | None:
        if self.path.exists() and not self.path.is_file():
            return f"{self.path} is not a regular file"
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=10.0)
        except sqlite3.Error as exc:
            return f"{self.path}: cannot be opened ({exc})"
        try:
            problem = schema_problem(self.conn, self.path)
            if problem is None:
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints, cheap per commit
                self.conn.executescript(SCHEMA)
                self.conn.commit()
        except sqlite3.DatabaseError as exc:
            problem = f"{self.path}: damaged or not a metrics database ({exc})"
        if problem:
            self.conn.close()
        return problem

    def log(self, step: int, values: dict[str, float], when: float | None = None) -> None:
        when = time.time() if when is None else when
        for name, value in values.items():
            try:
                v = float(value)
            except (TypeError, ValueError):
                continue
            self._rows.append((int(step), when, str(name), v if math.isfinite(v) else None))
        if time.monotonic() - self._last_commit >= self.commit_interval:
            self.flush()

    def add_preview(self, step: int, kind: str, rel_path: str) -> None:
        self.flush()
        self.conn.execute("INSERT INTO previews VALUES (?, ?, ?, ?)", (int(step), time.time(), kind, rel_path))
        self.conn.commit()

    def flush(self) -> None:
        if self._rows:
            self.conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?)", self._rows)
            self._rows.clear()
        self.conn.commit()
        self._last_commit = time.monotonic()

    def truncate_after(self, step: int) -> None:
        """Drop rows past ``step`` (a resumed run redoes them) and tell readers to start over."""
        self.flush()
        cur = self.conn.execute("DELETE FROM metrics WHERE step > ?", (int(step),))
        cur2 = self.conn.execute("DELETE FROM previews WHERE step > ?", (int(step),))
        if cur.rowcount or cur2.rowcount:
            gen = int(self._meta("generation") or 0) + 1
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(gen),))
        self.conn.commit()

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        try:
            self.flush()
            self.conn.close()
        except sqlite3.Error:
            pass


@dataclass
class MetricsUpdate:
    """New rows since the last poll. ``reset``: forget earlier rows first (the run was rewound)."""
    rows: list[tuple[int, float, str, float | None]] = field(default_factory=list)
    previews: list[tuple[int, float, str, str]] = field(default_factory=list)
    reset: bool = False

    def series(self) -> dict[str, tuple[list[int], list[float]]]:
        """The rows grouped by metric name: ``{name: (steps, values)}`` (missing values as NaN)."""
        out: dict[str, tuple[list[int], list[float]]] = {}
        for step, _t, name, value in self.rows:
            steps, values = out.setdefault(name, ([], []))
            steps.append(step)
            values.append(float("nan") if value is None else value)
        return out


class MetricsReader:
    """Follower side: ``poll()`` returns the rows added since the previous call.

    Safe to use from any thread (one reader per thread); cheap when nothing changed.
    A run folder whose store does not exist yet gives empty updates until it does.
    ``tail_rows``: skip a long history and start from the newest ``tail_rows`` metric rows
    and the newest preview (a status view, not a plot); ``None`` reads everything.
    """

    def __init__(self, run_dir: str | Path, tail_rows: int | None = None):
        self.path = _db_path(run_dir)
        self.conn: sqlite3.Connection | None = None
        self.last_rowid = 0
        self.last_preview_rowid = 0
        self.generation: str | None = None
        self.tail_rows = None if tail_rows is None else max(0, int(tail_rows))
        self._tail_pending = self.tail_rows is not None
        #: Why this run's store cannot be read (damaged, wrong tables), in words; polls then return nothing.
        self.problem: str | None = None

    def _connect(self) -> sqlite3.Connection | None:
        if self.conn is None and self.path.exists() and self.problem is None:
            if not self.path.is_file():
                self.problem = f"{self.path} is not a regular file; the loss history cannot be shown"
                return None
            try:
                self.conn = sqlite3.connect(str(self.path), timeout=10.0, check_same_thread=False)
                self.conn.execute("PRAGMA query_only=1")
                self.problem = schema_problem(self.conn, self.path)
            except sqlite3.DatabaseError as exc:
                self.problem = f"{self.path}: damaged or not a metrics database ({exc})"
            if self.problem:
                self.close()
        return self.conn

    def _skip_to_tail(self, conn: sqlite3.Connection) -> None:
        """Once, on the first successful look: move the cursors near the end of the store."""
        last = conn.execute("SELECT max(rowid) FROM metrics").fetchone()[0] or 0
        last_prev = conn.execute("SELECT max(rowid) FROM previews").fetchone()[0] or 0
        self.last_rowid = max(0, last - self.tail_rows)
        self.last_preview_rowid = max(0, last_prev - 1)
        self._tail_pending = False

    def poll(self, max_rows: int = 500_000) -> MetricsUpdate:
        conn = self._connect()
        update = MetricsUpdate()
        if conn is None:
            return update
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            gen = row[0] if row else "0"
            if self.generation is not None and gen != self.generation:
                self.last_rowid = self.last_preview_rowid = 0
                update.reset = True
            self.generation = gen
            if self._tail_pending:
                self._skip_to_tail(conn)
            rows = conn.execute("SELECT rowid, step, time, name, value FROM metrics WHERE rowid > ? "
                                "ORDER BY rowid LIMIT ?", (self.last_rowid, max_rows)).fetchall()
            prev = conn.execute("SELECT rowid, step, time, kind, path FROM previews WHERE rowid > ? ORDER BY rowid",
                                (self.last_preview_rowid,)).fetchall()
        except sqlite3.OperationalError:
            return update  # tables not created yet, or the writer holds an exclusive lock for a moment
        except sqlite3.DatabaseError as exc:  # damaged: say it once, then stop asking (no error every refresh)
            self.problem = f"{self.path}: damaged or not a metrics database ({exc})"
            log.warning("%s", self.problem)
            self.close()
            return update
        if rows:
            self.last_rowid = rows[-1][0]
            update.rows = [r[1:] for r in rows]
        if prev:
            self.last_preview_rowid = prev[-1][0]
            update.previews = [p[1:] for p in prev]
        return update

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def read_metrics(run_dir: str | Path, names: Iterable[str] | None = None) -> dict[str, tuple[list[int], list[float]]]:
    """Every row of a run, grouped by metric (CSV export, run comparison).

    Rows are streamed from SQLite (only the wanted names): a run with millions of logged
    steps costs its points, not a list of every row first.
    """
    path = _db_path(run_dir)
    if not path.exists():
        return {}
    sql, params = "SELECT step, name, value FROM metrics", ()
    if names is not None:
        params = tuple(dict.fromkeys(str(n) for n in names))
        if not params:
            return {}
        sql += f" WHERE name IN ({', '.join('?' * len(params))})"
    out: dict[str, tuple[list[int], list[float]]] = {}
    conn = sqlite3.connect(str(path), timeout=10.0)
    try:
        conn.execute("PRAGMA query_only=1")
        for step, name, value in conn.execute(sql + " ORDER BY rowid", params):
            series = out.get(name)
            if series is None:
                series = out[name] = ([], [])
            series[0].append(step)
            series[1].append(float("nan") if value is None else value)
    except sqlite3.OperationalError:
        return {}  # tables not created yet
    except sqlite3.DatabaseError as exc:
        log.warning("%s: damaged or not a metrics database (%s)", path, exc)
        return {}
    finally:
        conn.close()
    return out


def latest_preview(run_dir: str | Path) -> tuple[int, str, Path] | None:
    """(step, kind, absolute path) of the newest sample preview, if any."""
    reader = MetricsReader(run_dir)
    try:
        prev = reader.poll(max_rows=0).previews
    finally:
        reader.close()
    if not prev:
        return None
    step, _t, kind, rel = prev[-1]
    path = preview_path(run_dir, rel)
    return (step, kind, path) if path is not None else None


def preview_path(run_dir: str | Path, rel) -> Path | None:
    """The file a preview row names, when it is a plain relative path to a regular file inside the run.

    ``metrics.sqlite`` is data from the run folder: a row naming ``/dev/zero``, a FIFO or
    ``../../somewhere`` must not make a viewer read it. None (and a log line) otherwise.
    """
    run_dir = Path(run_dir)
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        return None
    p = Path(rel)
    if p.is_absolute() or ".." in p.parts:
        log.warning("%s: a preview names %r, outside the run folder; not shown", run_dir, rel[:200])
        return None
    path = run_dir / p
    try:
        path.resolve().relative_to(run_dir.resolve())
    except (ValueError, OSError):
        log.warning("%s: a preview names %r, a link out of the run folder; not shown", run_dir, rel[:200])
        return None
    try:
        st = path.stat()
    except OSError:
        return path  # not written yet (or removed): the viewer says it is missing
    if not stat.S_ISREG(st.st_mode):
        log.warning("%s is not a regular file; the preview is not shown", path)
        return None
    return path
