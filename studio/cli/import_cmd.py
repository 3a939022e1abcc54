"""`studio import {images|music|text} SRC... --out DATASET_DIR`: build a dataset folder from your files.

Also `studio import demo-images|demo-music|demo-text --out DIR` (no SRC): the built-in demo
sources (generated shapes, music21's Essen folk songs, Shakespeare's plays).
Exit 0: something was imported (skipped files are listed with reasons); 2: nothing usable.
"""
from __future__ import annotations

import sys

KINDS = {"images": "image", "music": "melody", "text": "text",
         "demo-images": "image", "demo-music": "melody", "demo-text": "text"}


def add_arguments(p) -> None:
    p.epilog = ("kinds: images (PNG/JPEG/WebP/BMP/GIF/TIFF, folders, .zip), music (MIDI, ABC, MusicXML), "
                "text (.txt/.md, UTF-8/UTF-16, legacy encodings reported); demo-images, demo-music, demo-text "
                "import the built-in demo sources and take no SRC. Exit status: 0 imported, 2 nothing usable.")
    p.add_argument("kind", choices=list(KINDS), help="what to import")
    p.add_argument("sources", nargs="*", metavar="SRC", help="files, folders or .zip archives")
    p.add_argument("--out", required=True, metavar="DATASET_DIR", help="dataset folder to write (created)")
    g = p.add_argument_group("images")
    g.add_argument("--size", type=int, default=64, help="square size in pixels (default 64)")
    g.add_argument("--channels", type=int, choices=(1, 3), default=3, help="1 greyscale or 3 colour (default 3)")
    g.add_argument("--fit", choices=("crop", "pad"), default="crop", help="centre-crop (default) or pad to square")
    g.add_argument("--labels", action="store_true", help="class labels from sub-folder names")
    g.add_argument("--hflip", action="store_true", help="random horizontal flips at training time")
    m = p.add_argument_group("music")
    m.add_argument("--phrase-bars", type=int, default=2, help="phrase length in 4/4 bars (default 2)")
    m.add_argument("--transpose", action="store_true", help="add transposed copies (-3..+3 semitones) for training")
    m.add_argument("--track", type=int, default=None, help="read only this MIDI track / score part (0-based)")
    t = p.add_argument_group("text")
    t.add_argument("--val-fraction", type=float, default=0.1, help="share held out for validation (default 0.1)")
    p.add_argument("--n", type=int, default=None, help="demo only: number of shapes or tunes (0: every Essen tune)")
    p.add_argument("--do-not-train", choices=("skip", "include"), default=None,
                   help="files whose Content Credentials (C2PA) say no to AI training: skip them (the default) "
                        "or include them; the choice is remembered for the dataset")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _progress_printer(enabled: bool):
    if not enabled:
        return None
    state = {"last": ""}

    def show(done: int, total: int, message: str) -> None:
        line = f"\r{message} {done}/{total}" if total else f"\r{message}"
        if line != state["last"]:
            sys.stderr.write(line.ljust(60))
            sys.stderr.flush()
            state["last"] = line
    return show


def _options(args, modality: str) -> dict:
    if modality == "image":
        return {"size": args.size, "channels": args.channels, "fit": args.fit, "labels": args.labels,
                "hflip": args.hflip, "val_fraction": args.val_fraction}
    if modality == "melody":
        return {"phrase_bars": args.phrase_bars, "transpose": args.transpose, "track": args.track,
                "val_fraction": args.val_fraction}
    return {"val_fraction": args.val_fraction}


def run(args) -> int:
    from studio.cli import CommandError, emit_json
    from studio.core.datasets import import_dataset, import_demo

    modality = KINDS[args.kind]
    demo = args.kind.startswith("demo-")
    if demo and args.sources:
        raise CommandError(f"{args.kind} takes no SRC (it imports the built-in demo source)", 2)
    if not demo and not args.sources:
        raise CommandError(f"name at least one file, folder or .zip to import as {args.kind}", 2)
    progress = _progress_printer(not args.quiet and not args.json and sys.stderr.isatty())
    try:
        opts = _options(args, modality)
        if demo:
            if modality == "image":
                opts["labels"] = True  # the demo shapes are always labelled by kind (circle, square, ...)
            result = import_demo(modality, args.out, n=args.n, progress=progress, **opts)
        else:
            from studio.core.datasets.training_permission import opt_out_choice
            with opt_out_choice(args.do_not_train):
                result = import_dataset(modality, args.sources, args.out, progress=progress, **opts)
    except ValueError as exc:  # bad option values, an --out that is not a dataset folder
        raise CommandError(str(exc), 2) from exc
    except OSError as exc:  # a full disk (DiskFullError names the file), an unwritable --out
        words = exc.strerror or str(exc) or f"could not write {args.out}"
        raise CommandError(f"{words}: {exc.filename}" if exc.filename else words, 1) from exc
    finally:
        if progress:
            sys.stderr.write("\n")
    if args.json:
        emit_json(result.to_json())
    else:
        for line in result.summary_lines():
            print(line)
        for s in result.skipped:
            print(f"  skipped {s['path']}: {s['reason']}")
        for w in result.warnings:
            print(f"  note    {w['path']}: {w['message']}")
        if result.ok:
            print(f"dataset written to {result.folder}" if not result.cached else f"dataset is up to date: {result.folder}")
    if not result.ok:
        if not args.json:
            print(f"studio import: nothing usable found in {', '.join(args.sources) or 'the demo source'}; "
                  "see the reasons above", file=sys.stderr)
        return 2
    return 0
