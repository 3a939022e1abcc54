"""A private Xvfb X server of a chosen size, for the real-window tests and `make screenshots`."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path


@contextlib.contextmanager
def xvfb_display(width: int, height: int, first: int = 90):
    """Yields the display name (":N") of an X server of ``width`` x ``height``, or None without Xvfb.

    ``first`` spreads the display numbers of callers that may run at the same time (N = first + pid % 50).
    """
    exe = shutil.which("Xvfb")
    if not exe:
        yield None
        return
    display = f":{first + os.getpid() % 50}"
    proc = subprocess.Popen([exe, display, "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = Path(f"/tmp/.X11-unix/X{display[1:]}")
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    try:
        yield display
    finally:
        proc.terminate()
        proc.wait(10)
