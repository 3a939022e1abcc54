"""`studio generate --run RUN_DIR --out PATH [...]`: images, melodies or text from a run, with provenance.

``--out`` is a folder (one file per sample, named ``{plugin}-{run}-{seed}-{index}``)
or, with ``--n 1`` (or ``--grid`` / GIF), a file whose extension may imply
``--format``. Every file carries its recipe and the AI-generated disclosure;
existing files are never replaced without ``--overwrite``.

Samples are drawn and written 64 at a time (``studio.core.export.generate.BATCH``), so memory does not
grow with ``--n``; each file's path goes to stdout as it is written and a progress line per batch to
stderr. Ctrl+C or SIGTERM stops between files: every file written is complete, and the last line says
how many there are (exit 130 / 143).

The model is opened with ``studio.core.session.open_run`` (as every panel opens it) on ``--device``
(default cpu: the same bytes on every machine; ``auto`` takes an accelerator when there is one).
"""
from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from studio.cli import CommandError, arg_checks, emit_json
from studio.cli.program_arg import add_program_argument
from studio.cli.share_arg import add_share_argument, share_scoped
from studio.cli.size_args import add_size_arguments, size_from_args
from studio.core.export.credentials import inputs_from_args

# Streaming keeps memory flat in --n, so the bound is only for the disk (and a typo's hours): 100,000
# files in one folder; besides, after the first batch the rest is checked against the free space.
MAX_SAMPLES = 100_000
FORMAT_CHOICES = ("png", "jpg", "jpeg", "webp", "gif", "mid", "midi", "wav", "flac", "txt")


def add_arguments(p) -> None:
    p.add_argument("--run", metavar="RUN_DIR", required=True, help="run folder (or a .safetensors checkpoint)")
    p.add_argument("--out", metavar="PATH", required=True,
                   help="folder for one file per sample, or a file path with --n 1 (its extension sets the format)")
    p.add_argument("--n", type=arg_checks.positive_int("the number of samples (--n)", MAX_SAMPLES), default=1,
                   help=f"number of samples (default 1, at most {MAX_SAMPLES})")
    p.add_argument("--seed", type=arg_checks.seed, default=0,
                   help="random seed: the same seed gives the same files (default 0)")
    p.add_argument("--temperature", type=float, default=None, help="sampling temperature (model default if unset)")
    p.add_argument("--top-k", type=int, default=None, help="sequence models: keep the k likeliest tokens")
    p.add_argument("--top-p", type=float, default=None, help="sequence models: nucleus sampling probability")
    p.add_argument("--length", type=int, default=None,
                   help="16th-note steps for melodies, characters for text")
    p.add_argument("--prime", metavar="TEXT_OR_FILE", default=None,
                   help="text to continue (or a text file); for melodies a MIDI file")
    p.add_argument("--format", dest="fmt", choices=FORMAT_CHOICES, default=None,
                   help="png, jpg, webp or gif for images; mid, wav or flac for melodies; txt for text")
    p.add_argument("--grid", action="store_true", help="images: one labelled contact sheet instead of one file each")
    add_size_arguments(p)
    p.add_argument("--bpm", type=arg_checks.bpm, default=120.0,
                   help="melodies: tempo of the MIDI/audio file (default 120, 20..400)")
    add_program_argument(p)
    p.add_argument("--checkpoint", default=None, help="latest (default), best, a step number or a checkpoint file")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                   help="where the model runs: cpu (default), cuda, or auto (an accelerator when there is one)")
    p.add_argument("--overwrite", action="store_true", help="replace files that already exist")
    p.add_argument("--no-vector", action="store_true",
                   help="privacy: leave the latent vector and file paths out of the metadata "
                        "(the AI-generated disclosure is always written)")
    add_share_argument(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")


@share_scoped
@inputs_from_args("prime")  # a primer file is an ingredient of the Content Credentials
def run(args) -> int:
    from studio.core.devices import DeviceUnavailable
    from studio.core.export.generate import (BATCH, GenerateError, GenerateRequest, NotEnoughSpace, Source,
                                             generate_batches)
    from studio.core.export.naming import OverwriteError
    from studio.core.fileio import DiskFullError
    from studio.core.session import open_run
    from studio.core.training.checkpoints import CheckpointError

    size = size_from_args(args)  # bad --scale/--resample fail before the model loads
    try:
        session = open_run(args.run, checkpoint=args.checkpoint, device=getattr(args, "device", "cpu"))
    except DeviceUnavailable as exc:
        raise CommandError(f"--device {args.device}: {exc}", 2) from None
    except CheckpointError as exc:
        raise CommandError(str(exc), 2) from exc
    plugin, origin = session.plugin, session.origin
    if args.program is not None and plugin.modality != "melody":
        raise CommandError(f"--program chooses a melody's instrument; {args.run} makes {plugin.modality}, not melodies",
                           2)
    req = GenerateRequest(out=Path(args.out), n=args.n, seed=args.seed, temperature=args.temperature,
                          top_k=args.top_k, top_p=args.top_p, length=args.length, prime=args.prime, fmt=args.fmt,
                          grid=args.grid, overwrite=args.overwrite, private=args.no_vector, bpm=args.bpm,
                          size=size, program=args.program)
    source = Source(origin.run_id, origin.run_dir, origin.checkpoint_path or None, origin.checkpoint_step,
                    origin.checkpoint_sha256)
    writer = _Writer(echo=not args.json)
    started = time.monotonic()
    try:
        with writer.stoppable():
            for batch in generate_batches(session.model, plugin, req, source, draw_vectors=session.draw_vectors,
                                          sample=session.sample, writing=writer.writing):
                if batch.total > BATCH:
                    print(f"studio generate: {batch.done:,}/{batch.total:,} samples written "
                          f"({time.monotonic() - started:.1f} s)", file=sys.stderr, flush=True)
    except Stopped as stop:
        if args.json:
            _emit(args, writer.paths, plugin, source, size, stopped=stop.name)
        print(f"studio generate: stopped by {stop.name} after {len(writer.paths):,} of {args.n:,} files; "
              f"the {len(writer.paths):,} written are complete", file=sys.stderr)
        return 128 + stop.signum
    except OverwriteError as exc:
        raise CommandError(str(exc), 3) from exc
    except NotEnoughSpace as exc:
        if args.json:
            _emit(args, writer.paths, plugin, source, size, stopped="disk space")
        raise CommandError(str(exc), 1) from exc
    except GenerateError as exc:
        raise CommandError(str(exc), 2) from exc
    except DiskFullError as exc:
        raise CommandError(f"{exc.strerror}; the {len(writer.paths):,} files written before it are complete", 1) \
            from exc
    if args.json:
        _emit(args, writer.paths, plugin, source, size)
    return 0


def _emit(args, paths, plugin, source, size, stopped: str | None = None) -> None:
    doc = {"files": [str(p) for p in paths], "plugin": plugin.id, "run": source.run_id,
           "checkpoint": source.checkpoint_path, "step": source.checkpoint_step,
           "checkpoint_sha256": source.checkpoint_sha256, "seed": args.seed, "n": args.n,
           "size": size.to_dict() if size else None}
    if stopped:
        doc["stopped"] = stopped
    emit_json(doc)


class Stopped(BaseException):
    """Ctrl+C or SIGTERM while generating (a BaseException, like KeyboardInterrupt: no ``except Exception``
    in a plugin's sampling loop swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.name = "Ctrl+C" if signum == signal.SIGINT else signal.Signals(signum).name


class _Writer:
    """Counts (and prints) the files as they are written, and holds a stop back while one is being written,
    so that a stop never leaves half a file or a text without its sidecar."""

    def __init__(self, echo: bool):
        self.echo, self.paths = echo, []
        self._in_write, self._pending = False, None

    def _on_signal(self, signum, _frame) -> None:
        if self._in_write:
            self._pending = signum  # acted on as soon as this file is complete
        else:
            raise Stopped(signum)

    @contextmanager
    def stoppable(self):
        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            yield
            return
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)

    @contextmanager
    def writing(self, path):
        self._in_write = True
        try:
            yield
        except BaseException:
            self._in_write = False
            raise
        self.paths.append(path)
        if self.echo:
            sys.stdout.write(f"{path}\n")
            sys.stdout.flush()
        self._in_write = False
        if self._pending is not None:
            raise Stopped(self._pending)
