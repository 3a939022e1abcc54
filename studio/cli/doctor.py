"""`studio doctor [--json]`: versions, accelerators, audio devices, the melody synth and plugins."""
from __future__ import annotations

import platform
import sys


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _version(module: str) -> str:
    try:
        mod = __import__(module)
        return str(getattr(mod, "__version__", "?"))
    except Exception as exc:  # noqa: BLE001
        return f"missing ({type(exc).__name__}: {exc})"


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


def collect() -> dict:
    from studio import __version__
    from studio.core import devices
    from studio.core.audio.devices import list_output_devices
    from studio.core.plugins.registry import discover

    try:
        from PySide6 import QtCore
        qt = {"pyside6": _version("PySide6"), "qt": QtCore.qVersion()}
    except Exception as exc:  # noqa: BLE001
        qt = {"pyside6": f"missing ({exc})", "qt": ""}
    audio, audio_reason = list_output_devices()
    from studio.core.audio.soundfont import current_synth
    synth = current_synth()[0].to_dict()  # which synth plays melodies, and why another was passed over
    synth["tinysoundfont"] = _dist_version("tinysoundfont")
    return {
        "studio": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": _version("torch"),
        "onnxruntime": _version("onnxruntime"),
        "numpy": _version("numpy"),
        **qt,
        "devices": [a.to_dict() for a in devices.detect()],
        "audio": {"devices": audio, "reason": audio_reason},
        "synth": synth,
        "plugins": [e.describe() for e in discover().values()],
    }


def run(args) -> int:
    from studio.cli import emit_json

    info = collect()
    if args.json:
        emit_json(info)
        return 0
    print(f"Generative Studio {info['studio']}  (Python {info['python']}, {info['platform']})")
    print(f"torch {info['torch']}, onnxruntime {info['onnxruntime']}, PySide6 {info['pyside6']} (Qt {info['qt']})")
    print("Accelerators:")
    for d in info["devices"]:
        print(f"  {d['id']:<8} {d['label']}")
    print("Audio outputs:")
    if info["audio"]["reason"]:
        print(f"  none: {info['audio']['reason']}")
    for d in info["audio"]["devices"]:
        print(f"  {d['index']:>3} {d['name']}{'  (default)' if d['default'] else ''}")
    synth = info["synth"]
    if synth["engine"] == "soundfont":
        print(f"Melody synth: SoundFont {synth['soundfont']} "
              f"({synth['source']}; tinysoundfont {synth['tinysoundfont']})")
    else:
        print("Melody synth: built-in numpy synth (no usable SoundFont)")
    for note in synth["notes"]:
        print(f"  note: {note}")
    print("Plugins:")
    for p in info["plugins"]:
        state = "ok" if p["status"] == "ok" else f"BROKEN: {p['error']}"
        print(f"  {p['id']:<12} {state}")
    return 0
