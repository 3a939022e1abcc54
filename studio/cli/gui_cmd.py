"""`studio gui [--project DIR] [--demo] [--screenshot FILE]`."""
from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("--project", metavar="DIR", help="open (or create) this project folder")
    p.add_argument("--demo", action="store_true", help="open the built-in demo project")
    p.add_argument("--screenshot", metavar="FILE", help="save a PNG of the window once loaded, then exit")
    p.add_argument("target", nargs="?", metavar="PROJECT",
                   help="a project folder or its project.json (what a file manager passes when opening one)")


def run(args) -> int:
    from studio.ui.app import run_gui

    project = args.project
    if getattr(args, "target", None) and not project:
        from pathlib import Path

        target = Path(args.target)
        project = str(target.parent if target.name == "project.json" or target.is_file() else target)
    return run_gui(project_dir=project, demo=args.demo, screenshot=args.screenshot)
