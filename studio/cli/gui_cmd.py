"""`studio gui [--project DIR] [--demo] [--screenshot FILE] [--json]`."""
from __future__ import annotations

import sys


def add_arguments(p) -> None:
    p.add_argument("--project", metavar="DIR", help="open (or create) this project folder")
    p.add_argument("--demo", action="store_true", help="open the built-in demo project")
    p.add_argument("--screenshot", metavar="FILE", help="save a PNG of the window once loaded, then exit")
    p.add_argument("--json", action="store_true",
                   help="when the window closes, print what was opened (project, screenshot, exit code) as JSON")
    p.add_argument("target", nargs="?", metavar="PROJECT",
                   help="a project folder or its project.json (what a file manager passes when opening one)")


def run(args) -> int:
    from studio.cli import CommandError, emit_json, no_display_reason

    reason = no_display_reason()
    if reason:  # Qt would abort the process (SIGABRT) rather than say so
        raise CommandError(reason, exit_code=2)
    from studio.ui.app import run_gui

    project = args.project
    if getattr(args, "target", None) and not project:
        from pathlib import Path

        target = Path(args.target)
        project = str(target.parent if target.name == "project.json" or target.is_file() else target)
    opened: dict = {}
    code = run_gui(project_dir=project, demo=args.demo, screenshot=args.screenshot, report=opened)
    if getattr(args, "json", False):
        emit_json({"exit_code": code, "project": opened.get("project"), "demo": bool(args.demo),
                   "screenshot": args.screenshot if args.screenshot and code == 0 else None,
                   "log_file": opened.get("log_file")})
    sys.stdout.flush()
    return code
