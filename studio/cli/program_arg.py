"""``--program N|NAME`` for commands that write melodies: a General MIDI instrument.

``--program list`` prints the 128 instruments and exits (like ``--help``, before the
required arguments are checked), so the error for an unknown name can point to it.
"""
from __future__ import annotations

import argparse
import sys


class ProgramAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        from studio.core.audio.instruments import parse_program, program_table

        if str(values).strip().lower() == "list":
            sys.stdout.write(program_table() + "\n")
            parser.exit(0)
        try:
            setattr(namespace, self.dest, parse_program(values))
        except ValueError as exc:
            raise argparse.ArgumentError(self, str(exc)) from None


def add_program_argument(p) -> None:
    p.add_argument("--program", metavar="N|NAME", action=ProgramAction, default=None,
                   help="melodies: General MIDI instrument by number 0-127 or name, e.g. 73 or Flute "
                        "(default Flute; `--program list` shows all); written into MIDI files and used "
                        "to render WAV/FLAC")
