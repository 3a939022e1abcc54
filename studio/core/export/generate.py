"""Generate from a loaded model and write media files with their recipes (the core of ``studio generate``).

Images go to PNG/JPEG/WebP (one per sample), an animated GIF (all samples as
frames) or a labelled contact sheet (``grid``); melodies to MIDI, WAV or FLAC;
text to TXT that starts with the prime and ends with the recipe block. Same
model, seed and settings give the same bytes. Samples are drawn and written
:data:`BATCH` at a time (``generate_batches``), so memory does not grow with ``n``.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from studio.core.export.naming import DEFAULT_PATTERN, check_target, format_name, plan_paths
from studio.core.export.provenance import make_recipe, sha256_file
from studio.core.export.scale import ExportSize
from studio.core.fileio import read_small_text

FORMATS = {"image": ("png", "jpg", "webp", "gif"), "melody": ("mid", "wav", "flac"), "text": ("txt",)}
DEFAULT_FORMAT = {"image": "png", "melody": "mid", "text": "txt"}
ALIASES = {"jpeg": "jpg", "midi": "mid"}
SINGLE_FILE_FORMATS = ("gif",)  # formats that hold every sample in one file


class GenerateError(ValueError):
    """A request that cannot be carried out (bad format for the modality, --n with a file path, ...)."""


@dataclass
class Source:
    """Where the model came from: goes into every recipe."""
    run_id: str
    run_path: str | None = None
    checkpoint_path: str | None = None
    checkpoint_step: int | None = None
    checkpoint_sha256: str | None = None


@dataclass
class GenerateRequest:
    out: Path
    n: int = 1
    seed: int = 0
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    length: int | None = None
    prime: str | None = None
    fmt: str | None = None
    grid: bool = False
    overwrite: bool = False
    private: bool = False
    bpm: float = 120.0
    pattern: str = DEFAULT_PATTERN
    extra_sampling: dict[str, Any] = field(default_factory=dict)
    size: ExportSize | None = None  # images only: enlarge 1/2/4/8× (None: the model's own size)
    program: int | None = None  # melodies: General MIDI instrument (None: the studio's default)


def source_for_run(run_dir: str | Path, info: Any) -> Source:
    """Run id (from ``run.json``, else the folder name) and the checkpoint's path, step and sha256."""
    run_dir = Path(run_dir)
    ckpt = getattr(info, "path", None) or (info.get("checkpoint") if isinstance(info, dict) else None)
    step = getattr(info, "step", None)
    run_path = run_dir if run_dir.is_dir() else (Path(ckpt).parent.parent if ckpt else run_dir.parent)
    from studio.core.training.run_folder import run_id as read_run_id
    run_id = read_run_id(run_path)
    sha = sha256_file(ckpt) if ckpt and Path(ckpt).is_file() else None
    return Source(run_id, str(run_path.resolve()), str(Path(ckpt).resolve()) if ckpt else None, step, sha)


def run_source(run_dir: str | Path, plugin: Any, info: Any) -> dict[str, Any]:
    """Where a loaded model came from, as plain values for the recipes of later exports (plugin,
    run, checkpoint with its sha256). Hashes the checkpoint: call it off the UI thread."""
    src = source_for_run(run_dir, info)
    return {"plugin_id": plugin.id, "plugin_version": plugin.version, "run_id": src.run_id,
            "run_path": src.run_path, "checkpoint_path": src.checkpoint_path,
            "checkpoint_step": src.checkpoint_step, "checkpoint_sha256": src.checkpoint_sha256}


def _resolve_format(req: GenerateRequest, modality: str) -> tuple[str, bool]:
    """(format, single_file): ``--out`` with a known extension is a file, otherwise a folder."""
    known = {e for v in FORMATS.values() for e in v} | set(ALIASES)
    suffix = req.out.suffix.lower().lstrip(".")
    as_file = bool(suffix) and suffix in known and not req.out.is_dir()
    fmt = (req.fmt or "").lower().lstrip(".") or None
    fmt = ALIASES.get(fmt, fmt)
    if as_file:
        implied = ALIASES.get(suffix, suffix)
        if fmt and fmt != implied:
            raise GenerateError(f"--format {fmt} does not match the extension of {req.out}")
        fmt = implied
    fmt = fmt or DEFAULT_FORMAT[modality]
    if fmt not in FORMATS[modality]:
        raise GenerateError(f"{modality} models write {', '.join(FORMATS[modality])}, not {fmt}")
    if req.grid and fmt not in ("png", "jpg", "webp"):
        raise GenerateError("--grid makes one contact-sheet image: use png, jpg or webp")
    if as_file and req.n > 1 and not (req.grid or fmt in SINGLE_FILE_FORMATS):
        raise GenerateError(f"--out {req.out} is a file but --n is {req.n}: give a folder for several files")
    return fmt, as_file


def sampling_params(req: GenerateRequest, modality: str) -> dict[str, Any]:
    """The sampling keyword arguments the user set (unset ones are left to the model's defaults)."""
    kw: dict[str, Any] = {"temperature": req.temperature}
    if modality != "image":
        kw.update(top_k=req.top_k, top_p=req.top_p, length=req.length)
    kw.update(req.extra_sampling)
    return {k: v for k, v in kw.items() if v is not None}


def _prime(req: GenerateRequest, model, modality: str) -> tuple[Any, dict[str, Any]]:
    """(value passed to ``sample(prime=...)``, what the recipe records)."""
    if not req.prime:
        return None, {}
    source = Path(req.prime)
    is_file = len(req.prime) < 4096 and "\n" not in req.prime and source.is_file()
    if modality == "text":
        text = read_small_text(source, what="prime text file") if is_file else req.prime
        return text, {"prime": text}
    if modality == "melody":
        if not is_file:
            raise GenerateError(f"--prime for a melody model must be a MIDI file; {req.prime} is not a file")
        from studio.core.audio.midi import midi_to_events
        spec = model.spec
        events = midi_to_events(source, spec.min_pitch or 36, spec.max_pitch or 96)
        return events, {"prime_events": events}
    raise GenerateError("--prime applies to melody and text models only")


#: samples drawn and written at a time, so that memory stays flat however large ``n`` is. Batch k
#: (samples 64k..64k+63) is drawn with seed ``seed + 64k``: text samples keep their seed ``seed + i``,
#: and up to 64 samples are the very files one draw of ``n`` gave before streaming.
BATCH = 64
#: a GIF or contact sheet holds every sample in memory and in one file: more frames is not one picture
MAX_ONE_FILE_SAMPLES = 1_000
#: free space kept on the output disk when checking that the rest of a large ``n`` fits
DISK_RESERVE_BYTES = 64 << 20


class NotEnoughSpace(GenerateError):
    """The files of the first batch show that the rest would not fit on the disk; those files are kept."""

    def __init__(self, message: str, written: list[Path]):
        super().__init__(message)
        self.written = written


@dataclass
class BatchWritten:
    """One batch of ``generate_batches``: its files (in order), samples done so far, and the total."""
    paths: list[Path]
    done: int
    total: int


def generate_files(model, plugin, req: GenerateRequest, source: Source, *, draw_vectors=None,
                   sample=None) -> list[Path]:
    """Sample from ``model`` and write the files; returns their paths (see :func:`generate_batches`)."""
    return [p for batch in generate_batches(model, plugin, req, source, draw_vectors=draw_vectors, sample=sample)
            for p in batch.paths]


def generate_batches(model, plugin, req: GenerateRequest, source: Source, *, draw_vectors=None, sample=None,
                     writing=None, batch_size: int = BATCH) -> Iterator[BatchWritten]:
    """Sample from ``model`` :data:`BATCH` samples at a time and write each batch's files before the next
    is drawn; yields a :class:`BatchWritten` per batch. Every target is checked before anything is sampled.

    ``draw_vectors(n, seed, temperature)`` (a latent model's session: ``ModelSession.draw_vectors``)
    gives the vectors the samples were decoded from, recorded in each file's recipe so that restoring a
    file decodes exactly its picture; None (or a None result) records no vector. ``sample(n, seed, **kw)``
    (``ModelSession.sample``: the modality's adapter) draws the samples; default ``model.sample``.
    ``writing(path)``: a context manager around the write of each file (the CLI holds Ctrl+C back there,
    so that a stop never leaves half a file). A GIF or contact sheet is one file: its frames are drawn in
    batches too (the same pictures as a folder of files) and written once at the end.
    """
    modality = plugin.modality
    if req.n < 1:
        raise GenerateError(f"--n must be at least 1, got {req.n}")
    fmt, as_file = _resolve_format(req, modality)
    if req.size is not None and modality != "image":
        raise GenerateError(f"--scale/--resample enlarge pictures; this run is a {modality} model "
                            f"({fmt} files have no pixels), so leave them out")
    one_file = req.grid or fmt in SINGLE_FILE_FORMATS  # every sample in one file (a sheet or a GIF)
    if one_file and req.n > MAX_ONE_FILE_SAMPLES:
        raise GenerateError(f"a {'contact sheet' if req.grid else fmt.upper() + ' file'} holds every sample in "
                            f"one file and in memory: at most {MAX_ONE_FILE_SAMPLES:,}, not {req.n:,}; "
                            "write them to a folder instead")
    prime_value, prime_record = _prime(req, model, modality)
    kw = sampling_params(req, modality)
    names = dict(plugin=plugin.id, run=source.run_id, seed=req.seed)
    writing = writing or (lambda _path: nullcontext())
    size = max(1, int(batch_size))
    target = None
    if one_file or as_file:  # as_file without a sheet or GIF: one sample (n > 1 is refused above)
        target = req.out if as_file else req.out / (format_name(req.pattern, index="grid" if req.grid else "all",
                                                                **names) + "." + fmt)
        check_target(target, req.overwrite)
    else:  # every name checked before the first sample is drawn; only one batch of paths held at a time
        for start in range(0, req.n, size):
            plan_paths(req.out, fmt, min(size, req.n - start), pattern=req.pattern, overwrite=req.overwrite,
                       start_index=start, **names)

    def recipe(index: int | None, vector=None, **extra):
        if modality == "melody":
            from studio.core.audio.instruments import program_name
            extra.update(bpm=req.bpm, program=_program(req), instrument=program_name(_program(req)))
        return make_recipe(plugin_id=plugin.id, plugin_version=plugin.version, run_id=source.run_id,
                           run_path=source.run_path, checkpoint_sha256=source.checkpoint_sha256,
                           checkpoint_step=source.checkpoint_step, checkpoint_path=source.checkpoint_path,
                           seed=req.seed, n=req.n, index=index, vector=vector, modality=modality,
                           sampling={**kw, **prime_record}, extra=extra or None, private=req.private)

    frames: list = []  # a sheet or GIF only
    for start in range(0, req.n, size):
        count = min(size, req.n - start)
        samples, vectors = _draw(model, req, kw, prime_value, count, req.seed + start, sample, draw_vectors)
        if one_file:
            frames.extend(samples[i] for i in range(count))
            continue
        paths = [target] if as_file else plan_paths(req.out, fmt, count, pattern=req.pattern,
                                                    overwrite=req.overwrite, start_index=start, **names)
        recipes = [recipe(start + i, None if vectors is None else vectors[i]) for i in range(count)]
        paths = _write_batch(modality, samples, req, fmt, paths, recipes, model, prime_value, writing)
        del samples, vectors, recipes
        if start == 0 and req.n > count:
            _check_space(paths, req.n - count)
        yield BatchWritten(paths, start + count, req.n)
    if one_file:
        with writing(target):
            path = _write_one_file(frames, req, fmt, target, recipe)
        yield BatchWritten([path], req.n, req.n)


def _draw(model, req, kw, prime_value, count: int, seed: int, sample, draw_vectors):
    """(samples, vectors) of one batch: ``count`` samples drawn with ``seed``."""
    import torch

    call = dict(kw)
    if prime_value is not None:
        call["prime"] = prime_value
    with torch.no_grad():
        samples = (sample or model.sample)(count, seed, **call)
    # the vectors the samples were decoded from (a temperature scales or reshapes the draw)
    vectors = draw_vectors(count, seed, kw.get("temperature")) if draw_vectors is not None else None
    return samples, vectors


def _write_batch(modality, samples, req, fmt, paths, recipes, model, prime_value, writing) -> list[Path]:
    if modality == "image":
        from studio.core.export.images import save_image
        out = []
        for i, (p, r) in enumerate(zip(paths, recipes)):
            with writing(p):
                out.append(save_image(samples[i], p, r, fmt=fmt, overwrite=True, size=req.size))
        return out
    if modality == "melody":
        events = samples.tolist() if hasattr(samples, "tolist") else [list(s) for s in samples]
        if prime_value is not None:  # the file continues the prime, as text does
            events = [list(prime_value) + list(e) for e in events]
        return _write_melodies(events, req, fmt, paths, recipes, model, writing)
    from studio.core.export.text import save_text
    out = []
    for t, p, r in zip(samples, paths, recipes):
        with writing(p):
            out.append(save_text(str(t), p, r, overwrite=req.overwrite))
    return out


def _check_space(first: list[Path], remaining: int) -> None:
    """After the first batch: stop (keeping its files) when the rest, at the size its files took, would
    not fit on the disk with :data:`DISK_RESERVE_BYTES` to spare. The only reason left to bound ``n``."""
    import shutil

    used = sum(p.stat().st_size for p in first)
    need = used * remaining // max(1, len(first))
    free = shutil.disk_usage(first[0].parent).free
    if need > free - DISK_RESERVE_BYTES:
        raise NotEnoughSpace(
            f"stopped after the first {len(first)} files: at {_size(used / len(first))} a file, the other "
            f"{remaining:,} need about {_size(need)}, but {first[0].parent} has {_size(free)} free; "
            f"the {len(first)} files written are complete (ask for fewer with --n, or free some space)", first)


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _write_one_file(frames, req, fmt, target, recipe) -> Path:
    """A contact sheet or GIF of every frame (one file)."""
    from studio.core.export.images import contact_sheet, save_image

    if req.grid:  # each cell is enlarged, then laid out; the recipe records the choice
        labels = [f"seed {req.seed} #{i}" for i in range(req.n)]
        return save_image(contact_sheet(frames, labels, size=req.size), target,
                          recipe(None, frames=req.n, layout="grid"), fmt=fmt, overwrite=req.overwrite,
                          size=req.size, scaled=True)
    if fmt == "gif":
        from studio.core.export.video import save_gif
        return save_gif(frames, target, recipe(None, frames=req.n), overwrite=req.overwrite, size=req.size)
    raise GenerateError(f"{target}: {fmt} holds one sample, not {req.n}")  # refused by _resolve_format first


def _program(req: GenerateRequest) -> int:
    from studio.core.audio.instruments import DEFAULT_PROGRAM
    return DEFAULT_PROGRAM if req.program is None else int(req.program)


def _write_melodies(events, req, fmt, paths, per_sample, model, writing) -> list[Path]:
    spec = model.spec
    min_pitch = int(getattr(spec, "min_pitch", 0) or 36)
    program = _program(req)
    if fmt == "mid":  # the program_change makes a DAW play the instrument the audio export uses
        from studio.core.export.midi import save_midi
        out = []
        for e, p, r in zip(events, paths, per_sample):
            with writing(p):
                out.append(save_midi(e, p, r, bpm=req.bpm, program=program, min_pitch=min_pitch,
                                     overwrite=req.overwrite))
        return out
    from studio.core.audio.render import render_melody
    from studio.core.export.audio import save_audio
    sr = 44100
    out = []
    for e, p, r in zip(events, paths, per_sample):
        sound = render_melody(e, bpm=req.bpm, program=program, sample_rate=sr, min_pitch=min_pitch)
        with writing(p):
            out.append(save_audio(sound.audio, p, {**r, "synth": sound.synth}, sample_rate=sr,
                                  overwrite=req.overwrite))
    return out
