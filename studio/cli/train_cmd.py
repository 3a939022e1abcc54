"""`studio train`: train a model plugin on a dataset into a run folder.

    studio train --plugin vae --data datasets/faces --out runs/faces-vae --steps 2000 --set lr=1e-3
    torchrun --nproc_per_node=2 -m studio train ...        (DDP; rank 0 writes the run folder)
    studio train ... --submit slurm --partition gpu --gpus 2 --time 4:00:00   (a Slurm job, via submitit)

Exit 0 when the run is done or stopped, 1 when it failed (the reason on one line),
2 when it could not start. ``--json`` prints one JSON event per line on stdout
(``studio.core.training.events`` names them), which is how the window follows its child trainer.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

from studio.cli import CommandError
from studio.cli.arg_checks import positive_int, positive_minutes
from studio.cli.arg_checks import seed as seed_arg


def add_arguments(p) -> None:
    p.add_argument("--plugin", metavar="ID", help="model plugin id (see `studio plugins`); taken from the run when resuming")
    p.add_argument("--data", metavar="DATASET_DIR", help="dataset folder from `studio import`; the run's own when resuming")
    p.add_argument("--out", metavar="RUN_DIR", required=True, help="run folder to create (or continue with --resume)")
    bound = p.add_mutually_exclusive_group()
    bound.add_argument("--steps", type=positive_int("--steps", 2**40), metavar="N",
                       help="total optimisation steps of the run")
    bound.add_argument("--minutes", type=positive_minutes, metavar="M",
                       help="train for this many minutes (pauses excluded)")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:1|mps|xpu (default: auto, the best available)")
    p.add_argument("--seed", type=seed_arg, default=None, help="random seed (default 0; a resumed run keeps its own)")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="engine setting (lr, batch_size, checkpoint_every, optimizer, schedule, ...) "
                        "or plugin hyperparameter; repeatable")
    p.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR from its newest valid checkpoint")
    p.add_argument("--json", action="store_true", help="print JSON-lines events instead of progress lines")
    p.add_argument("--tensorboard", action=argparse.BooleanOptionalAction, default=None,
                   help="also write every metric and preview to RUN_DIR/tensorboard/ while training, for "
                        "`tensorboard --logdir RUN_DIR` (needs the tensorboard extra; default: the run's project "
                        "setting \"tensorboard_live\", else off)")
    p.add_argument("--reserve-core", action="store_true",
                   help="leave one CPU core free for a window (the studio passes this)")
    p.add_argument("--control-after", type=int, default=None, help=argparse.SUPPRESS)
    job = p.add_argument_group("running elsewhere (needs the `cluster` extra: submitit)")
    job.add_argument("--submit", choices=("slurm", "local"), default=None,
                     help="hand the run to Slurm (sbatch) or to a local background job and return at once; "
                          "the run folder fills as usual (the window follows it); `studio runs cancel RUN_DIR` "
                          "cancels the job")
    job.add_argument("--partition", metavar="P", help="Slurm partition (with --submit slurm)")
    job.add_argument("--gpus", type=positive_int("--gpus", 64), default=0, metavar="N",
                     help="GPUs per node; one DDP process per GPU (with --submit)")
    job.add_argument("--nodes", type=positive_int("--nodes", 4096), default=1, metavar="N",
                     help="nodes (with --submit slurm; the run folder must be on a shared filesystem)")
    job.add_argument("--time", dest="time_limit", metavar="T",
                     help="job time limit, Slurm format: minutes, H:MM:SS or D-HH:MM:SS (with --submit)")


class ProgressPrinter:
    """Human progress lines, at most one every ``interval`` seconds."""

    def __init__(self, interval: float = 2.0, out=None, err=None):
        self.interval, self.out, self.err = interval, out or sys.stdout, err or sys.stderr
        self.last = 0.0

    def __call__(self, ev: dict) -> None:
        kind = ev["event"]
        if kind == "start":
            where = f" (resuming from {ev['resumed_from']})" if ev.get("resumed_from") else ""
            bound = f"{ev['max_steps']} steps" if ev.get("max_steps") else f"{ev.get('max_minutes')} minutes"
            self._print(f"training {ev['plugin']} on {ev['device_name']}, {ev['precision']}, {ev['threads']} threads, "
                        f"{bound} -> {ev['run_dir']}{where}")
        elif kind == "step":
            now = time.monotonic()
            if now - self.last < self.interval and ev["step"] != ev.get("max_steps"):
                return
            self.last = now
            total = f"/{ev['max_steps']}" if ev.get("max_steps") else ""
            figures = "  ".join(f"{k} {v:.4g}" for k, v in ev["metrics"].items())
            eta = f"  ETA {_duration(ev['eta_s'])}" if ev.get("eta_s") is not None else ""
            self._print(f"step {ev['step']}{total}  {figures}  lr {ev['lr']:.3g}  {ev['steps_per_s']:.1f} steps/s{eta}")
        elif kind == "validation":
            figures = "  ".join(f"{k} {v:.4g}" for k, v in ev["metrics"].items())
            self._print(f"validation at step {ev['step']}: {figures}{'  (best)' if ev.get('best') else ''}")
        elif kind == "checkpoint":
            self._print(f"checkpoint {ev['path']}")
        elif kind == "status":
            self._print(f"{ev['status']} at step {ev['step']}")
        elif kind == "lr":
            self._print(f"learning rate set to {ev['lr']:.4g}")
        elif kind == "warning":
            print(f"warning: {ev['message']}", file=self.err, flush=True)
        elif kind == "end":
            line = f"{ev['status']} at step {ev['step']}" + (f": {ev['reason']}" if ev.get("reason") else "")
            self._print(line + (f"; checkpoint {ev['checkpoint']}" if ev.get("checkpoint") else ""))

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


class JsonLines:
    """One JSON object per line; step events thinned to ``max_rate`` per second.

    A step event held back is written by a timer ``1/max_rate`` s later unless a newer
    one replaced it, so a follower always learns the last step (even before a hang).

    When the follower is gone (the window was killed: its end of the pipe closed), writing fails;
    the trainer then stops cleanly at the next step, with a checkpoint, and the run is marked
    ``stopped`` with the reason (docs/reliability.md "When the window dies while training").
    """

    GONE = ("the window that started this training is gone (its pipe closed); stopped cleanly with a "
            "checkpoint: resume the run to continue")

    def __init__(self, max_rate: float = 10.0, out=None):
        self.min_gap, self.out, self.last = 1.0 / max_rate, out or sys.stdout, 0.0
        self.lock = threading.Lock()
        self.held: dict | None = None
        self.timer: threading.Timer | None = None
        self.broken = False       # the reader of our stdout is gone
        self._stop_asked = False

    def __call__(self, ev: dict) -> None:
        self._send(ev)
        if self.broken and not self._stop_asked:
            self._stop_asked = True
            from studio.core.training.session import StopTraining
            raise StopTraining(self.GONE)

    def _send(self, ev: dict) -> None:
        with self.lock:
            if ev["event"] == "step" and ev["step"] != ev.get("max_steps"):
                now = time.monotonic()
                if now - self.last < self.min_gap:
                    self.held = ev
                    if self.timer is None:
                        self.timer = threading.Timer(self.min_gap, self._release)
                        self.timer.daemon = True
                        self.timer.start()
                    return
            elif self.held is not None and ev["event"] != "step":
                self._write(self.held)  # keep the order: the last step before this event
            self.held = None
            self._write(ev)

    def _release(self) -> None:
        with self.lock:
            self.timer = None
            if self.held is not None:
                self._write(self.held)
                self.held = None

    def _write(self, ev: dict) -> None:
        if ev["event"] == "step":
            self.last = time.monotonic()
        if self.broken:
            return
        try:
            self.out.write(json.dumps(ev, default=str) + "\n")
            self.out.flush()
        except (BrokenPipeError, ConnectionResetError, ValueError, OSError):
            # ValueError: write to a closed file. Never let a lost follower crash the trainer.
            self.broken = True
            _silence_stdio()


def _silence_stdio() -> None:
    """Point stdout/stderr at /dev/null once their reader is gone: later prints and the
    interpreter's final flush must not raise BrokenPipeError (or print about it to a dead pipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            try:
                os.dup2(devnull, stream.fileno())
            except (OSError, ValueError, AttributeError):
                pass
        os.close(devnull)
    except OSError:
        pass


def _duration(seconds: float) -> str:
    s = int(max(seconds, 0))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def run(args) -> int:
    import faulthandler

    try:
        faulthandler.enable()  # a segfault in plugin code still leaves a Python stack on stderr
    except (AttributeError, ValueError, OSError):  # stderr without a file descriptor (captured)
        pass

    from studio.core.training.events import RunStatus, error_event
    from studio.core.training.run_folder import RunFolderError, is_run_folder, read_run
    from studio.core.training.settings import parse_set_args

    plugin, data = args.plugin, args.data
    if args.resume and is_run_folder(args.out):
        try:
            old = read_run(args.out)
        except RunFolderError as exc:  # damaged or type-confused run.json: its name and the field
            raise CommandError(str(exc), 2) from exc
        plugin = plugin or (old.get("plugin") or {}).get("id")
        data = data or (old.get("dataset") or {}).get("path") or None
    if not plugin:
        raise CommandError("--plugin is required (see `studio plugins` for the ids)", 2)
    if not data:
        raise CommandError("--data is required (a dataset folder from `studio import`)", 2)
    if args.steps is not None and args.steps < 1:
        raise CommandError("--steps must be at least 1", 2)
    if args.minutes is not None and not args.minutes > 0:  # nan is not > 0 either
        raise CommandError("--minutes must be positive", 2)
    if args.submit:
        return _submit(args, plugin, data)
    if args.partition or args.gpus or args.nodes != 1 or args.time_limit:
        raise CommandError("--partition, --gpus, --nodes and --time go with --submit slurm|local", 2)
    hook = JsonLines() if args.json else ProgressPrinter()
    try:
        settings = parse_set_args(args.settings)
        from studio.core.training.engine import train
        result = train(plugin, data, args.out, steps=args.steps, minutes=args.minutes, device=args.device,
                       seed=args.seed, settings=settings, resume=args.resume, hooks=hook,
                       reserve_core=args.reserve_core, control_after=args.control_after,
                       tensorboard=_tensorboard_wanted(args))
    except (RunFolderError, ValueError, LookupError, OSError) as exc:
        if args.json:
            hook(error_event(str(exc), exc))
        raise CommandError(str(exc), 2) from exc
    if result.status == RunStatus.FAILED:
        # a failed torchrun worker must also skip gloo's teardown (it can abort there): say why, then leave
        _leave_if_distributed(1, f"studio train: run failed: {result.reason}")
        raise CommandError(f"run failed: {result.reason}", 1)
    _leave_if_distributed(0)
    return 0


def _tensorboard_wanted(args) -> bool:
    """``--tensorboard``/``--no-tensorboard``, else the project setting of the project holding the run."""
    if args.tensorboard is not None:
        return args.tensorboard
    from studio.core.training.tensorboard_live import project_wants_live
    return project_wants_live(args.out)


def _submit(args, plugin: str, data: str) -> int:
    """``--submit``: the job runs this same command (without --submit) where the scheduler puts it."""
    from studio.core.training.settings import parse_set_args
    from studio.core.training.submit import submit

    argv = ["--plugin", plugin, "--data", os.path.abspath(data), "--out", os.path.abspath(args.out),
            "--device", args.device]
    argv += ["--steps", str(args.steps)] if args.steps is not None else []
    argv += ["--minutes", str(args.minutes)] if args.minutes is not None else []
    argv += ["--seed", str(args.seed)] if args.seed is not None else []
    for item in args.settings:
        argv += ["--set", item]
    argv += ["--resume"] if args.resume else []
    if _tensorboard_wanted(args) or args.tensorboard is False:
        argv.append("--tensorboard" if _tensorboard_wanted(args) else "--no-tensorboard")
    try:
        parse_set_args(args.settings)  # a malformed --set is refused here, not in the queue hours later
        sub = submit(argv, args.out, backend=args.submit, resume=args.resume, plugin=plugin,
                     data=os.path.abspath(data), max_steps=args.steps, max_minutes=args.minutes,
                     partition=args.partition, gpus=args.gpus, nodes=args.nodes, time_limit=args.time_limit)
    except (ValueError, OSError) as exc:  # SubmitError, RunFolderError, ConfigError: in words
        raise CommandError(str(exc), 2) from exc
    if args.json:  # one JSON line, like the events of a local `studio train --json`
        print(json.dumps({"event": "submitted", "run_dir": os.path.abspath(args.out),
                          **{k: v for k, v in sub.items() if k != "token"}}), flush=True)
    else:
        print(f"submitted to {sub['backend']} as job {sub['job_id']} ({sub['state']}); run folder {args.out}, "
              f"job logs in {os.path.join(args.out, sub['logs'])}; cancel with `studio runs cancel {args.out}`")
    return 0


def _leave_if_distributed(code: int, message: str = "") -> None:
    """A torchrun worker leaves without interpreter teardown once its files are written.

    torch's gloo process group can abort in its C++ destructors at interpreter exit ("terminate
    called without an active exception"), seen rarely on a loaded 2-core machine even after
    destroy_process_group(); the run folder is complete by then, so skip the teardown.
    """
    from studio.core.training import ddp

    if ddp.from_env().enabled:
        import logging

        if message:
            print(message, file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
