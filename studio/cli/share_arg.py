"""``--share``: the export option shared by ``studio generate`` and ``studio interpolate``.

A command adds the option with :func:`add_share_argument` and wraps its ``run(args)`` in
:func:`share_scoped`: recipes written while it runs leave local paths out when ``--share`` is given or
the run's project sets ``"share_exports": true``; the previous setting is put back afterwards (``main()``
may run several commands in one process, as the tests do).
"""
from __future__ import annotations

import functools


def add_share_argument(p) -> None:
    p.add_argument("--share", action="store_true",
                   help="leave local file paths (run folder, checkpoint) out of the files' recipes; run id, "
                        "checkpoint digest, seed and settings stay, so the generation can still be restored "
                        "(also on when the run's project sets \"share_exports\": true)")


def share_wanted(args) -> bool:
    from studio.core.export.share_setting import project_shares

    return bool(getattr(args, "share", False)) or project_shares(getattr(args, "run", None))


def share_scoped(run):
    """Decorate a command's ``run(args)``: share-safe recipes while it runs, when asked for."""
    @functools.wraps(run)
    def wrapper(args):
        from studio.core.export.provenance import set_sharing, sharing

        before = sharing()
        set_sharing(before or share_wanted(args))
        try:
            return run(args)
        finally:
            set_sharing(before)
    return wrapper
