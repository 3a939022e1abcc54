"""Which ffmpeg MP4 export uses (imageio-ffmpeg's choice), its version, and one line when there is none.

imageio-ffmpeg looks, in order, at ``IMAGEIO_FFMPEG_EXE``, the binary its wheel carries, conda's and the
system's ``ffmpeg``. ``studio doctor`` shows the result; exports call :func:`ffmpeg_exe`, which turns a
missing ffmpeg into a :class:`FfmpegMissing` error saying what to install (no traceback).
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

INSTALL_HINT = ("MP4 export needs ffmpeg: reinstall imageio-ffmpeg (`pip install --force-reinstall "
                "imageio-ffmpeg`, whose wheel carries one), or install ffmpeg from your system's package "
                "manager (e.g. `sudo apt install ffmpeg`), or set IMAGEIO_FFMPEG_EXE to an ffmpeg binary")


class FfmpegMissing(OSError):
    """No usable ffmpeg: the message says what to install (an OSError, so commands print it as one line)."""


@dataclass
class FfmpegInfo:
    path: str | None
    version: str | None
    source: str           # "IMAGEIO_FFMPEG_EXE" | "imageio-ffmpeg wheel" | "system" | "none"
    reason: str = ""      # why there is none / why it does not run

    def to_dict(self) -> dict:
        return asdict(self)


def _source(exe: str) -> str:
    if os.environ.get("IMAGEIO_FFMPEG_EXE"):
        return "IMAGEIO_FFMPEG_EXE"
    try:
        import imageio_ffmpeg

        if Path(exe).resolve().is_relative_to(Path(imageio_ffmpeg.__file__).resolve().parent):
            return "imageio-ffmpeg wheel"
    except (ImportError, OSError, ValueError):
        pass
    return "system"


def ffmpeg_exe() -> str:
    """The ffmpeg binary MP4 export runs, or :class:`FfmpegMissing` with what to install."""
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except ImportError:
        raise FfmpegMissing(f"imageio-ffmpeg is not installed; {INSTALL_HINT}") from None
    except RuntimeError:
        raise FfmpegMissing(f"no ffmpeg found; {INSTALL_HINT}") from None
    if not Path(exe).is_file():
        raise FfmpegMissing(f"ffmpeg {exe} does not exist; {INSTALL_HINT}")
    return exe


def ffmpeg_info(timeout: float = 10.0) -> FfmpegInfo:
    """The ffmpeg in use with its version (first line of ``ffmpeg -version``), for ``studio doctor``."""
    try:
        exe = ffmpeg_exe()
    except FfmpegMissing as exc:
        return FfmpegInfo(None, None, "none", str(exc))
    try:
        out = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True,
                             timeout=timeout).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return FfmpegInfo(exe, None, _source(exe), f"{exe} does not run ({exc})")
    first = out.splitlines()[0] if out else ""
    version = first.split("version", 1)[-1].split()[0] if "version" in first else None
    return FfmpegInfo(exe, version, _source(exe), "" if version else f"{exe} -version printed no version")
