"""`studio gui [--project DIR] [--demo] [--screenshot FILE]`."""
from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("--project", metavar="DIR", help="open (or create) this project folder")
    p.add_argument("--demo", action="store_true", help="open the built-in demo project")
    p.add_argument("--screenshot", metavar="FILE", help="save a PNG of the window once loaded, then exit")


def run(args) -> int:
    from studio.ui.app import run_gui

    return run_gui(project_dir=args.project, demo=args.demo, screenshot=args.screenshot)
