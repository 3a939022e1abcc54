"""`studio interpolate`: walk through a run's latent space from one seed to another and save it.

    studio interpolate --run R --out PATH --steps N [--from SEED --to SEED] [--method lerp|slerp]
                       [--format gif|mp4|png|mid|wav] [--fps F] [--checkpoint C] [--json]

Images: GIF, MP4, or PNG (a ``.png`` path gives one strip of all frames; a folder, one file per
frame). Melodies: MIDI (one phrase per step) or WAV. The format follows the extension of
``--out`` unless ``--format`` says otherwise.
"""
from __future__ import annotations

from pathlib import Path

FORMATS = ("gif", "mp4", "png", "mid", "wav")


def add_arguments(p) -> None:
    p.add_argument("--run", required=True, help="run folder (or a checkpoint file) of a model with a latent space")
    p.add_argument("--out", required=True, help="output file, or a folder for PNG frames")
    p.add_argument("--steps", type=int, default=16, help="frames (or phrases) from start to end, both included")
    p.add_argument("--from", dest="from_seed", type=int, default=0, help="seed of the start point (default 0)")
    p.add_argument("--to", dest="to_seed", type=int, default=1, help="seed of the end point (default 1)")
    p.add_argument("--method", choices=("lerp", "slerp"), default="slerp", help="interpolation (default slerp)")
    p.add_argument("--format", choices=FORMATS, default=None, help="output format (default: from --out's extension)")
    p.add_argument("--fps", type=float, default=12.0, help="frames per second of GIF/MP4 (default 12)")
    p.add_argument("--checkpoint", default=None, help='"latest" (default), "best", a step number or a file')
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _format(args, modality: str) -> str:
    fmt = args.format or Path(args.out).suffix.lower().lstrip(".") or ("png" if modality == "image" else "mid")
    fmt = {"midi": "mid", "jpg": "png"}.get(fmt, fmt)
    if fmt not in FORMATS:
        from studio.cli import CommandError
        raise CommandError(f"{args.out}: cannot tell the format from the extension; use --format {'|'.join(FORMATS)}", 2)
    return fmt


def run(args) -> int:
    from studio.cli import CommandError, emit_json

    if args.steps < 2:
        raise CommandError(f"--steps must be at least 2 (got {args.steps})", 2)
    if args.fps <= 0:
        raise CommandError(f"--fps must be positive (got {args.fps})", 2)
    try:
        from studio.core.training.checkpoints import load_model
    except ImportError as exc:
        raise CommandError(f"the training engine is not installed ({exc})") from exc
    import numpy as np

    from studio.core.latent import seed_vector, walk_between
    from studio.core.latent.walk_export import (contact_sheet, to_uint8_hwc, write_gif, write_melody_walk_midi,
                                                write_melody_walk_wav, write_mp4, write_png, write_png_frames)
    from studio.core.latent_decoder import TorchDecoder

    model, plugin, info = load_model(args.run, checkpoint=args.checkpoint)
    if not int(getattr(model, "latent_dim", 0) or 0) or not callable(getattr(model, "decode", None)):
        raise CommandError(f"{args.run}: {getattr(plugin, 'id', 'this model')} has no latent space to walk through "
                           "(needs the 'latent' capability)")
    decoder = TorchDecoder(model)
    fmt = _format(args, decoder.modality)
    wanted = ("gif", "mp4", "png") if decoder.modality == "image" else ("mid", "wav")
    if fmt not in wanted:
        raise CommandError(f"{args.out}: {fmt} does not suit a {decoder.modality} model; use {', '.join(wanted)}", 2)
    dim = decoder.latent_dim
    z = walk_between(seed_vector(args.from_seed, dim), seed_vector(args.to_seed, dim), args.steps, args.method)
    out = decoder.decode(z)
    prov = {"plugin": getattr(plugin, "id", ""), "run": str(args.run), "checkpoint": str(info.path),
            "from_seed": args.from_seed, "to_seed": args.to_seed, "method": args.method, "steps": args.steps}
    target = Path(args.out)
    min_pitch = int(getattr(getattr(model, "spec", None), "min_pitch", 0) or 36)
    if fmt == "gif":
        frames = to_uint8_hwc(out)
        written = write_gif(target, frames, args.fps, scale=max(1, 128 // frames.shape[1]), provenance=prov)
    elif fmt == "mp4":
        written = write_mp4(target, to_uint8_hwc(out), args.fps, provenance=prov)
    elif fmt == "png" and target.suffix.lower() == ".png":
        frames = to_uint8_hwc(out)
        written = write_png(target, contact_sheet(frames, 1, len(frames)), prov)
    elif fmt == "png":
        written = write_png_frames(target, to_uint8_hwc(out), prov)[0].parent
    elif fmt == "mid":
        written = write_melody_walk_midi(target, out, min_pitch=min_pitch, provenance=prov)
    else:
        written = write_melody_walk_wav(target, out, min_pitch=min_pitch)
    result = {"out": str(written), "format": fmt, "steps": int(len(z)), "method": args.method,
              "from": args.from_seed, "to": args.to_seed, "plugin": prov["plugin"], "checkpoint": prov["checkpoint"],
              "modality": decoder.modality, "latent_dim": dim,
              "start_end_distance": float(np.linalg.norm(z[-1] - z[0]))}
    if args.json:
        emit_json(result)
    else:
        print(f"wrote {written} ({len(z)} steps, {args.method}, seeds {args.from_seed} -> {args.to_seed})")
    return 0
