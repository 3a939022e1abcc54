"""Entry script of the bundled app (PyInstaller): two executables run it.

    generative-studio                      # the window (no console on Windows)
    generative-studio --demo               # options without a command go to `studio gui`
    studio train --plugin ...              # the console program: every `studio` command
    studio -m studio train ...             # how the window starts its trainer child (sys.executable -m studio)
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

CLI_NAME = "studio"


def bundle_argv(argv: list[str], cli: bool = False) -> list[str]:
    from studio.cli import COMMANDS

    args = list(argv)
    if args[:2] == ["-m", "studio"]:  # a frozen app has no `-m`: the trainer child lands here
        return args[2:]
    if cli:
        return args  # `studio` as installed by pip: bare opens the window only where there is a display
    if not args or (args[0] not in (*COMMANDS, "completion") and args[0] not in ("-h", "--help", "--version")):
        return ["gui", *args]
    return args


def console_sibling(exe: str) -> str | None:
    """The console ``studio`` executable next to the windowed one, if this is the windowed one."""
    path = Path(exe)
    if path.stem == CLI_NAME:
        return None
    sibling = path.with_name(CLI_NAME + (".exe" if os.name == "nt" else ""))
    return str(sibling) if sibling.is_file() else None


def main() -> int:
    multiprocessing.freeze_support()  # image import worker processes re-enter this executable
    cli = Path(sys.executable).stem == CLI_NAME
    if getattr(sys, "frozen", False) and not cli:
        # Children (the trainer, demo imports) report on stdout, which a windowed program lacks:
        # start them with the console executable instead.
        sibling = console_sibling(sys.executable)
        if sibling:
            sys.executable = sibling
    from studio.cli import main as studio_main

    return studio_main(bundle_argv(sys.argv[1:], cli=cli), entry=True)


if __name__ == "__main__":
    sys.exit(main())
