"""`studio generate --run RUN_DIR --out PATH [...]`: images, melodies or text from a run, with provenance.

``--out`` is a folder (one file per sample, named ``{plugin}-{run}-{seed}-{index}``)
or, with ``--n 1`` (or ``--grid`` / GIF), a file whose extension may imply
``--format``. Every file carries its recipe and the AI-generated disclosure;
existing files are never replaced without ``--overwrite``.

The model is opened with ``studio.core.session.open_run`` (as every panel opens it) on ``--device``
(default cpu: the same bytes on every machine; ``auto`` takes an accelerator when there is one).
"""
from __future__ import annotations

import sys
from pathlib import Path

from studio.cli import CommandError, arg_checks, emit_json
from studio.cli.program_arg import add_program_argument
from studio.cli.share_arg import add_share_argument, share_scoped
from studio.cli.size_args import add_size_arguments, size_from_args
from studio.core.export.credentials import inputs_from_args

MAX_SAMPLES = 10_000  # one command; more is a script's loop, not a typo to spend an hour on
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
    from studio.core.export.generate import GenerateError, GenerateRequest, Source, generate_files
    from studio.core.export.naming import OverwriteError
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
    try:
        paths = generate_files(session.model, plugin, req, source, draw_vectors=session.draw_vectors,
                               sample=session.sample)
    except OverwriteError as exc:
        raise CommandError(str(exc), 3) from exc
    except GenerateError as exc:
        raise CommandError(str(exc), 2) from exc
    if args.json:
        emit_json({"files": [str(p) for p in paths], "plugin": plugin.id, "run": source.run_id,
                   "checkpoint": source.checkpoint_path, "step": source.checkpoint_step,
                   "checkpoint_sha256": source.checkpoint_sha256, "seed": args.seed, "n": args.n,
                   "size": size.to_dict() if size else None})
        return 0
    for p in paths:
        sys.stdout.write(f"{p}\n")
    return 0
