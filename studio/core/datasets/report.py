"""The validation report every importer fills in, plus progress/cancel plumbing.

Every source file ends up either in ``accepted`` or in ``skipped`` with a reason a
person can act on; ``warnings`` are notes about accepted files (an encoding that
was guessed, a tempo that was ignored) so nothing is decided silently.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

ProgressCallback = Callable[[int, int, str], None]
CancelToken = Union[threading.Event, Callable[[], bool], None]


class ImportCancelled(Exception):
    """The user cancelled the import; nothing was written."""


class Progress:
    """Reports ``(done, total, message)`` and raises :class:`ImportCancelled` when asked to stop."""

    def __init__(self, callback: ProgressCallback | None = None, cancel: CancelToken = None):
        self._callback = callback
        self._cancel = cancel

    def cancelled(self) -> bool:
        c = self._cancel
        if c is None:
            return False
        if isinstance(c, threading.Event):
            return c.is_set()
        return bool(c())

    def check(self) -> None:
        if self.cancelled():
            raise ImportCancelled("import cancelled; nothing was written")

    def update(self, done: int, total: int, message: str = "") -> None:
        self.check()
        if self._callback is not None:
            self._callback(int(done), int(total), message)


@dataclass
class ImportReport:
    modality: str
    accepted: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def accept(self, path: str) -> None:
        self.accepted.append(str(path))

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append({"path": str(path), "reason": reason})

    def warn(self, path: str, message: str) -> None:
        self.warnings.append({"path": str(path), "message": message})

    @property
    def accounted(self) -> set[str]:
        return set(self.accepted) | {s["path"] for s in self.skipped}

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": list(self.accepted), "skipped": list(self.skipped),
                "warnings": list(self.warnings), "stats": dict(self.stats)}


@dataclass
class ImportResult:
    """What an import produced. ``folder`` is None when nothing usable was found."""

    modality: str
    folder: Path | None
    manifest: dict[str, Any]
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.folder is not None and self.accepted_count > 0

    @property
    def accepted(self) -> list[str]:
        return list(self.manifest.get("accepted", []))

    @property
    def accepted_count(self) -> int:
        return len(self.manifest.get("accepted", []))

    @property
    def skipped(self) -> list[dict[str, str]]:
        return list(self.manifest.get("skipped", []))

    @property
    def warnings(self) -> list[dict[str, str]]:
        return list(self.manifest.get("warnings", []))

    @property
    def stats(self) -> dict[str, Any]:
        return dict(self.manifest.get("stats", {}))

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` document."""
        return {"accepted": self.accepted_count, "skipped": self.skipped, "warnings": self.warnings,
                "modality": self.modality, "folder": str(self.folder) if self.folder else None,
                "cached": self.cached, "fingerprint": self.manifest.get("fingerprint"),
                "stats": self.stats, "accepted_files": self.accepted}

    def summary_lines(self) -> list[str]:
        """A short human report (CLI output, the panel's header)."""
        lines = []
        n = self.accepted_count
        what = {"image": "image", "melody": "music file", "text": "text file"}.get(self.modality, "file")
        lines.append(f"{n} {what}{'' if n == 1 else 's'} accepted, {len(self.skipped)} skipped"
                     + (" (cached: identical sources and settings)" if self.cached else ""))
        st = self.stats
        if self.modality == "image" and st.get("count"):
            lines.append(f"{st['count']} images of {st.get('image_size')}x{st.get('image_size')}, "
                         f"{st.get('channels')} channel(s)")
            if st.get("per_class"):
                lines.append("classes: " + ", ".join(f"{k} {v}" for k, v in st["per_class"].items()))
        elif self.modality == "melody" and st.get("phrases"):
            lines.append(f"{st['phrases']} phrases of {st.get('phrase_length')} steps from "
                         f"{st.get('melodies', 0)} melodies ({st.get('notes', 0)} notes)")
        elif self.modality == "text" and st.get("characters"):
            lines.append(f"{st['characters']:,} characters, vocabulary of {st.get('vocab_size')} "
                         f"(validation from character {self.manifest.get('split_at', 0):,})")
        return lines
