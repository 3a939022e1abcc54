"""`studio doctor [--json]`: versions, accelerators, audio devices, the melody synth, ffmpeg, the demo runs
found, the log file and plugins."""
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
    from studio.core import paths
    from studio.core.demo import shipped_runs, shipped_runs_dir
    from studio.core.ffmpeg import ffmpeg_info
    from studio.core.log_file import log_path
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
        "ffmpeg": ffmpeg_info().to_dict(),  # MP4 export: which binary, its version, or what to install
        # package data (importlib.resources): an installed wheel must find its demo runs here
        "resources": {"folder": str(paths.resources_dir()), "demo_runs_folder": str(shipped_runs_dir()),
                      "demo_runs": [r.name for r in shipped_runs()]},
        "log_file": str(log_path()) if log_path() else None,
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
    ff = info["ffmpeg"]
    if ff["path"]:
        print(f"ffmpeg (MP4 export): {ff['version'] or '?'} at {ff['path']} ({ff['source']})"
              + (f"; {ff['reason']}" if ff["reason"] else ""))
    else:
        print(f"ffmpeg (MP4 export): none; {ff['reason']}")
    res = info["resources"]
    print(f"Demo runs: {len(res['demo_runs'])} in {res['demo_runs_folder']}"
          + ("" if res["demo_runs"] else " (none: `studio gui --demo` opens an empty demo project)"))
    print(f"Log file: {info['log_file'] or 'none (not written in this process)'}")
    print("Plugins:")
    for p in info["plugins"]:
        state = "ok" if p["status"] == "ok" else f"BROKEN: {p['error']}"
        print(f"  {p['id']:<12} {state}")
    return 0
