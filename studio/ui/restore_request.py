"""The typed "restore this generation" request the window sends to the panels (``ctx.restore_requested``).

Dropping an exported file on the window (``studio/ui/restore_drop.py``) reads its recipe, finds its
run and checkpoint, and emits one :class:`RestoreRequest`; the panel whose ``target`` it names
(Latent grid, Melody or Text) puts the generation back. The drop code never calls panel methods:
panels subscribe (``StudioContext.subscribe_restore``), so a panel can change without the drop code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

RestoreTarget = Literal["latent", "melody", "text"]
MIDI_SUFFIXES = (".mid", ".midi")


@dataclass(frozen=True)
class RestoreRequest:
    """One exported file's generation, as the panel ``target`` needs it."""

    target: RestoreTarget
    file: Path                                    # the dropped file
    seed: int | None = None                       # this very sample's seed (melody/text: batch seed + index)
    sampling: dict[str, Any] = field(default_factory=dict)  # the recipe's sampling (text: with its "prime")
    run_dir: Path | None = None                   # the run found on this machine (None: settings only)
    checkpoint: Path | None = None                # the checkpoint that made it (None: gone, the run's newest)
    source: dict[str, Any] = field(default_factory=dict)  # where its model lives now, for later exports' recipes
    edited: bool = False                          # melody: the notes were changed by hand after generation
    vector: tuple[float, ...] | None = None       # latent grid: the latent vector (None: kept as a hash only)
    caption: str = ""                             # latent grid: what the restored cell is labelled

    @property
    def exact_weights(self) -> tuple[str, str] | None:
        """(run folder, checkpoint file) to open instead of the run's newest, when both were found."""
        if self.run_dir is None or self.checkpoint is None:
            return None
        return str(self.run_dir), str(self.checkpoint)

    @property
    def midi_file(self) -> Path | None:
        """The dropped file when it holds the notes themselves (a MIDI file; audio is only heard)."""
        return self.file if self.file.suffix.lower() in MIDI_SUFFIXES else None

    @property
    def prime(self) -> str | None:
        return self.sampling.get("prime")
