"""Entry script of the bundled app (PyInstaller): the studio window by default, every CLI command too.

    generative-studio                      # the window
    generative-studio --demo               # options without a command go to `studio gui`
    generative-studio train --plugin ...   # any `studio` command
    generative-studio -m studio train ...  # how the window starts its trainer child (sys.executable -m studio)
"""
from __future__ import annotations

import multiprocessing
import sys


def bundle_argv(argv: list[str]) -> list[str]:
    from studio.cli import COMMANDS

    args = list(argv)
    if args[:2] == ["-m", "studio"]:  # a frozen app has no `-m`: the trainer child lands here
        return args[2:]
    if not args or (args[0] not in COMMANDS and args[0] not in ("-h", "--help", "--version")):
        return ["gui", *args]
    return args


def main() -> int:
    multiprocessing.freeze_support()  # image import worker processes re-enter this executable
    from studio.cli import main as studio_main

    return studio_main(bundle_argv(sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
