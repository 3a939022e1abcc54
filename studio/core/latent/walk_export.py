"""Writing what the latent explorer makes: contact sheets, walks as GIF/MP4/PNG frames, melody walks
as MIDI/WAV. Each file carries a small provenance record (plugin, run, checkpoint, method) where the
format has a place for text (PNG text chunk, GIF comment, MIDI text event).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from studio.core.audio.events import MIN_PITCH, events_to_notes

FORMATS = ("gif", "mp4", "png", "mid", "wav")
IMAGE_FORMATS = ("gif", "mp4", "png")
MELODY_FORMATS = ("mid", "wav")
STEP_SECONDS_AT_120 = 0.125  # a 16th note at 120 bpm


def to_uint8_hwc(images) -> np.ndarray:
    """Images float (n,C,H,W) in [0,1] (numpy or torch) -> uint8 (n,H,W,3)."""
    x = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (n, C, H, W), got shape {x.shape}")
    if x.dtype != np.uint8:
        x = (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    x = np.transpose(x, (0, 2, 3, 1))
    if x.shape[3] == 1:
        x = np.repeat(x, 3, axis=3)
    elif x.shape[3] > 3:
        x = x[:, :, :, :3]
    return np.ascontiguousarray(x)


def contact_sheet(frames_hwc: np.ndarray, rows: int, cols: int, gutter: int = 2, background: int = 24) -> np.ndarray:
    """Tile (n,H,W,3) uint8 frames row by row into one (rows*(H+g)-g, cols*(W+g)-g, 3) image."""
    n, h, w, c = frames_hwc.shape
    if n > rows * cols:
        raise ValueError(f"{n} images do not fit a {rows}x{cols} sheet")
    sheet = np.full((rows * (h + gutter) - gutter, cols * (w + gutter) - gutter, c), background, np.uint8)
    for k in range(n):
        r, q = divmod(k, cols)
        sheet[r * (h + gutter): r * (h + gutter) + h, q * (w + gutter): q * (w + gutter) + w] = frames_hwc[k]
    return sheet


def upscale(frame: np.ndarray, factor: int) -> np.ndarray:
    return frame if factor <= 1 else np.repeat(np.repeat(frame, factor, axis=0), factor, axis=1)


def _provenance_text(provenance: dict[str, Any] | None) -> str:
    return json.dumps({"generator": "generative-studio", **(provenance or {})}, default=str)


def _recipe(provenance: dict[str, Any] | None):
    """A ``studio.core.export`` recipe (disclosure + provenance) when that package is installed, else None."""
    try:
        from studio.core.export.provenance import make_recipe
    except ImportError:
        return None
    prov = dict(provenance or {})
    extra = {k: v for k, v in prov.items() if k not in ("plugin", "run", "checkpoint", "seed", "vector")}
    run_id, run_path = run_identity(str(prov.get("run") or ""))
    ckpt = str(prov["checkpoint"]) if prov.get("checkpoint") else None
    sha, step = _checkpoint_identity(ckpt)
    return make_recipe(plugin_id=str(prov.get("plugin", "")), run_id=run_id, run_path=run_path,
                       checkpoint_path=ckpt, checkpoint_sha256=sha, checkpoint_step=step,
                       seed=prov.get("seed"), vector=prov.get("vector"), modality=prov.get("modality") or None,
                       extra={"latent": extra})


def run_identity(run: str) -> tuple[str, str | None]:
    """(run id, absolute run folder or None): the id from ``run.json`` when the folder is there."""
    if not run:
        return "", None
    folder = Path(run)
    if not folder.is_dir():
        return folder.name or run, None
    from studio.core.training.run_folder import run_id

    return run_id(folder), str(folder.resolve())


def _checkpoint_identity(ckpt: str | None) -> tuple[str | None, int | None]:
    """(sha256, step) of a checkpoint file (step from its ``step-NNNNNNNN`` name)."""
    import re

    if not ckpt:
        return None, None
    m = re.search(r"step-(\d+)", Path(ckpt).name)
    step = int(m.group(1)) if m else None
    if not Path(ckpt).is_file():
        return None, step
    from studio.core.export.provenance import sha256_file
    return sha256_file(ckpt), step


def write_png(path: str | Path, image_hwc: np.ndarray, provenance: dict[str, Any] | None = None,
              size=None, scaled: bool = False) -> Path:
    """One PNG; ``size`` (an ``ExportSize``) enlarges it, or with ``scaled`` records that a sheet of
    already enlarged cells was made at that size."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    recipe = _recipe(provenance)
    if recipe is not None:
        from studio.core.export.images import save_image
        return save_image(np.ascontiguousarray(image_hwc), path, recipe, overwrite=True, size=size, scaled=scaled)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = PngInfo()
    info.add_text("studio", _provenance_text(provenance))
    Image.fromarray(np.ascontiguousarray(image_hwc)).save(path, pnginfo=info)
    return path


def write_gif(path: str | Path, frames_hwc: np.ndarray, fps: float = 12.0, scale: int = 1,
              provenance: dict[str, Any] | None = None, size=None) -> Path:
    """An endlessly looping GIF with exactly one frame per input frame; ``size`` (an ``ExportSize``)
    enlarges the frames, else the whole factor ``scale`` (nearest).

    Pillow merges consecutive identical frames; a walk whose neighbours decode identically
    gets one pixel's lowest bit toggled (after enlarging) so the requested frame count is kept.
    """
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if size is not None:
        from studio.core.export.scale import check_budget, scale_frames
        n, h, w = len(frames_hwc), *np.asarray(frames_hwc[0]).shape[:2]
        check_budget(w * size.scale, h * size.scale, n, what=f"the walk at {size.scale}×")
        frames = [f.copy() for f in scale_frames(frames_hwc, size)]
    else:
        frames = [upscale(f, scale).copy() for f in frames_hwc]
    for k in range(1, len(frames)):
        if np.array_equal(frames[k], frames[k - 1]):
            frames[k][0, 0, 0] ^= 1
    recipe = _recipe(provenance)
    if recipe is not None:
        from studio.core.export.video import save_gif
        return save_gif(frames, path, recipe, fps=fps, min_side=1, overwrite=True, size=size, scaled=True)
    ims = [Image.fromarray(f) for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=int(round(1000.0 / fps)), loop=0,
                optimize=False, comment=_provenance_text(provenance).encode("utf-8"))
    return path


def write_mp4(path: str | Path, frames_hwc: np.ndarray, fps: float = 24.0, min_size: int = 256,
              audio_path: str | Path | None = None, provenance: dict[str, Any] | None = None, size=None) -> Path:
    """H.264 MP4 with the walk's recipe. Frames are enlarged by ``size`` (an ``ExportSize``), else
    (nearest) to at least ``min_size`` so players show them crisp; ``audio_path`` adds a soundtrack."""
    return write_mp4_stream(path, [np.asarray(frames_hwc)], fps, min_size, audio_path, provenance, size)


def write_mp4_stream(path: str | Path, batches: Iterable[np.ndarray], fps: float = 24.0, min_size: int = 256,
                     audio_path: str | Path | None = None, provenance: dict[str, Any] | None = None,
                     size=None) -> Path:
    """``write_mp4`` from an iterable of uint8 (n,H,W,3) frame batches, each sent to ffmpeg as it
    comes (``studio.core.export.video.save_mp4_stream``), so a long walk needs no more memory."""
    from studio.core.export.video import save_mp4_stream

    return save_mp4_stream(batches, path, _recipe(provenance), fps=fps, min_side=min_size, audio=audio_path,
                           overwrite=True, size=size)


def write_png_frames(folder: str | Path, frames_hwc: np.ndarray, provenance: dict[str, Any] | None = None,
                     size=None) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_png(folder / f"frame-{k:04d}.png", f, {**(provenance or {}), "frame": k}, size=size)
            for k, f in enumerate(frames_hwc)]


# -- melodies ---------------------------------------------------------------
def write_melody_walk_midi(path: str | Path, events, min_pitch: int = MIN_PITCH, bpm: float = 120.0,
                           provenance: dict[str, Any] | None = None) -> Path:
    """One phrase per walk step, one after another in one track; each phrase starts with a
    ``marker`` meta event ("step k") so tools (and tests) can find the phrases."""
    import mido

    ev = np.asarray(events.cpu() if hasattr(events, "cpu") else events, dtype=np.int64)
    if ev.ndim != 2:
        raise ValueError(f"expected melodies of shape (n, L), got shape {ev.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tpb = 480
    step_ticks = tpb // 4
    mid = mido.MidiFile(ticks_per_beat=tpb)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    recipe = _recipe(provenance)
    if recipe is not None:  # the form studio.core.export.read finds, plus the disclosure line
        from studio.core.audio.midi import TEXT_PREFIX
        from studio.core.export.provenance import DISCLOSURE_LINE, to_json
        track.append(mido.MetaMessage("text", text=TEXT_PREFIX + to_json(recipe), time=0))
        track.append(mido.MetaMessage("text", text=DISCLOSURE_LINE, time=0))  # copyright: the artist's
    else:
        track.append(mido.MetaMessage("text", text=_provenance_text(provenance), time=0))
    now = 0  # absolute tick of the last message written
    timeline: list[tuple[int, int, Any]] = []  # (tick, order, message)
    for k, phrase in enumerate(ev):
        start = k * ev.shape[1] * step_ticks
        timeline.append((start, 0, mido.MetaMessage("marker", text=f"step {k}")))
        for note in events_to_notes(phrase.tolist(), min_pitch):
            on = start + note.start * step_ticks
            off = on + note.duration * step_ticks
            pitch = int(np.clip(note.pitch, 0, 127))
            timeline.append((on, 2, mido.Message("note_on", note=pitch, velocity=90)))
            timeline.append((off, 1, mido.Message("note_off", note=pitch, velocity=0)))
    timeline.sort(key=lambda t: (t[0], t[1]))
    for tick, _, msg in timeline:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=step_ticks))
    mid.save(str(path))
    if recipe is not None:  # MIDI has no C2PA embedding: Content Credentials in a NAME.mid.c2pa sidecar
        from studio.core.export.credentials import write_sidecar
        write_sidecar(path, recipe)
    return path


def render_melody_audio(events, min_pitch: int = MIN_PITCH, bpm: float = 120.0, sample_rate: int = 22050,
                        program: int | None = None) -> np.ndarray:
    """Mono float32 audio of phrases played one after another, by the same instrument as the
    Melody panel's preview and the MIDI file (SoundFont, else the numpy synth)."""
    from studio.core.audio.instruments import DEFAULT_PROGRAM
    from studio.core.audio.render import render_melody

    ev = np.asarray(events.cpu() if hasattr(events, "cpu") else events, dtype=np.int64)
    rendering = render_melody(ev.reshape(-1).tolist(), bpm=bpm, sample_rate=sample_rate, min_pitch=min_pitch,
                              program=DEFAULT_PROGRAM if program is None else int(program))
    return np.asarray(rendering.audio, dtype=np.float32).reshape(-1)


def write_melody_walk_wav(path: str | Path, events, min_pitch: int = MIN_PITCH, bpm: float = 120.0,
                          sample_rate: int = 22050, provenance: dict[str, Any] | None = None) -> Path:
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = render_melody_audio(events, min_pitch, bpm, sample_rate)
    recipe = _recipe(provenance)
    if recipe is not None:  # RIFF LIST/INFO with the recipe and the disclosure
        from studio.core.export.audio import save_audio
        return save_audio(audio, path, recipe, sample_rate=sample_rate, fmt="wav", overwrite=True)
    sf.write(str(path), audio, sample_rate, subtype="PCM_16")
    return path
