"""Plugin discovery through the ``studio.models`` entry-point group.

Built-in plugins are found exactly like third-party ones. A plugin that fails
to import or to validate is listed as broken with its reason; discovery never
raises (Spyder/ComfyUI lesson: one bad add-on must not take the app down).
"""
from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

from studio.core.plugins.api import ModelPlugin

GROUP = "studio.models"
log = logging.getLogger("studio.plugins")


@dataclass
class PluginEntry:
    id: str
    status: str  # "ok" | "broken"
    plugin: ModelPlugin | None = None
    error: str = ""
    source: str = ""  # "module:attr" of the entry point
    distribution: str = ""
    details: str = field(default="", repr=False)  # traceback for the log

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> dict:
        p = self.plugin
        return {
            "id": self.id, "status": self.status, "error": self.error,
            "name": p.name if p else self.id, "version": p.version if p else "",
            "modality": p.modality if p else "", "family": p.family if p else "",
            "capabilities": sorted(p.capabilities) if p else [],
            "source": self.source, "distribution": self.distribution,
        }


def _load(ep: EntryPoint) -> PluginEntry:
    dist = getattr(getattr(ep, "dist", None), "name", "") or ""
    entry = PluginEntry(id=ep.name, status="broken", source=ep.value, distribution=dist)
    try:
        obj = ep.load()
        if not isinstance(obj, ModelPlugin):
            raise TypeError(f"{ep.value} is a {type(obj).__name__}, not a studio ModelPlugin")
        obj.validate()
        if obj.id != ep.name:
            raise ValueError(f"entry-point name {ep.name!r} differs from plugin id {obj.id!r}")
    except BaseException as exc:  # noqa: BLE001 - a plugin may raise anything, even SystemExit
        if isinstance(exc, KeyboardInterrupt):
            raise
        entry.error = f"{type(exc).__name__}: {exc}"
        entry.details = traceback.format_exc()
        log.warning("plugin %s is broken: %s", ep.name, entry.error)
        return entry
    entry.status, entry.plugin = "ok", obj
    return entry


_cache: dict[str, PluginEntry] | None = None


def discover(refresh: bool = False) -> dict[str, PluginEntry]:
    """All plugins by id, ok and broken, in a stable order."""
    global _cache
    if _cache is not None and not refresh:
        return _cache
    found: dict[str, PluginEntry] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        if ep.name in found:  # the first distribution wins; say so
            log.warning("plugin id %s is registered twice; using %s", ep.name, found[ep.name].source)
            continue
        found[ep.name] = _load(ep)
    _cache = found
    return found


class PluginNotFound(LookupError):
    pass


def get_plugin(plugin_id: str) -> ModelPlugin:
    """The plugin with this id, or a ``PluginNotFound`` that says what is available / why broken."""
    plugins = discover()
    entry = plugins.get(plugin_id)
    if entry is None:
        ok = ", ".join(k for k, v in plugins.items() if v.ok) or "none"
        raise PluginNotFound(f"no plugin named {plugin_id!r}; available: {ok}")
    if not entry.ok:
        raise PluginNotFound(f"plugin {plugin_id!r} is broken: {entry.error}")
    return entry.plugin
