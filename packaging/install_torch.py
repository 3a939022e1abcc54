"""Pre-install torch sensibly before the project's own install.

If pip is configured with a local wheel folder (``find-links``) that holds a
CPU build of torch for this Python, install exactly that version, so the
project's ``torch>=2.2`` requirement is already met and pip does not pull a
multi-GB CUDA build. Anywhere else this does nothing and plain pip behaviour
stands (users get whatever build pip chooses for their machine).
"""
from __future__ import annotations

import glob
import importlib.util
import os
import re
import subprocess
import sys


def find_links() -> list[str]:
    dirs = [d for d in re.split(r"[\s]+", os.environ.get("PIP_FIND_LINKS", "")) if d]
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.strip().endswith("find-links"):
            dirs += value.strip().strip("'\"").split()
    return [d.removeprefix("file://") for d in dirs]


def local_cpu_torch() -> str | None:
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    for folder in find_links():
        for wheel in sorted(glob.glob(os.path.join(folder, f"torch-*+cpu-{tag}-*.whl")), reverse=True):
            m = re.match(r"torch-([0-9.]+)\+cpu", os.path.basename(wheel))
            if m:
                return m.group(1)
    return None


def main() -> int:
    if importlib.util.find_spec("torch") is not None:
        return 0
    version = local_cpu_torch()
    if version is None:
        return 0
    print(f"install_torch: using the local CPU build torch=={version}")
    return subprocess.call([sys.executable, "-m", "pip", "install", "-q", f"torch=={version}"])


if __name__ == "__main__":
    raise SystemExit(main())
