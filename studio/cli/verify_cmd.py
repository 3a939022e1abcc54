"""`studio verify FILE [--json] [--recipe]`: check a file's Content Credentials (C2PA).

Reports whether the signed manifest is valid (the file is unchanged since it was
exported), tampered (it changed after signing, or its manifest is broken) or
absent, plus who signed, the AI-generated disclosure and the recipe. MIDI and
text files are checked against their sidecar ``NAME.c2pa``. A file made before
Content Credentials shows its embedded recipe and "no credentials".

Exit codes: 0 valid; 1 tampered; 3 no credentials; 2 the file cannot be read
(missing, or the credentials cannot be checked here).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

EXIT = {"valid": 0, "tampered": 1, "none": 3, "unreadable": 2}


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE", help="an exported picture, video, sound, MIDI or text file")
    p.add_argument("--recipe", action="store_true", help="also print the full recipe (JSON)")
    p.add_argument("--json", action="store_true", help="machine-readable output (state, signer, disclosure, recipe)")
    p.epilog = "exit codes: 0 valid, 1 tampered, 3 no credentials, 2 cannot be read"


def run(args) -> int:
    from studio.cli import CommandError, emit_json
    from studio.core.export.verification import verify_file

    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"{path}: no such file", 2)
    result = verify_file(path)
    if args.json:
        emit_json(result.to_dict())
    else:
        sys.stdout.write(result.describe() + "\n")
        if args.recipe and result.recipe:
            sys.stdout.write(json.dumps(result.recipe, indent=2) + "\n")
    return EXIT[result.state]
