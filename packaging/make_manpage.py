"""Write the ``studio(1)`` man page from the command line's own parser, so it never drifts from ``--help``.

    python packaging/make_manpage.py                 # make man: build/man/studio.1
    python packaging/make_manpage.py --out FILE
    man -l build/man/studio.1                        # read it; install to ~/.local/share/man/man1/
"""
from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def roff(text: str) -> str:
    """Plain text as roff: backslashes and minus signs escaped, no line starting with a control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line[:1] in (".", "'") else line for line in text.splitlines())


def _options(parser: argparse.ArgumentParser) -> list[str]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
            continue
        if action.option_strings:
            names = ", ".join(action.option_strings)
            if action.nargs != 0:
                names += " " + (action.metavar or (
                    "{" + ",".join(map(str, action.choices)) + "}" if action.choices else action.dest.upper()))
        else:
            names = action.metavar or (
                "{" + ",".join(map(str, action.choices)) + "}" if action.choices else action.dest)
        out += [".TP", f"\\fB{roff(str(names))}\\fR", roff(action.help or "")]
    return out


def manpage(parser: argparse.ArgumentParser, version: str, date: str) -> str:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    lines = [f'.TH STUDIO 1 "{date}" "generative-studio {version}" "User Commands"',
             ".SH NAME", "studio, generative\\-studio \\- " + roff(parser.description or ""),
             ".SH SYNOPSIS", "\\fBstudio\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]", ".br",
             "\\fBgenerative\\-studio\\fR [\\fIgui options\\fR] [\\fIPROJECT\\fR]",
             ".SH DESCRIPTION",
             "Without a command, \\fBstudio\\fR opens the window when a display is available; otherwise it "
             "prints its help and exits with status 2. \\fBgenerative\\-studio\\fR is the window "
             "(\\fBstudio gui\\fR). Every command takes \\fB\\-\\-json\\fR for machine\\-readable output "
             "where it prints results.",
             ".SH OPTIONS", *_options(parser), ".SH COMMANDS"]
    for name, p in sub.choices.items():
        lines += [".SS " + roff(f"studio {name}"), roff(helps.get(name) or p.description or ""),
                  ".PP", "\\fBUsage:\\fR " + roff(" ".join(p.format_usage().split()[1:])), *_options(p)]
    lines += [".SH FILES",
              "Settings in the user config folder and projects in the user data folder (platformdirs; "
              "\\fBSTUDIO_CONFIG_DIR\\fR and \\fBSTUDIO_DATA_DIR\\fR override them); a rotating log file "
              "\\fIstudio.log\\fR in the user log folder (\\fBSTUDIO_LOG_DIR\\fR overrides it). "
              "\\fBstudio doctor\\fR prints all of them.",
              ".SH EXIT STATUS", "0 on success, 1 on a failure described in one line, 2 on a usage error "
              "(or no display for the window), 130 when interrupted.",
              ".SH SEE ALSO", "\\fBstudio completion bash\\fR prints a shell completion script."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "man" / "studio.1")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from studio import __version__
    from studio.cli import build_parser

    parser = build_parser()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(manpage(parser, __version__, datetime.date.today().isoformat()), encoding="utf-8")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
