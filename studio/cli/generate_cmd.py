"""`studio generate --run RUN_DIR --out PATH [...]`: images, melodies or text from a run, with provenance.

``--out`` is a folder (one file per sample, named ``{plugin}-{run}-{seed}-{index}``)
or, with ``--n 1`` (or ``--grid`` / GIF), a file whose extension may imply
``--format``. Every file carries its recipe and the AI-generated disclosure;
existing files are never replaced without ``--overwrite``.
"""
from __future__ import annotations

import sys
from pathlib import Path

from studio.cli import CommandError, emit_json
from studio.cli.program_arg import add_program_argument
from studio.cli.size_args import add_size_arguments, size_from_args

FORMAT_CHOICES = ("png", "jpg", "jpeg", "webp", "gif", "mid", "midi", "wav", "flac", "txt")


def add_arguments(p) -> None:
    p.add_argument("--run", metavar="RUN_DIR", required=True, help="run folder (or a .safetensors checkpoint)")
    p.add_argument("--out", metavar="PATH", required=True,
                   help="folder for one file per sample, or a file path with --n 1 (its extension sets the format)")
    p.add_argument("--n", type=int, default=1, help="number of samples (default 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same files (default 0)")
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
    p.add_argument("--bpm", type=float, default=120.0, help="melodies: tempo of the MIDI/audio file (default 120)")
    add_program_argument(p)
    p.add_argument("--checkpoint", default=None, help="latest (default), best, a step number or a checkpoint file")
    p.add_argument("--overwrite", action="store_true", help="replace files that already exist")
    p.add_argument("--no-vector", action="store_true",
                   help="privacy: leave the latent vector and file paths out of the metadata "
                        "(the AI-generated disclosure is always written)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    from studio.core.export.generate import GenerateError, GenerateRequest, generate_files, source_for_run
    from studio.core.export.naming import OverwriteError
    from studio.core.training.checkpoints import CheckpointError, load_model

    size = size_from_args(args)  # bad --scale/--resample fail before the model loads
    try:
        model, plugin, info = load_model(args.run, checkpoint=args.checkpoint, device="cpu")
    except CheckpointError as exc:
        raise CommandError(str(exc), 2) from exc
    if args.program is not None and plugin.modality != "melody":
        raise CommandError(f"--program chooses a melody's instrument; {args.run} makes {plugin.modality}, not melodies",
                           2)
    req = GenerateRequest(out=Path(args.out), n=args.n, seed=args.seed, temperature=args.temperature,
                          top_k=args.top_k, top_p=args.top_p, length=args.length, prime=args.prime, fmt=args.fmt,
                          grid=args.grid, overwrite=args.overwrite, private=args.no_vector, bpm=args.bpm,
                          size=size, program=args.program)
    source = source_for_run(args.run, info)
    try:
        paths = generate_files(model, plugin, req, source)
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
