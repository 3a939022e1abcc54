"""The training loop: steps, control, validation, previews, checkpoints, guards.

Events passed to hooks (dicts; the CLI prints them as JSON lines with ``--json``;
``events.py`` declares each kind's fields):
  start       run_dir, run_id, plugin, step, max_steps, max_minutes, device, device_name,
              precision, threads, world_size, resumed_from
  step        step, max_steps, metrics, lr, steps_per_s, eta_s, elapsed_s
  validation  step, metrics, best (bool)
  checkpoint  step, path, best (bool)
  sample      step, kind ("image"|"melody"|"text"), path
  status      status ("paused"|"running"), step
  lr          lr, step
  warning     message
  error       message, step, error (exception type): the run failed; sent after run.json says so
  end         status ("done"|"stopped"|"failed"), reason, step, checkpoint
Rank 0 alone writes files and emits events.
"""
from __future__ import annotations

import collections
import logging
import math
import signal
import sqlite3
import threading
import time
import traceback
from pathlib import Path

from studio.core.fileio import DiskFullError
from studio.core.training.checkpoints import latest_checkpoint, prune
from studio.core.training.control import ControlPoller
from studio.core.training.events import (CheckpointEvent, EndEvent, EventKind, LrEvent, RunStatus, SampleEvent,
                                         StartEvent, StatusEvent, StepEvent, ValidationEvent, WarningEvent,
                                         error_event)
from studio.core.training.metrics import MetricsWriter
from studio.core.training.optim import NonFiniteError
from studio.core.training.originality_watch import OriginalityWatch
from studio.core.training.resume import write_checkpoint
from studio.core.training.samples import save_preview
from studio.core.training.schedules import factor_for
from studio.core.training.session import StopTraining, TrainResult

log = logging.getLogger("studio.training")
USER_STOP, TIME_UP, EARLY_STOP = 1, 2, 3


class TrainingLoop:
    def __init__(self, session, hooks, control_after: int | None, tensorboard: bool = False):
        s = self.s = session
        self.hooks = hooks
        self.main = s.dist.is_main
        self.step = s.start_step          # last completed step
        self.current = s.start_step + 1   # step in progress (named in failures)
        self.writer = MetricsWriter(s.run.path) if self.main else None
        if self.writer is not None:
            s.warnings.extend(self.writer.notes)  # a damaged metrics.sqlite was set aside: say so
        if self.writer is not None and s.resuming:
            self.writer.truncate_after(s.start_step)  # a resumed run redoes what followed its checkpoint
        if self.writer is not None and tensorboard:  # every stored metric also to RUN/tensorboard/, live
            from studio.core.training.tensorboard_live import LiveTensorBoard, MetricsAlsoToTensorBoard
            live = LiveTensorBoard(s.run.path, redo_from=s.start_step + 1 if s.resuming else None, warn=self.warn)
            self.writer = MetricsAlsoToTensorBoard(self.writer, live)
        self.poller = ControlPoller(s.run.control_file, control_after) if self.main else None
        self.want_pause = self.want_stop = self.paused = False
        self.stop_code, self.stop_reason = 0, ""
        self.pending_lr: float | None = None
        self.last_metrics: dict[str, float] = {}
        self.last_val: dict[str, float] = {}
        self.last_ckpt_step = s.start_step if s.resumed_from else None
        self.last_ckpt_time = time.monotonic()
        self.bad_validations = 0
        self.preview_failures = 0
        self.originality: OriginalityWatch | None = None  # built at the first preview
        self.copy_warned = False
        self.last_preview: tuple[int, float] | None = None  # (step, active seconds) of the newest preview
        self.val_disabled = False
        self.t0 = time.monotonic()
        self.paused_total = 0.0
        self._pause_began = 0.0
        self.rate_window: collections.deque = collections.deque()
        self._old_handlers: dict = {}
        self._install_signals()

    # -- plumbing -----------------------------------------------------------------
    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def graceful(signum, frame):
            if self.want_stop and signum == signal.SIGINT:
                raise KeyboardInterrupt  # a second Ctrl-C means now
            self.want_stop, self.stop_code = True, USER_STOP
            self.stop_reason = f"stopped by signal {signal.Signals(signum).name}"

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old_handlers[sig] = signal.signal(sig, graceful)
            except (ValueError, OSError):
                pass

    def close(self) -> None:
        for sig, handler in self._old_handlers.items():
            try:
                signal.signal(sig, handler)
            except (ValueError, OSError):
                pass
        if self.writer is not None:
            self.writer.close()

    def emit(self, event: dict) -> None:
        if not self.main:
            return
        for hook in self.hooks:
            try:
                hook(event)
            except StopTraining as exc:
                self.want_stop, self.stop_code = True, USER_STOP
                self.stop_reason = str(exc) or "stopped by the caller"

    def warn(self, message: str) -> None:
        log.warning(message)
        self.emit(WarningEvent(event=EventKind.WARNING, message=message))

    def active_seconds(self) -> float:
        paused_now = time.monotonic() - self._pause_began if self.paused else 0.0
        return time.monotonic() - self.t0 - self.paused_total - paused_now

    # -- control --------------------------------------------------------------------
    def _decide(self) -> tuple[bool, int, float]:
        """(pause, stop code, new lr or 0): rank 0 reads control.json; under DDP everyone agrees."""
        s = self.s
        if self.main:
            msg = self.poller.poll()
            if msg is not None:
                if msg.lr:
                    self.pending_lr = msg.lr
                if msg.command == "pause":
                    self.want_pause = True
                elif msg.command == "resume":
                    self.want_pause = False
                elif msg.command == "stop":
                    self.want_stop, self.stop_code, self.stop_reason = True, USER_STOP, ""
            if not self.want_stop and s.max_minutes is not None and self.active_seconds() >= s.max_minutes * 60:
                self.want_stop, self.stop_code = True, TIME_UP
                self.stop_reason = f"time limit of {s.max_minutes:g} minutes reached"
        values = [float(self.want_pause), float(self.stop_code if self.want_stop else 0), self.pending_lr or 0.0]
        self.pending_lr = None
        if s.dist.enabled:
            from studio.core.training.ddp import agree
            values = agree(values, device=s.device if s.dist.backend == "nccl" else "cpu")
        return bool(values[0]), int(values[1]), float(values[2])

    def _control(self) -> int:
        """Apply commands; blocks while paused. Returns a stop code (0: go on)."""
        while True:
            pause, stop, lr = self._decide()
            if lr > 0:
                self.s.opt.set_lr(base_lr=lr)
                self.emit(LrEvent(event=EventKind.LR, lr=lr, step=self.step))
            if stop or not pause:
                if self.paused:
                    self.paused = False
                    self.paused_total += time.monotonic() - self._pause_began
                    self._set_status(RunStatus.RUNNING)
                return stop
            if not self.paused:
                self.paused, self._pause_began = True, time.monotonic()
                self._set_status(RunStatus.PAUSED)
            time.sleep(0.1)

    def _set_status(self, status: RunStatus) -> None:
        if self.main:
            self.writer.flush()
            self.s.run.update(status=status, step=self.step)
        self.emit(StatusEvent(event=EventKind.STATUS, status=status, step=self.step))

    # -- the loop ---------------------------------------------------------------------
    def run(self) -> TrainResult:
        s = self.s
        status, reason = RunStatus.DONE, ""
        err: BaseException | None = None
        try:
            self.emit(StartEvent(event=EventKind.START, run_dir=str(s.run.path), run_id=s.run.data.get("id", ""),
                                 plugin=s.plugin.id, step=self.step, max_steps=s.max_steps,
                                 max_minutes=s.max_minutes, device=s.device, device_name=s.device_label,
                                 precision=s.precision.name, threads=s.threads, world_size=s.dist.world_size,
                                 resumed_from=str(s.resumed_from) if s.resumed_from else None))
            for w in s.warnings:
                self.warn(w)
            status, reason = self._steps()
            self._final_preview(status)
            if self.main and self.step > 0 and self.last_ckpt_step != self.step:
                self._checkpoint()
        except NonFiniteError as exc:
            err = exc
            status = RunStatus.FAILED
            reason = f"step {self.current}: {exc}; training stopped, the last good checkpoint is kept"
        except DiskFullError as exc:
            err = exc
            status, reason = RunStatus.FAILED, f"{exc.strerror or exc}; the previous checkpoint is kept"
        except KeyboardInterrupt:
            status, reason = RunStatus.STOPPED, f"interrupted at step {self.step} (no final checkpoint)"
        except sqlite3.Error as exc:
            err = exc
            full = "full" in str(exc).lower()
            status, reason = RunStatus.FAILED, (f"no space left on device while writing {s.run.metrics_file}"
                                                if full else f"step {self.current}: metrics store error: {exc}")
        except Exception as exc:  # plugin code can raise anything; the run fails in words
            traceback.print_exc()
            err = exc
            status, reason = RunStatus.FAILED, f"step {self.current}: {type(exc).__name__}: {exc}"
        if status == RunStatus.FAILED and s.dist.enabled:
            reason = self._distributed_reason(reason, err)
        ckpt = latest_checkpoint(s.run.path) if self.main else None
        if self.main:
            try:
                self.writer.flush()
            except sqlite3.Error as exc:  # e.g. still no space: run.json below still says why
                log.warning("could not flush the metrics store: %s", exc)
            try:
                s.run.update(status=status, reason=reason, step=self.step, ended=time.time(),
                             checkpoint=ckpt.path.name if ckpt else None)
            except OSError as exc:
                log.error("could not record the end of the run in %s: %s", s.run.run_file, exc)
        last = [EndEvent(event=EventKind.END, status=status, reason=reason, step=self.step,
                         checkpoint=str(ckpt.path) if ckpt else None)]
        if status == RunStatus.FAILED:  # after run.json records it: a follower may take it as the outcome
            last.insert(0, error_event(reason, err, self.current))
        for event in last:
            try:
                self.emit(event)
            except Exception:  # a front end's hook failing must not hide the outcome
                traceback.print_exc()
        return TrainResult(s.run.path, status, reason, self.step, {**self.last_metrics, **self.last_val},
                           ckpt.path if ckpt else None)

    def _distributed_reason(self, reason: str, err: BaseException | None) -> str:
        """Record this process's failure for the others (before leaving the process group: a peer
        learns of it only then); rank 0 reports the cause, whichever process it was in."""
        from studio.core.training import rank_failures

        own = rank_failures.record(self.s.run.path, self.s.dist.rank, self.current, reason, err)
        return rank_failures.final_reason(self.s.run.path, own) if self.main else reason

    def _steps(self) -> tuple[RunStatus, str]:
        import torch

        s, e = self.s, self.s.engine
        seq_len = getattr(s.model, "sequence_length", None)
        dev = torch.device(s.device)
        s.model.train()
        while True:
            code = self._control()
            if code == USER_STOP:
                return RunStatus.STOPPED, self.stop_reason
            if code in (TIME_UP, EARLY_STOP):
                return RunStatus.DONE, self.stop_reason
            if s.max_steps is not None and self.step >= s.max_steps:
                return RunStatus.DONE, ""
            self.current = step = self.step + 1
            s.opt.set_lr(factor=factor_for(e, step, s.max_steps))
            batch = s.data.random_batch("train", e.batch_size, generator=s.data_gen, seq_len=seq_len)
            batch = batch.to(dev, non_blocking=True)
            with s.precision.autocast():
                metrics = s.model.training_step(batch, s.opt)
            s.opt.check_finite()  # no-op unless checks are deferred (GPU): before anything else sees the step
            s.model.after_step(step)
            self.last_metrics = _finite(metrics)
            self.step = step
            self._after_step(step)

    def _after_step(self, step: int) -> None:
        s, e = self.s, self.s.engine
        now = time.monotonic()
        win = self.rate_window
        win.append((now, step))
        while len(win) > 2 and now - win[0][0] > 2.0:
            win.popleft()
        rate = (step - win[0][1]) / (now - win[0][0]) if len(win) > 1 and now > win[0][0] else 0.0
        lr = s.opt.current_lr
        if self.main:
            self.writer.log(step, {**self.last_metrics, "lr": lr, "steps_per_s": rate})
            s.run.set_step(step)
        if s.max_steps is not None:
            eta = (s.max_steps - step) / rate if rate > 0 else None
        else:
            eta = max(s.max_minutes * 60 - self.active_seconds(), 0.0) if s.max_minutes else None
        self.emit(StepEvent(event=EventKind.STEP, step=step, max_steps=s.max_steps, metrics=self.last_metrics,
                            lr=lr, steps_per_s=rate, eta_s=eta, elapsed_s=self.active_seconds()))
        if not self.main:
            return
        if e.val_every and step % e.val_every == 0 and not self.val_disabled:
            self._validate(step)
        if self.preview_failures < 3 and (e.sample_every and step % e.sample_every == 0 or self._preview_due()):
            self._preview(step)
        due_steps = e.checkpoint_every and step % e.checkpoint_every == 0
        due_time = e.checkpoint_minutes and now - self.last_ckpt_time >= e.checkpoint_minutes * 60
        if (due_steps or due_time) and self.last_ckpt_step != step:
            self._checkpoint()

    # -- validation, previews, checkpoints ------------------------------------------------------
    def _isolated(self):
        """Validation and previews must not move the training RNG streams (same losses whatever val_every)."""
        import torch

        dev = torch.device(self.s.device)
        return torch.random.fork_rng(devices=[dev.index or 0] if dev.type == "cuda" else [])

    def _validate(self, step: int) -> None:
        import torch

        s, e = self.s, self.s.engine
        seq_len = getattr(s.model, "sequence_length", None)
        totals: dict[str, float] = {}
        try:
            with self._isolated(), torch.no_grad():
                g = torch.Generator().manual_seed(e.seed + 1)  # the same held-out batches every time
                s.model.eval()
                for _ in range(e.val_batches):
                    batch = s.data.random_batch("val", e.batch_size, generator=g, seq_len=seq_len).to(s.device)
                    with s.precision.autocast():
                        for k, v in (s.model.validation_step(batch) or {}).items():
                            totals[k] = totals.get(k, 0.0) + float(v)
        except ValueError as exc:  # DatasetError: e.g. a validation split shorter than one window
            self.val_disabled = True
            self.warn(f"validation turned off: {exc}")
            return
        finally:
            s.model.train()
        if not totals:
            return
        vals = {k: v / e.val_batches for k, v in totals.items()}
        self.last_val = vals
        self.writer.log(step, vals)
        improved = self._track_best(step, vals)
        self.emit(ValidationEvent(event=EventKind.VALIDATION, step=step, metrics=vals, best=improved))
        if improved and self.last_ckpt_step != step:
            self._checkpoint()

    def _track_best(self, step: int, vals: dict[str, float]) -> bool:
        s, e = self.s, self.s.engine
        monitor = e.monitor or ("val_loss" if "val_loss" in vals else next(iter(sorted(vals)), ""))
        value = vals.get(monitor)
        if value is None or not math.isfinite(value):
            return False
        best = s.best if s.best and s.best.get("metric") == monitor else None
        if best is None or value < best["value"]:
            s.best = {"metric": monitor, "value": value, "step": step}
            s.run.data["best"] = s.best
            self.bad_validations = 0
            return True
        self.bad_validations += 1
        if e.early_stopping and self.bad_validations >= e.early_stopping:
            self.want_stop, self.stop_code = True, EARLY_STOP
            self.stop_reason = (f"early stopping: {monitor} did not improve for {self.bad_validations} validations "
                                f"(best {best['value']:.6g} at step {best['step']})")
        return False

    def _preview_due(self) -> bool:
        """Timed previews: the first after ``first_sample_s`` of training, then every ``sample_seconds``
        (a slow model shows something in seconds, not after hundreds of steps). ``sample_every=0`` still
        means no previews at all."""
        e = self.s.engine
        if not e.sample_every or not e.sample_seconds:
            return False
        wait = e.sample_seconds if self.last_preview else min(e.first_sample_s, e.sample_seconds)
        since = self.active_seconds() - (self.last_preview[1] if self.last_preview else 0.0)
        return since >= wait

    def _final_preview(self, status: RunStatus) -> None:
        """The sample sheet of the model as training leaves it (unless one was just made at that step)."""
        if not self.main or self.step <= self.s.start_step or not self.s.engine.sample_every \
                or status not in (RunStatus.DONE, RunStatus.STOPPED) or self.preview_failures >= 3:
            return
        if self.last_preview is None or self.last_preview[0] != self.step:
            self._preview(self.step)

    def _preview(self, step: int) -> None:
        s = self.s
        self.last_preview = (step, self.active_seconds())
        try:
            with self._isolated():
                s.model.eval()
                sample = s.model.preview(seed=s.engine.seed)
            kind, path = save_preview(s.run.samples_dir, step, s.data.spec.modality, sample, s.data.spec)
        except Exception as exc:  # a preview is a nicety: never kill the run for it
            self.preview_failures += 1
            self.warn(f"step {step}: preview failed ({type(exc).__name__}: {exc})")
            return
        finally:
            s.model.train()
        rel = str(Path(path).relative_to(s.run.path))
        self.writer.add_preview(step, kind, rel)
        self.emit(SampleEvent(event=EventKind.SAMPLE, step=step, kind=kind, path=str(path)))
        self._check_originality(step, sample)

    def _check_originality(self, step: int, sample) -> None:
        """Is the model starting to copy the training data? Figures into the metrics, a warning once."""
        if self.originality is None:
            self.originality = OriginalityWatch(self.s.data)
        figures, warning = self.originality.check(sample)
        if figures:
            self.writer.log(step, figures)
        if warning and not self.copy_warned:
            self.copy_warned = True
            self.warn(f"step {step}: {warning}")

    def _checkpoint(self) -> None:
        s = self.s
        step = self.step
        self.writer.flush()
        path = write_checkpoint(s, step, {**self.last_metrics, **self.last_val},
                                s.active_seconds + self.active_seconds())
        self.last_ckpt_step, self.last_ckpt_time = step, time.monotonic()
        best_step = s.best.get("step") if s.best else None
        s.run.update(step=step, checkpoint=path.name, best=s.best)
        prune(s.run.path, s.engine.keep_last, best_step)
        self.emit(CheckpointEvent(event=EventKind.CHECKPOINT, step=step, path=str(path), best=best_step == step))


def _finite(metrics) -> dict[str, float]:
    """Metrics as floats; a NaN/inf one stops the run naming it."""
    out: dict[str, float] = {}
    for k, v in (metrics or {}).items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(f):
            raise NonFiniteError(f"{k} became {f}")
        out[str(k)] = f
    return out
