"""The shared import pipeline: collect sources, fingerprint, decode, report, write atomically."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from studio.core.datasets import training_permission as opt_outs
from studio.core.datasets import writer
from studio.core.datasets.fingerprint import fingerprint as content_fingerprint
from studio.core.datasets.report import CancelToken, ImportReport, ImportResult, Progress, ProgressCallback
from studio.core.datasets.size_advice import small_dataset_note
from studio.core.datasets.sources import SourceFile, collect


@dataclass
class Decoded:
    """What a modality's decoder hands back to the pipeline."""

    spec: dict[str, Any]
    tensors: dict[str, np.ndarray]
    augment: dict[str, Any] = field(default_factory=lambda: {"hflip": False})
    extra: dict[str, Any] = field(default_factory=dict)
    #: content digests (by source path) of the files the decoder read, for the fingerprint
    digests: dict[str, str] = field(default_factory=dict)


DecodeFn = Callable[[list[SourceFile], ImportReport, Progress], "Decoded | None"]


def run_import(modality: str, sources, out_dir, settings: dict[str, Any], decode: DecodeFn, *,
               progress: ProgressCallback | None = None, cancel: CancelToken = None,
               license_note: str | None = None, extra_manifest: dict[str, Any] | None = None) -> ImportResult:
    """Import ``sources`` into ``out_dir``; a cache hit when the folder already holds the same import.

    Returns an :class:`ImportResult`; ``result.folder`` is None when nothing was usable
    (the report then says why for every file). Raises ``ImportCancelled`` on cancel and
    ``TargetFolderError`` for an unusable target folder.
    """
    prog = Progress(progress, cancel)
    out = writer.check_target(out_dir)
    report = ImportReport(modality)
    prog.update(0, 0, "finding files")
    files = collect(sources, report, prog)
    # Content Credentials that say "no AI training": skipped, unless the user chose to include them for
    # this dataset (remembered in its settings, so the fingerprint and the next re-import follow the choice)
    choice = opt_outs.current_choice(writer.read_manifest(out))
    files = opt_outs.screen_files(files, report, choice, prog)
    if choice == opt_outs.INCLUDE:
        settings = {**settings, opt_outs.SETTING: opt_outs.INCLUDE}
    source_list = [str(Path(s).expanduser().resolve()) for s in ([sources] if isinstance(sources, (str, Path))
                                                                 else sources)]
    listing_skips = list(report.skipped)  # the fingerprint covers what the listing skipped, not decode skips
    fp = None
    if writer.read_manifest(out) is not None:
        # The folder holds an import: hash the sources first, it may be this very one (a cache hit).
        fp = content_fingerprint(modality, files, settings, listing_skips, prog)
        hit = writer.cached(out, fp)
        if hit is not None:
            prog.update(1, 1, "already imported (identical sources and settings)")
            return ImportResult(modality, out, hit, cached=True)
    started = time.perf_counter()
    decoded = decode(files, report, prog)
    prog.check()
    if fp is None:  # a fresh import: digests of the bytes the decoder read, each file read once
        fp = content_fingerprint(modality, files, settings, listing_skips, prog,
                                 known=decoded.digests if decoded else None)
    missing = {f.path for f in files} - report.accounted
    for path in sorted(missing):  # a decoder bug must not make a file vanish from the report
        report.skip(path, "not processed (internal error); please report this")
    note = small_dataset_note(modality, report.stats) if report.accepted else ""
    if note:
        report.warn(str(out), note)  # about the dataset as a whole, shown with the other notes
    report.stats.setdefault("seconds", round(time.perf_counter() - started, 3))
    report.stats.setdefault("files", len(files))
    manifest = writer.build_manifest(
        modality, decoded.spec if decoded else {}, report.to_dict(), source_list, fp, settings,
        decoded.augment if decoded else {"hflip": False}, license_note or writer.DEFAULT_LICENSE_NOTE,
        **(decoded.extra if decoded else {}), **(extra_manifest or {}))
    if decoded is None or not report.accepted:
        return ImportResult(modality, None, manifest)
    prog.update(1, 1, "writing dataset")
    folder = writer.write_dataset(out, manifest, decoded.tensors, prog)
    return ImportResult(modality, folder, manifest)


def val_mask_for(keys: list[str], fraction: float = 0.1) -> np.ndarray:
    """A stable validation split: by a hash of each key, so it survives re-imports and reordering."""
    import hashlib

    n = len(keys)
    mask = np.zeros(n, dtype=bool)
    if n < 2 or fraction <= 0:
        return mask
    scores = [int.from_bytes(hashlib.blake2b(k.encode("utf-8", "surrogateescape"), digest_size=8).digest(), "big")
              for k in keys]
    want = max(1, int(round(n * fraction)))
    for i in sorted(range(n), key=scores.__getitem__)[:want]:
        mask[i] = True
    return mask
