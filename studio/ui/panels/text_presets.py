"""Generation presets of the Text panel: a few built in, the user's own kept in the app settings."""
from __future__ import annotations

import json

SETTINGS_KEY = "text/presets"
CONTROL_KEYS = ("length", "temperature", "top_k", "top_p", "repetition_penalty")

BUILT_IN: dict[str, dict] = {
    "Balanced": {"temperature": 0.8, "top_k": 0, "top_p": 0.95, "repetition_penalty": 1.0},
    "Careful": {"temperature": 0.5, "top_k": 20, "top_p": 0.9, "repetition_penalty": 1.1},
    "Adventurous": {"temperature": 1.1, "top_k": 0, "top_p": 1.0, "repetition_penalty": 1.0},
    "Most likely (greedy)": {"temperature": 0.0, "top_k": 0, "top_p": 1.0, "repetition_penalty": 1.2},
}


class PresetStore:
    """Named control values; user presets persist in ``settings`` (a QSettings) as JSON."""

    def __init__(self, settings):
        self.settings = settings

    def user(self) -> dict[str, dict]:
        raw = self.settings.value(SETTINGS_KEY, "{}")
        try:
            data = json.loads(raw) if isinstance(raw, str) else {}
        except ValueError:
            data = {}
        return {k: v for k, v in data.items() if isinstance(v, dict)}

    def all(self) -> dict[str, dict]:
        return {**BUILT_IN, **self.user()}

    def is_built_in(self, name: str) -> bool:
        return name in BUILT_IN

    def save(self, name: str, values: dict) -> None:
        name = name.strip()
        if not name:
            raise ValueError("a preset needs a name")
        if name in BUILT_IN:
            raise ValueError(f"{name!r} is a built-in preset; choose another name")
        data = self.user()
        data[name] = {k: values[k] for k in CONTROL_KEYS if k in values}
        self._write(data)

    def delete(self, name: str) -> None:
        data = self.user()
        if data.pop(name, None) is not None:
            self._write(data)

    def _write(self, data: dict) -> None:
        self.settings.setValue(SETTINGS_KEY, json.dumps(data))
        self.settings.sync()
