"""Generate from a loaded model and write media files with their recipes (the core of ``studio generate``).

Images go to PNG/JPEG/WebP (one per sample), an animated GIF (all samples as
frames) or a labelled contact sheet (``grid``); melodies to MIDI, WAV or FLAC;
text to TXT that starts with the prime and ends with the recipe block. Same
model, seed and settings give the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.export.naming import DEFAULT_PATTERN, check_target, format_name, plan_paths
from studio.core.export.provenance import make_recipe, sha256_file
from studio.core.export.scale import ExportSize

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
        text = source.read_text(encoding="utf-8") if is_file else req.prime
        return text, {"prime": text}
    if modality == "melody":
        if not is_file:
            raise GenerateError(f"--prime for a melody model must be a MIDI file; {req.prime} is not a file")
        from studio.core.audio.midi import midi_to_events
        spec = model.spec
        events = midi_to_events(source, spec.min_pitch or 36, spec.max_pitch or 96)
        return events, {"prime_events": events}
    raise GenerateError("--prime applies to melody and text models only")


def generate_files(model, plugin, req: GenerateRequest, source: Source, *, draw_vectors=None,
                   sample=None) -> list[Path]:
    """Sample from ``model`` and write the files; returns their paths. Checks targets before sampling.

    ``draw_vectors(n, seed, temperature)`` (a latent model's session: ``ModelSession.draw_vectors``)
    gives the vectors the samples were decoded from, recorded in each file's recipe so that restoring a
    file decodes exactly its picture; None (or a None result) records no vector. ``sample(n, seed, **kw)``
    (``ModelSession.sample``: the modality's adapter) draws the samples; default ``model.sample``.
    """
    import torch

    modality = plugin.modality
    if req.n < 1:
        raise GenerateError(f"--n must be at least 1, got {req.n}")
    fmt, as_file = _resolve_format(req, modality)
    if req.size is not None and modality != "image":
        raise GenerateError(f"--scale/--resample enlarge pictures; this run is a {modality} model "
                            f"({fmt} files have no pixels), so leave them out")
    prime_value, prime_record = _prime(req, model, modality)
    kw = sampling_params(req, modality)
    names = dict(plugin=plugin.id, run=source.run_id, seed=req.seed)
    one_file = as_file or req.grid or fmt in SINGLE_FILE_FORMATS
    if one_file:
        target = req.out if as_file else req.out / (format_name(req.pattern, index="grid" if req.grid else "all",
                                                                **names) + "." + fmt)
        paths = [check_target(target, req.overwrite)]
    else:
        paths = plan_paths(req.out, fmt, req.n, pattern=req.pattern, overwrite=req.overwrite, **names)

    call = dict(kw)
    if prime_value is not None:
        call["prime"] = prime_value
    with torch.no_grad():
        samples = (sample or model.sample)(req.n, req.seed, **call)
    # the vectors the samples were decoded from (a temperature scales or reshapes the draw)
    vectors = draw_vectors(req.n, req.seed, kw.get("temperature")) if draw_vectors is not None else None

    def recipe(index: int | None, vector=None, **extra):
        if modality == "melody":
            from studio.core.audio.instruments import program_name
            extra.update(bpm=req.bpm, program=_program(req), instrument=program_name(_program(req)))
        return make_recipe(plugin_id=plugin.id, plugin_version=plugin.version, run_id=source.run_id,
                           run_path=source.run_path, checkpoint_sha256=source.checkpoint_sha256,
                           checkpoint_step=source.checkpoint_step, checkpoint_path=source.checkpoint_path,
                           seed=req.seed, n=req.n, index=index, vector=vector, modality=modality,
                           sampling={**kw, **prime_record}, extra=extra or None, private=req.private)

    per_sample = [recipe(i, None if vectors is None else vectors[i]) for i in range(req.n)]
    if modality == "image":
        return _write_images(samples, req, fmt, paths, per_sample, recipe)
    if modality == "melody":
        events = samples.tolist() if hasattr(samples, "tolist") else [list(s) for s in samples]
        if prime_value is not None:  # the file continues the prime, as text does
            events = [list(prime_value) + list(e) for e in events]
        return _write_melodies(events, req, fmt, paths, per_sample, model)
    from studio.core.export.text import save_text
    return [save_text(str(t), p, r, overwrite=req.overwrite) for t, p, r in zip(samples, paths, per_sample)]


def _write_images(samples, req, fmt, paths, per_sample, recipe) -> list[Path]:
    from studio.core.export.images import contact_sheet, save_image, save_images

    frames = [samples[i] for i in range(req.n)]
    if req.grid:  # each cell is enlarged, then laid out; the recipe records the choice
        labels = [f"seed {req.seed} #{i}" for i in range(req.n)]
        return [save_image(contact_sheet(frames, labels, size=req.size), paths[0],
                           recipe(None, frames=req.n, layout="grid"), fmt=fmt, overwrite=req.overwrite,
                           size=req.size, scaled=True)]
    if fmt == "gif":
        from studio.core.export.video import save_gif
        return [save_gif(frames, paths[0], recipe(None, frames=req.n), overwrite=req.overwrite, size=req.size)]
    return save_images(frames, paths, per_sample, fmt=fmt, overwrite=req.overwrite, size=req.size)


def _program(req: GenerateRequest) -> int:
    from studio.core.audio.instruments import DEFAULT_PROGRAM
    return DEFAULT_PROGRAM if req.program is None else int(req.program)


def _write_melodies(events, req, fmt, paths, per_sample, model) -> list[Path]:
    spec = model.spec
    min_pitch = int(getattr(spec, "min_pitch", 0) or 36)
    program = _program(req)
    if fmt == "mid":  # the program_change makes a DAW play the instrument the audio export uses
        from studio.core.export.midi import save_midi
        return [save_midi(e, p, r, bpm=req.bpm, program=program, min_pitch=min_pitch, overwrite=req.overwrite)
                for e, p, r in zip(events, paths, per_sample)]
    from studio.core.audio.render import render_melody
    from studio.core.export.audio import save_audio
    sr = 44100
    out = []
    for e, p, r in zip(events, paths, per_sample):
        sound = render_melody(e, bpm=req.bpm, program=program, sample_rate=sr, min_pitch=min_pitch)
        out.append(save_audio(sound.audio, p, {**r, "synth": sound.synth}, sample_rate=sr,
                              overwrite=req.overwrite))
    return out
