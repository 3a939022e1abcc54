"""Headless command line (stable; see ARCHITECTURE.md "CLI").

Each command lives in its own module ``studio.cli.<name>`` with
``add_arguments(parser)`` and ``run(args) -> int``. Command modules import
nothing heavy at module level so ``studio --help`` and the GUI start fast.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from studio import __version__

# command name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "gui": ("studio.cli.gui_cmd", "launch the studio window"),
    "doctor": ("studio.cli.doctor", "versions, accelerators, audio devices and plugins"),
    "plugins": ("studio.cli.plugins_cmd", "list model plugins (ok or broken, and why)"),
    "import": ("studio.cli.import_cmd", "import images, music or text into a dataset folder"),
    "train": ("studio.cli.train_cmd", "train a model plugin on a dataset"),
    "generate": ("studio.cli.generate_cmd", "generate images, melodies or text from a run"),
    "interpolate": ("studio.cli.interpolate_cmd", "walk through a model's latent space"),
    "eval": ("studio.cli.eval_cmd", "held-out loss in the model's natural unit"),
    "export-onnx": ("studio.cli.onnx_cmd", "export a run's generating model to ONNX"),
}


class CommandError(Exception):
    """A user-facing failure: one line on stderr, non-zero exit, no traceback."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studio", description="Generative Studio: train and explore small generative models offline.")
    parser.add_argument("--version", action="version", version=f"generative-studio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:  # a command still being built shows as unavailable
            p.set_defaults(_module=None)
            continue
        mod.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def emit_json(obj) -> None:
    """Machine-readable output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("--project") or argv[0] == "--demo":
        argv = ["gui", *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    if args._module is None:
        print(f"studio: the '{args.command}' command is not available in this build", file=sys.stderr)
        return 1
    debug = getattr(args, "debug", False)
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except CommandError as exc:
        if debug:
            raise
        print(f"studio {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"studio {args.command}: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, LookupError) as exc:
        if debug:
            raise
        print(f"studio {args.command}: {exc}", file=sys.stderr)
        return 1


def gui_main() -> int:
    return main(["gui", *sys.argv[1:]])
