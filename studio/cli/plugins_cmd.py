"""`studio plugins [--json]`: every model plugin, ok or broken (with the reason)."""
from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    from studio.cli import emit_json
    from studio.core.plugins.registry import discover

    rows = [e.describe() for e in discover().values()]
    if args.json:
        emit_json({"plugins": rows})
        return 0
    width = max([12, *(len(r["id"]) for r in rows)])  # long third-party ids keep the columns straight
    for r in rows:
        caps = ",".join(r["capabilities"]) or "-"
        if r["status"] == "ok":
            print(f"{r['id']:<{width}} ok      {r['modality']:<7} {r['family']:<12} {caps:<24} {r['name']} "
                  f"{r['version']}")
        else:
            print(f"{r['id']:<{width}} BROKEN  {r['error']}")
    return 0
