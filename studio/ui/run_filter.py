"""Which panels a selected run is for: a melody run is not opened by the Text panel, and so on."""
from __future__ import annotations

from pathlib import Path


def run_matches(run_dir: str | Path, modality: str | None = None, capability: str | None = None) -> bool | None:
    """True/False when the run's kind is known; None when it cannot be read (the panel then says why)."""
    from studio.core.training.run_folder import RunFolderError, read_run

    try:
        run = read_run(run_dir)
    except (RunFolderError, OSError, ValueError):
        return None
    spec = run.get("data_spec") if isinstance(run.get("data_spec"), dict) else {}
    plugin_id = (run.get("plugin") or {}).get("id") if isinstance(run.get("plugin"), dict) else None
    if modality is not None and spec.get("modality") and spec["modality"] != modality:
        return False
    if capability is not None and plugin_id:
        from studio.core.plugins.registry import discover

        entry = discover().get(plugin_id)
        if entry is not None and entry.ok and capability not in entry.plugin.capabilities:
            return False
    return True


def connect_matching_runs(ctx, slot, modality: str | None = None, capability: str | None = None) -> None:
    """Connect ``ctx.run_selected`` to ``slot`` for the runs this panel can show; others are left alone."""
    ctx.run_selected.connect(lambda run_dir: slot(run_dir) if run_matches(run_dir, modality, capability)
                             is not False else None)
