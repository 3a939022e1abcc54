"""``--scale`` / ``--resample``: the export size options shared by ``studio generate`` and ``studio interpolate``."""
from __future__ import annotations

from studio.cli import CommandError

SCALE_CHOICES = ("1", "2", "4", "8")


def add_size_arguments(p) -> None:
    p.add_argument("--scale", default=None, metavar="N",
                   help="images: enlarge every picture, grid cell and video frame 1, 2, 4 or 8 times "
                        "(default: the model's own size; GIF/MP4 at least 128/256 px as before)")
    p.add_argument("--resample", default=None, metavar="nearest|smooth",
                   help="with --scale: 'nearest' keeps crisp pixel blocks (pixel art), "
                        "'smooth' is Lanczos (default smooth)")


def size_from_args(args):
    """The ``ExportSize`` asked for, or None when neither option was given (the older behaviour)."""
    from studio.core.export.scale import ExportSize, parse_resample, parse_scale

    scale, resample = getattr(args, "scale", None), getattr(args, "resample", None)
    if scale is None and resample is None:
        return None
    if scale is None:
        raise CommandError(f"--resample {resample} needs --scale 2, 4 or 8 (how much to enlarge)", 2)
    try:
        scale = parse_scale(scale)
    except ValueError as exc:
        raise CommandError(f"--scale: {exc}", 2) from None
    try:
        return ExportSize(scale, parse_resample(resample or "smooth"))
    except ValueError as exc:
        raise CommandError(f"--resample: {exc}", 2) from None
