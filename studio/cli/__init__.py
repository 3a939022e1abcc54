"""Headless command line (stable; see ARCHITECTURE.md "CLI").

Each command lives in its own module ``studio.cli.<name>`` with
``add_arguments(parser)`` and ``run(args) -> int``. Command modules import
nothing heavy at module level so ``studio --help`` and the GUI start fast.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
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
    "runs": ("studio.cli.runs_cmd", "export a run's metrics as a wide CSV or TensorBoard event files"),
    "verify": ("studio.cli.verify_cmd", "check a file's Content Credentials: valid, tampered or none"),
}


VERSION_TEXT = f"generative-studio {__version__}"
# added to the parser when shtab is installed: `studio completion bash|zsh|tcsh`
COMPLETION_HELP = "print a shell completion script (bash, zsh or tcsh)"


class CommandError(Exception):
    """A user-facing failure: one line on stderr, non-zero exit, no traceback."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studio", description="Generative Studio: train and explore small generative models offline.")
    parser.add_argument("--version", action="version", version=VERSION_TEXT)
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--version", action="version", version=VERSION_TEXT)  # `generative-studio --version`
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:  # a command still being built shows as unavailable
            p.set_defaults(_module=None)
            continue
        mod.add_arguments(p)
        p.set_defaults(_module=module)
    _add_completion(parser)
    return parser


def emit_json(obj) -> None:
    """Machine-readable output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def no_display_reason() -> str | None:
    """Why no window can open here (one line), or None when a display (or an explicit Qt platform) exists.
    Without this check Qt aborts the process (SIGABRT) when it finds no platform to draw on."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return None  # the user chose a platform (offscreen for screenshots, wayland, xcb…)
    if sys.platform.startswith(("win", "darwin", "cygwin")):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display: DISPLAY and WAYLAND_DISPLAY are not set (run it in a desktop session, "
            "or set QT_QPA_PLATFORM=offscreen for a headless screenshot)")


def _add_completion(parser: argparse.ArgumentParser) -> None:
    try:
        import shtab
    except ImportError:
        return
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    p = sub.add_parser("completion", help=COMPLETION_HELP, description=COMPLETION_HELP + ". For example:\n"
                       "  studio completion bash > ~/.local/share/bash-completion/completions/studio\n"
                       "  studio completion zsh > ~/.zfunc/_studio   (with fpath+=~/.zfunc in ~/.zshrc)",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("shell", choices=shtab.SUPPORTED_SHELLS)
    p.set_defaults(_module="completion")


def _completion(parser: argparse.ArgumentParser, shell: str) -> int:
    import shtab

    sys.stdout.write(shtab.complete(parser, shell=shell))
    return 0


def main(argv: list[str] | None = None, *, entry: bool | None = None) -> int:
    """``studio``. ``entry``: this is the program itself (default: when argv is None), not a test calling
    main(): attach the log file and the one-line error hook."""
    entry = argv is None if entry is None else entry
    argv = list(sys.argv[1:] if argv is None else argv)
    if entry:
        from studio.core.log_file import install_cli_excepthook, setup_logging

        setup_logging()
        install_cli_excepthook("studio", debug="--debug" in argv)
    bare = not argv
    if bare:
        reason = no_display_reason()
        if reason:
            build_parser().print_help(sys.stderr)
            print(f"studio: {reason}; give a command (above) to work headless", file=sys.stderr)
            return 2
    if bare or argv[0].startswith("--project") or argv[0] == "--demo":
        argv = ["gui", *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    if args._module == "completion":
        return _completion(parser, args.shell)
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
    except BrokenPipeError:  # `studio plugins | head`: the reader left; not an error worth a line
        _silence_stdout()
        return 0
    except (OSError, ValueError, LookupError) as exc:
        if debug:
            raise
        print(f"studio {args.command}: {exc}", file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass


def gui_main(argv: list[str] | None = None) -> int:
    """``generative-studio`` (the window; a gui-script, so no console on Windows): every option goes to
    ``studio gui`` (``--help`` lists the window's options; ``--version`` works as for ``studio``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    # the window replaces the one-line error hook with a dialog naming the log file once it exists
    return main(["gui", *args], entry=argv is None)
