"""`studio interpolate`: walk through a run's latent space from one point to another and save it.

    studio interpolate --run R --out PATH --steps N [--from SEED | --from-file A] [--to SEED | --to-file B]
                       [--method lerp|slerp] [--format gif|mp4|png|mid|wav] [--fps F] [--checkpoint C]
                       [--scale 1|2|4|8 [--resample nearest|smooth]] [--share]
                       [--soundtrack MELODY_RUN [--bpm BPM] [--hold]
                        [--soundtrack-from-file M] [--soundtrack-to-file M]] [--json]

The ends of the walk are seeds, or the user's own files (images for an image model, MIDI/ABC/
MusicXML for a melody model) placed in latent space by the model's encoder (``encode`` capability).
Images: GIF, MP4, or PNG (a ``.png`` path gives one strip of all frames; a folder, one file per
frame), each picture enlarged by ``--scale`` (see ``studio.core.export.scale``). Melodies: MIDI
(one phrase per step) or WAV. The format follows the extension of
``--out`` unless ``--format`` says otherwise. ``--soundtrack`` (MP4 only) walks a melody run from
the same seeds (or from/to the user's melodies: ``--soundtrack-from-file``/``--soundtrack-to-file``)
over the same steps: picture k is on screen exactly when phrase k starts, and the
pictures glide to the next one during the phrase, one decoded latent per video frame (``--hold``
holds each picture for its phrase instead). See ``studio.core.latent.soundtrack``: the frame rate
is adjusted so every phrase starts on a frame and both streams last equally long.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from studio.cli.share_arg import share_scoped
from studio.core.export.credentials import inputs_from_args

FORMATS = ("gif", "mp4", "png", "mid", "wav")
DECODE_BATCH = 64  # video frames per decoder call for a --soundtrack glide (bounded memory, few calls)


def add_arguments(p) -> None:
    p.add_argument("--run", required=True, help="run folder (or a checkpoint file) of a model with a latent space")
    p.add_argument("--out", required=True, help="output file, or a folder for PNG frames")
    p.add_argument("--steps", type=int, default=16, help="frames (or phrases) from start to end, both included")
    p.add_argument("--from", dest="from_seed", type=int, default=0, help="seed of the start point (default 0)")
    p.add_argument("--to", dest="to_seed", type=int, default=1, help="seed of the end point (default 1)")
    p.add_argument("--from-file", default=None,
                   help="start at your own file (image, or MIDI/ABC/MusicXML for melodies); needs a model that can encode")
    p.add_argument("--to-file", default=None, help="end at your own file (like --from-file)")
    p.add_argument("--method", choices=("lerp", "slerp"), default="slerp", help="interpolation (default slerp)")
    p.add_argument("--format", choices=FORMATS, default=None, help="output format (default: from --out's extension)")
    p.add_argument("--fps", type=float, default=12.0,
                   help="frames per second of GIF/MP4 (default 12; with --soundtrack, adjusted to fit the music)")
    p.add_argument("--checkpoint", default=None, help='"latest" (default), "best", a step number or a file')
    p.add_argument("--soundtrack", default=None, metavar="MELODY_RUN",
                   help="MP4 only: a melody run with a latent space walks from the same seeds; its phrases are the sound")
    p.add_argument("--soundtrack-from-file", default=None, metavar="MELODY_FILE",
                   help="with --soundtrack: the music starts at your own melody (MIDI/ABC/MusicXML) instead of --from's seed")
    p.add_argument("--soundtrack-to-file", default=None, metavar="MELODY_FILE",
                   help="with --soundtrack: the music ends at your own melody (like --soundtrack-from-file)")
    p.add_argument("--bpm", type=float, default=120.0, help="tempo of the --soundtrack phrases (default 120)")
    p.add_argument("--hold", action="store_true",
                   help="with --soundtrack: hold each picture for its whole phrase (a slideshow) instead of gliding "
                        "smoothly from one picture to the next in time with the music")
    from studio.cli.size_args import add_size_arguments
    add_size_arguments(p)
    from studio.cli.share_arg import add_share_argument
    add_share_argument(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _format(args, modality: str) -> str:
    fmt = args.format or Path(args.out).suffix.lower().lstrip(".") or ("png" if modality == "image" else "mid")
    fmt = {"midi": "mid", "jpg": "png"}.get(fmt, fmt)
    if fmt not in FORMATS:
        from studio.cli import CommandError
        raise CommandError(f"{args.out}: cannot tell the format from the extension; use --format {'|'.join(FORMATS)}", 2)
    return fmt


def _end(model, plugin, args, which: str, prefix: str = "", run_dir=None):
    """(vector, label, FileCode or None) for one end of the walk: a file when given, else a seed.

    ``prefix`` "soundtrack_" reads the --soundtrack-from-file/--soundtrack-to-file ends (of the
    melody run ``run_dir``); the seeds are the walk's own either way."""
    from studio.cli import CommandError
    from studio.core.latent import seed_vector
    from studio.core.latent.from_files import FileEncodeError, encode_file

    path = getattr(args, f"{prefix}{which}_file")
    if path is None:
        seed = getattr(args, f"{which}_seed")
        return seed_vector(seed, int(model.latent_dim)), f"seed {seed}", None
    try:
        code = encode_file(model, path, plugin=plugin, run_dir=run_dir or args.run)
    except FileEncodeError as exc:
        raise CommandError(f"--{prefix.replace('_', '-')}{which}-file {exc}", 2) from None
    return code.vector, code.name, code


def _latent_decoder(session, where: str, hint: str, code: int = 2):
    """The session's torch latent decoder, or a one-line refusal when its plugin declares no latent space."""
    from studio.cli import CommandError
    from studio.core.session import MissingCapability

    try:
        return session.latent.torch_decoder()
    except (MissingCapability, ValueError) as exc:
        raise CommandError(f"{where}: {session.plugin.id} has no latent space to walk through ({hint}): {exc}",
                           code) from None


def _soundtrack(args, steps: int):
    """(plan, audio, provenance) of the melody walk that accompanies an image walk."""
    from studio.cli import CommandError
    from studio.core.latent import walk_between
    from studio.core.latent.soundtrack import plan, render_soundtrack
    from studio.core.latent.walk_export import run_identity
    from studio.core.session import open_run

    try:
        session = open_run(args.soundtrack)
    except (OSError, ValueError, LookupError) as exc:
        raise CommandError(f"--soundtrack {args.soundtrack}: {exc}", 2) from None
    model, plugin = session.model, session.plugin
    decoder = _latent_decoder(session, f"--soundtrack {args.soundtrack}", "use a melody-vae run")
    if decoder.modality != "melody":
        raise CommandError(f"--soundtrack {args.soundtrack}: is an {decoder.modality} model; a melody run is needed", 2)
    ends = [_end(model, plugin, args, which, "soundtrack_", args.soundtrack) for which in ("from", "to")]
    events = decoder.decode(walk_between(ends[0][0], ends[1][0], steps, args.method))
    try:
        p = plan(steps, int(events.shape[1]), args.bpm, args.fps)
    except ValueError as exc:
        raise CommandError(f"--bpm/--fps: {exc}", 2) from None
    min_pitch = int(getattr(getattr(model, "spec", None), "min_pitch", 0) or 36)
    run_id, _ = run_identity(str(args.soundtrack))
    prov = {"run": str(args.soundtrack), "run_id": run_id, "plugin": getattr(plugin, "id", ""),
            "checkpoint": session.origin.checkpoint_path, **p.to_dict()}
    for which, (_, _, code) in zip(("from", "to"), ends):  # file names only, never their content
        prov.update({f"{which}_file": code.name} if code else {f"{which}_seed": getattr(args, f"{which}_seed")})
    return p, render_soundtrack(events, p, min_pitch), prov


def _write_mp4_with_sound(target: Path, decoder, z, p, audio, prov, method: str, hold: bool, size=None) -> Path:
    """Frames streamed to the writer batch by batch: glided in-betweens, or each picture held."""
    import soundfile as sf

    from studio.core.latent.soundtrack import SAMPLE_RATE, glide_batches, held_batches
    from studio.core.latent.walk_export import to_uint8_hwc, write_mp4_stream

    batches = (held_batches(to_uint8_hwc(decoder.decode(z)), p) if hold
               else glide_batches(decoder, z, p, method, batch=DECODE_BATCH))
    with tempfile.TemporaryDirectory(prefix="studio-soundtrack-") as tmp:
        wav = os.path.join(tmp, "soundtrack.wav")
        sf.write(wav, audio, SAMPLE_RATE, subtype="PCM_16")
        return write_mp4_stream(target, batches, p.fps, audio_path=wav, provenance=prov, size=size)


@share_scoped  # recipes without local paths: --share, or the project's "share_exports" setting
@inputs_from_args("from_file", "to_file", "soundtrack_from_file", "soundtrack_to_file")  # C2PA ingredients
def run(args) -> int:
    from studio.cli import CommandError, emit_json

    if args.steps < 2:
        raise CommandError(f"--steps must be at least 2 (got {args.steps})", 2)
    if args.fps <= 0:
        raise CommandError(f"--fps must be positive (got {args.fps})", 2)
    from studio.cli.size_args import size_from_args
    size = size_from_args(args)
    try:
        import torch  # noqa: F401 - models need it; say so in words when it is missing
    except ImportError as exc:
        raise CommandError(f"the training engine is not installed ({exc})") from exc
    import numpy as np

    from studio.core.export.scale import check_budget, scale_frames
    from studio.core.latent import walk_between
    from studio.core.latent.walk_export import (contact_sheet, to_uint8_hwc, write_gif, write_melody_walk_midi,
                                                write_melody_walk_wav, write_mp4, write_png, write_png_frames)
    from studio.core.session import open_run

    session = open_run(args.run, checkpoint=args.checkpoint)
    model, plugin = session.model, session.plugin
    decoder = _latent_decoder(session, str(args.run), "needs the 'latent' capability", code=1)
    fmt = _format(args, decoder.modality)
    wanted = ("gif", "mp4", "png") if decoder.modality == "image" else ("mid", "wav")
    if fmt not in wanted:
        raise CommandError(f"{args.out}: {fmt} does not suit a {decoder.modality} model; use {', '.join(wanted)}", 2)
    if size is not None and decoder.modality != "image":
        raise CommandError(f"--scale/--resample enlarge pictures; {args.run} is a {decoder.modality} model "
                           f"({fmt} files have no pixels), so leave them out", 2)
    if args.soundtrack and fmt != "mp4":
        raise CommandError(f"{args.out}: --soundtrack needs an MP4 output of an image walk (got {fmt})", 2)
    if args.hold and not args.soundtrack:
        raise CommandError("--hold only applies with --soundtrack (it holds each picture for its phrase)", 2)
    if (args.soundtrack_from_file or args.soundtrack_to_file) and not args.soundtrack:
        raise CommandError("--soundtrack-from-file/--soundtrack-to-file need --soundtrack MELODY_RUN "
                           "(the melody model that places them)", 2)
    a, a_label, a_code = _end(model, plugin, args, "from")
    b, b_label, b_code = _end(model, plugin, args, "to")
    z = walk_between(a, b, args.steps, args.method)
    prov = {"plugin": getattr(plugin, "id", ""), "run": str(args.run), "checkpoint": session.origin.checkpoint_path,
            "method": args.method, "steps": args.steps}
    for which, code in (("from", a_code), ("to", b_code)):  # file names only, never their content
        prov.update({f"{which}_file": code.name} if code else {f"{which}_seed": getattr(args, f"{which}_seed")})
    sound = _soundtrack(args, args.steps) if args.soundtrack else None
    if sound:
        prov["soundtrack"] = {**sound[2], "motion": "hold" if args.hold else "glide",
                              "keyframe": "on the first frame of its phrase"}
    # the soundtrack MP4 decodes its own frames, batch by batch, as it writes them
    out = None if sound else decoder.decode(z)
    target = Path(args.out)
    min_pitch = int(getattr(getattr(model, "spec", None), "min_pitch", 0) or 36)
    fps = args.fps
    if fmt == "gif":
        frames = to_uint8_hwc(out)
        written = write_gif(target, frames, args.fps, scale=max(1, 128 // frames.shape[1]), provenance=prov,
                            size=size)
    elif fmt == "mp4" and sound:
        fps = sound[0].fps
        written = _write_mp4_with_sound(target, decoder, z, sound[0], sound[1], prov, args.method, args.hold, size)
    elif fmt == "mp4":
        written = write_mp4(target, to_uint8_hwc(out), args.fps, provenance=prov, size=size)
    elif fmt == "png" and target.suffix.lower() == ".png":  # one strip: cells enlarged, then laid out
        frames = to_uint8_hwc(out)
        k = size.scale if size else 1
        check_budget(len(frames) * (frames.shape[2] * k + 2), frames.shape[1] * k, what="the strip")
        frames = np.stack(scale_frames(frames, size))
        written = write_png(target, contact_sheet(frames, 1, len(frames)), prov, size=size, scaled=True)
    elif fmt == "png":
        written = write_png_frames(target, to_uint8_hwc(out), prov, size=size)[0].parent
    elif fmt == "mid":
        written = write_melody_walk_midi(target, out, min_pitch=min_pitch, provenance=prov)
    else:
        written = write_melody_walk_wav(target, out, min_pitch=min_pitch)
    notes = [f"{c.name}: {n}" for c in (a_code, b_code) if c for n in c.notes]
    result = {"out": str(written), "format": fmt, "steps": int(len(z)), "method": args.method,
              "from": args.from_seed, "to": args.to_seed, "from_file": a_code.name if a_code else None,
              "to_file": b_code.name if b_code else None, "notes": notes, "plugin": prov["plugin"],
              "checkpoint": prov["checkpoint"], "modality": decoder.modality, "latent_dim": decoder.latent_dim,
              "fps": fps, "soundtrack": prov["soundtrack"] if sound else None,
              "size": size.to_dict() if size else None,
              "start_end_distance": float(np.linalg.norm(z[-1] - z[0]))}
    if args.json:
        emit_json(result)
    else:
        for n in notes:
            print(f"note: {n}")
        extra = (f", soundtrack {args.soundtrack}, {sound[0].frames} frames at {fps:.3g} fps"
                 f"{' held' if args.hold else ' gliding'}") if sound else ""
        print(f"wrote {written} ({len(z)} steps, {args.method}, {a_label} -> {b_label}{extra})")
    return 0
