"""Where the studio keeps its settings and user data (platformdirs), overridable for tests."""
from __future__ import annotations

import os
from pathlib import Path

APP = "generative-studio"


def config_dir() -> Path:
    env = os.environ.get("STUDIO_CONFIG_DIR")
    if env:
        p = Path(env)
    else:
        from platformdirs import user_config_dir
        p = Path(user_config_dir(APP, appauthor=False))
    p.mkdir(parents=True, exist_ok=True)
    return p


def data_dir() -> Path:
    env = os.environ.get("STUDIO_DATA_DIR")
    if env:
        p = Path(env)
    else:
        from platformdirs import user_data_dir
        p = Path(user_data_dir(APP, appauthor=False))
    p.mkdir(parents=True, exist_ok=True)
    return p


def resources_dir() -> Path:
    """The studio's data files (demo runs and sources, icons): ``studio/resources/``, package data found
    with importlib.resources so an installed wheel and the PyInstaller bundle find them as a checkout does."""
    from importlib.resources import files

    # a real folder: demo runs are copied and their SQLite opened, which a zip entry would not allow
    return Path(str(files("studio") / "resources"))
