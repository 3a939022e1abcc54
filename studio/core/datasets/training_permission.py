"""What a file's Content Credentials say about training AI on it (C2PA training-and-data-mining).

Files an artist imports may carry a C2PA manifest whose ``c2pa.training-mining``
(C2PA 1.x) or ``cawg.training-mining`` (its CAWG successor) assertion says
``notAllowed`` for AI training. :func:`training_permission` reads that, so the
importer can report it and skip the file or ask the user first. Reading is
best effort: a file without credentials, or with credentials c2pa cannot read,
gives ``None`` and never stops an import.
"""
from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

TDM_LABELS = ("c2pa.training-mining", "cawg.training-mining")
#: The uses that decide whether a model may learn from the file.
TRAINING_USES = ("ai_generative_training", "ai_training")
MAX_BYTES = 512 * 1024 * 1024
MAX_SCREEN_BYTES = 64 * 1024 * 1024  # bigger inputs are not screened (none of ours are that big)
#: Input types the studio imports that c2pa reads besides its own exports' (MIDI/TXT: via a sidecar).
_MORE_FORMATS = {".mp3": "audio/mpeg", ".tif": "image/tiff", ".tiff": "image/tiff", ".avif": "image/avif",
                 ".heic": "image/heic", ".heif": "image/heif"}
_SCREENED = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".wav", ".flac", *_MORE_FORMATS}


@dataclass(frozen=True)
class TrainingPermission:
    path: str
    uses: dict[str, str] = field(default_factory=dict)  # "ai_training" -> "allowed" | "notAllowed" | "constrained"
    valid: bool = True                                    # the manifest's signature and hashes check out
    constraint: str = ""                                  # the creator's words for a "constrained" use

    @property
    def not_allowed(self) -> bool:
        """The creator said no to AI training (either kind) in these credentials."""
        return any(self.uses.get(k) == "notAllowed" for k in TRAINING_USES)

    def describe(self) -> str:
        name = Path(self.path).name
        if self.not_allowed:
            text = f"{name}: its Content Credentials say AI training is not allowed"
        elif any(self.uses.get(k) == "constrained" for k in TRAINING_USES):
            text = f"{name}: its Content Credentials allow AI training only with conditions"
            text += f" ({self.constraint})" if self.constraint else ""
        else:
            text = f"{name}: its Content Credentials allow AI training"
        return text + ("" if self.valid else " (the credentials do not verify: the file changed since)")


def permission_in_bytes(data: bytes, suffix: str, name: str, manifest_data: bytes | None = None
                        ) -> TrainingPermission | None:
    """:func:`training_permission` for a file's content already in memory (zip members too)."""
    from studio.core.c2pa_formats import EMBEDDED

    fmt = EMBEDDED.get(suffix) or _MORE_FORMATS.get(suffix)
    if manifest_data is None and (fmt is None or b"jumb" not in data):
        return None  # every C2PA manifest store is a JUMBF box: no "jumb", no credentials (cheap)
    try:
        import io

        import c2pa
        from studio.core.c2pa_formats import c2pa_context
        reader = c2pa.Reader.try_create(fmt or "application/octet-stream", io.BytesIO(data), manifest_data,
                                        context=c2pa_context())  # offline: no remote manifest, no OCSP
        if reader is None:
            return None
        manifest = reader.get_active_manifest() or {}
        state = reader.get_validation_state()
    except Exception:  # noqa: BLE001 - unreadable credentials say nothing either way; the import goes on
        return None
    return _from_manifest(name, manifest, state)


def _from_manifest(name: str, manifest: dict, state: str | None) -> TrainingPermission | None:
    uses: dict[str, str] = {}
    constraint = ""
    for assertion in manifest.get("assertions", []):
        if assertion.get("label") not in TDM_LABELS:
            continue
        entries = (assertion.get("data") or {}).get("entries") or {}
        for key, value in entries.items() if isinstance(entries, dict) else []:
            if isinstance(value, dict) and isinstance(value.get("use"), str):
                uses[str(key).split(".", 1)[-1]] = value["use"]
                constraint = constraint or str(value.get("constraint_info", "") or "")
    if not uses:
        return None
    return TrainingPermission(path=name, uses=uses, valid=state != "Invalid", constraint=constraint)


def training_permission(path: str | Path) -> TrainingPermission | None:
    """The training-and-data-mining preferences in ``path``'s active C2PA manifest (embedded, or in a
    ``NAME.c2pa`` sidecar for MIDI/TXT), or None when it states none."""
    from studio.core.c2pa_formats import SIDECAR, sidecar_path

    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        sidecar = sidecar_path(path)
        manifest_data = sidecar.read_bytes() if suffix in SIDECAR and sidecar.is_file() else None
        return permission_in_bytes(path.read_bytes(), suffix, str(path), manifest_data)
    except OSError:
        return None


# -- the importer's side: skip (or, by the user's choice for the dataset, include) opted-out files ----
SKIP, INCLUDE = "skip", "include"
SETTING = "training_opt_outs"
_choice: contextvars.ContextVar[str | None] = contextvars.ContextVar("studio_training_opt_outs", default=None)


@contextlib.contextmanager
def opt_out_choice(choice: str | None) -> Iterator[None]:
    """Imports inside this block skip (``"skip"``) or include (``"include"``) files whose credentials
    say no to AI training; ``None``: what the dataset remembers (its last import), else skip."""
    if choice not in (None, SKIP, INCLUDE):
        raise ValueError(f"training opt-outs: {choice!r} is neither {SKIP!r} nor {INCLUDE!r}")
    token = _choice.set(choice)
    try:
        yield
    finally:
        _choice.reset(token)


def current_choice(previous_manifest: dict | None) -> str:
    """The choice for this import: the one given (``opt_out_choice``), else the dataset's remembered one."""
    given = _choice.get()
    if given is not None:
        return given
    settings = (previous_manifest or {}).get("settings") or {}
    return INCLUDE if settings.get(SETTING) == INCLUDE else SKIP


def screen_files(files: list, report, choice: str, progress=None) -> list:
    """The files to import: each one whose credentials say no to AI training is skipped with that
    reason (or, when the user chose to include them, kept with a note); other stated preferences are
    noted. ``files`` are the importer's ``SourceFile`` s (on disk or in a zip)."""
    from studio.core.c2pa_formats import SIDECAR, sidecar_path

    kept = []
    for i, f in enumerate(files):
        if progress is not None:  # Cancel works here too; a big folder shows that something happens
            progress.check()
            if i % 256 == 0:
                progress.update(i, len(files), "checking Content Credentials")
        perm = None
        try:
            if f.size <= MAX_SCREEN_BYTES:
                side = sidecar_path(f.path) if f.zip_path is None and f.suffix in SIDECAR else None
                manifest_data = side.read_bytes() if side is not None and side.is_file() else None
                if manifest_data is not None or f.suffix in _SCREENED:
                    perm = permission_in_bytes(f.read_bytes(), f.suffix, f.path, manifest_data)
        except (OSError, ValueError):
            perm = None  # the decoder reads the file next and reports what is wrong with it
        if perm is None:
            kept.append(f)
        elif perm.not_allowed and choice != INCLUDE:
            report.skip(f.path, f"{perm.describe()} (to use it anyway: 'Include them' when the window asks, "
                                "or import with --do-not-train include)")
        else:
            extra = "; imported because you chose to include such files in this dataset" if perm.not_allowed else ""
            report.warn(f.path, perm.describe() + extra)
            kept.append(f)
    return kept
