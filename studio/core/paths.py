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
    """The repository's ``resources/`` folder (icons, theme, demo weights)."""
    return Path(__file__).resolve().parents[2] / "resources"
