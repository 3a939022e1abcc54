"""A live TensorBoard log while training: ``RUN/tensorboard/`` event files that ``tensorboard --logdir``
shows as the run goes (off by default).

Turned on per run by ``studio train --tensorboard``, or for every run of a project by
``"tensorboard_live": true`` in ``project.json`` (File > "Live TensorBoard log while training" in the window). Every
metric the loop stores in ``metrics.sqlite`` goes to TensorBoard too, with the same names and steps as
``studio runs export --format tensorboard`` writes afterwards, plus the preview images (and text
previews). Written by the same maintained writer as that export (torch's ``SummaryWriter``, the
``tensorboard`` extra). The log is a nicety: any failure to write it (package missing, disk full,
folder not writable) logs one warning, the log stops, training goes on. No Qt here.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Callable

from studio.core.fileio import read_json

log = logging.getLogger("studio.training")

#: the project.json key of the project setting
KEY = "tensorboard_live"
#: the folder inside the run that holds the live event files
FOLDER = "tensorboard"
HINT = "the live TensorBoard log needs the tensorboard package: pip install 'generative-studio[tensorboard]'"
FLUSH_SECS = 2  # how stale `tensorboard --logdir` may be at most (the writer's thread flushes this often)

# The window's project setting for this process (the child trainers it starts follow it), like
# provenance.set_sharing for share-safe exports.
_window_default = False


def set_live_default(on: bool) -> None:
    """Trainers started from this process from now on write a live TensorBoard log (the window's setting)."""
    global _window_default
    _window_default = bool(on)


def live_default() -> bool:
    return _window_default


def project_wants_live(path: str | Path | None, levels: int = 4) -> bool:
    """Whether the project holding ``path`` (a run folder) sets ``"tensorboard_live": true``; False when
    there is no project or its file cannot be read. (The same walk up as export.share_setting.project_of:
    training may not import the exporters, which import training.)"""
    if not path:
        return False
    p = Path(path).expanduser().absolute()
    for folder in [p, *p.parents][: levels + 1]:
        project_file = folder / "project.json"
        if project_file.is_file():
            try:
                data = read_json(project_file)
            except (OSError, ValueError):
                return False
            return isinstance(data, dict) and data.get(KEY) is True
    return False


class LiveTensorBoard:
    """Scalars and previews into ``RUN/tensorboard/``; opened at the first write, never raises."""

    def __init__(self, run_dir: str | Path, redo_from: int | None = None,
                 warn: Callable[[str], None] | None = None):
        self.run_dir = Path(run_dir)
        self.folder = self.run_dir / FOLDER
        # A resumed run redoes the steps after its checkpoint: TensorBoard hides the earlier files'
        # events from ``redo_from`` on (as the loop drops them from metrics.sqlite).
        self.purge_step = redo_from
        self.warn = warn or log.warning
        self.writer: Any = None
        self._add_summary: Any = None   # the writer's event file: one event per step (see log)
        self._summary: Any = None       # TensorBoard's Summary message
        self.off = False

    def _open(self) -> bool:
        if self.writer is None and not self.off:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                self._fail(None, HINT)
                return False
            try:
                from studio.core.project_paths import owned_path
                # a run folder from a shared archive may hold `tensorboard -> elsewhere`: never write through it
                owned_path(self.folder.parent, self.folder.name, "TensorBoard log folder")
                self.folder.mkdir(parents=True, exist_ok=True)
                # max_queue: the writer's thread serialises events; a small queue would block each step on it
                self.writer = SummaryWriter(log_dir=str(self.folder), purge_step=self.purge_step,
                                            max_queue=1000, flush_secs=FLUSH_SECS)
                file_writer = getattr(self.writer, "_get_file_writer", None)
                if file_writer is not None:
                    from tensorboard.compat.proto.summary_pb2 import Summary
                    self._add_summary, self._summary = file_writer().add_summary, Summary
            except Exception as exc:
                self._fail(exc)
        return self.writer is not None

    def _fail(self, exc: BaseException | None, message: str | None = None) -> None:
        """One warning, then the log stays off for the rest of the run."""
        first = not self.off
        self.off = True
        writer, self.writer, self._add_summary = self.writer, None, None
        if writer is not None:
            try:
                writer.close()
            except Exception:  # the writer is already broken; its file is what it is
                pass
        if first:
            self.warn(message or f"live TensorBoard log stopped, training goes on: could not write "
                                 f"{self.folder} ({type(exc).__name__}: {exc})")

    def log(self, step: int, values: dict[str, float]) -> None:
        if not values or not self._open():
            return
        try:
            scalars = []
            for name, value in values.items():
                try:
                    v = float(value)
                except (TypeError, ValueError):
                    continue
                scalars.append((str(name), v if math.isfinite(v) else math.nan))
            if not scalars:
                return
            if self._add_summary is not None:
                # One event per step holding all its metrics (what add_scalar writes, one value each):
                # several times cheaper per step than add_scalar per metric (measured); TensorBoard reads the same.
                Summary = self._summary
                self._add_summary(Summary(value=[Summary.Value(tag=n, simple_value=v) for n, v in scalars]),
                                  int(step))
            else:
                for name, v in scalars:
                    self.writer.add_scalar(name, v, int(step))
        except Exception as exc:
            self._fail(exc)

    def add_preview(self, step: int, kind: str, path: str | Path) -> None:
        """The preview sheet as an image (``preview``), text previews as text; melodies are left out."""
        if kind not in ("image", "text") or not self._open():
            return
        try:
            path = Path(path)
            if kind == "image":
                import numpy as np
                from PIL import Image

                with Image.open(path) as im:
                    arr = np.asarray(im.convert("RGB"))
                self.writer.add_image("preview", arr, int(step), dataformats="HWC")
            else:
                text = path.read_text(encoding="utf-8", errors="replace")[:20_000]
                self.writer.add_text("preview", "```\n" + text + "\n```", int(step))
        except Exception as exc:
            self._fail(exc)

    def flush(self) -> None:
        if self.writer is not None:
            try:
                self.writer.flush()
            except Exception as exc:
                self._fail(exc)

    def close(self) -> None:
        """Flush and close the event file; nothing is written after this."""
        if self.writer is not None:
            self.flush()
        if not self.off:
            self.off = True
            writer, self.writer, self._add_summary = self.writer, None, None
            if writer is not None:
                try:
                    writer.close()
                except Exception as exc:  # flushed just above: only the file's closing failed
                    log.warning("could not close the live TensorBoard log in %s: %s", self.folder, exc)


class MetricsAlsoToTensorBoard:
    """The loop's ``MetricsWriter`` with a live TensorBoard copy: what is stored is also logged there.

    Wrapping the writer (rather than following step events) catches every stored metric, the
    originality figures and ``lr``/``steps_per_s`` included, under the names the export uses."""

    def __init__(self, inner, live: LiveTensorBoard):
        self.inner, self.live = inner, live

    def __getattr__(self, name):  # notes, truncate_after, path, ...: the store's own
        return getattr(self.inner, name)

    def log(self, step: int, values: dict[str, float], when: float | None = None) -> None:
        self.inner.log(step, values, when)
        self.live.log(step, values)

    def add_preview(self, step: int, kind: str, rel_path: str) -> None:
        self.inner.add_preview(step, kind, rel_path)
        self.live.add_preview(step, kind, self.live.run_dir / rel_path)

    def flush(self) -> None:
        self.inner.flush()
        self.live.flush()

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.live.close()
