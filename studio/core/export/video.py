"""Animated exports: GIF (comment extension) and MP4 (mutagen tags, optional melody soundtrack).

Both go through imageio / imageio-ffmpeg (the ffmpeg binary ships with the
wheel, so export works without a system ffmpeg). Frames are enlarged by the chosen
:class:`~studio.core.export.scale.ExportSize`; without one, small frames are scaled up by a whole
factor with nearest-neighbour (to ``min_side``) so pixels stay crisp.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from studio.core.export.credentials import sign_bytes, sign_file
from studio.core.export.images import to_uint8
from studio.core.export.naming import check_target
from studio.core.export.provenance import finalize, to_json
from studio.core.export.scale import ExportSize, check_budget, even_frame, scale_image, stamp
from studio.core.export.tags import export_fields, tag_mp4
from studio.core.fileio import atomic_write_bytes, give_normal_mode


def _rgb(frames: Sequence[Any]) -> list[np.ndarray]:
    """RGB uint8 frames at their own size, all of one shape."""
    out = [to_uint8(f) for f in frames]
    if not out:
        raise ValueError("an animation needs at least one frame")
    out = [np.repeat(f[..., None], 3, axis=2) if f.ndim == 2 else f for f in out]
    if any(f.shape != out[0].shape for f in out):
        raise ValueError("all frames of an animation must have the same size")
    return out


def _enlarger(shape: tuple[int, ...], min_side: int, size: ExportSize | None, even: bool = False):
    """frame -> frame at the export size (``size``, else whole-factor nearest up to ``min_side``);
    ``even`` pads odd sides for video codecs."""
    k = 1 if size is not None else max(1, -(-min_side // max(1, min(shape[:2]))))

    def enlarge(f: np.ndarray) -> np.ndarray:
        f = scale_image(f, size) if size is not None else (np.repeat(np.repeat(f, k, axis=0), k, axis=1)
                                                           if k > 1 else f)
        return even_frame(f) if even else f
    return enlarge


def _frames(frames: Sequence[Any], min_side: int, size: ExportSize | None = None) -> list[np.ndarray]:
    """Every frame enlarged (a GIF is encoded from all of them at once, so check the memory first)."""
    rgb = _rgb(frames)
    h, w = rgb[0].shape[:2]
    k = size.scale if size is not None else max(1, -(-min_side // max(1, min(h, w))))
    check_budget(w * k, h * k, len(rgb), what="the animation")
    enlarge = _enlarger(rgb[0].shape, min_side, size)
    return [enlarge(f) for f in rgb]


def save_gif(frames: Sequence[Any], path: str | Path, recipe: dict[str, Any] | None, *, fps: float = 8.0,
             loop: int = 0, min_side: int = 128, overwrite: bool = False, size: ExportSize | None = None,
             scaled: bool = False) -> Path:
    """An animated GIF whose comment extension holds the recipe JSON (it starts with the disclosure).
    ``size`` enlarges the frames (``scaled=True``: they already are; only record the choice)."""
    import imageio.v3 as iio

    path = check_target(path, overwrite)
    out = _frames(frames, 1 if size is not None else min_side, None if scaled else size)
    recipe = finalize(stamp(recipe, size, out[0].shape[1], out[0].shape[0]))
    data = iio.imwrite("<bytes>", np.stack(out), extension=".gif",
                       duration=int(round(1000 / fps)), loop=loop, comment=to_json(recipe).encode("ascii"))
    atomic_write_bytes(path, sign_bytes(data, ".gif", recipe, title=path.name))  # + Content Credentials
    return path


def mp4_tags(recipe: dict[str, Any]) -> dict[str, str]:
    """The MP4 metadata we write, by the names ffmpeg reads them back with (``©nam`` title, ``©cmt``
    comment: the recipe, ``desc`` description: the disclosure, ``©too`` encoder, ``©day`` date; the
    recipe also in ``----:com.generativestudio:recipe``). No artist: that field is the artist's."""
    f = export_fields(recipe)
    return {"title": f["title"], "comment": f["comment"], "description": f["description"],
            "encoder": f["software"], "date": f["date"]}


def save_mp4(frames: Sequence[Any], path: str | Path, recipe: dict[str, Any] | None, *, fps: float = 12.0,
             min_side: int = 256, audio: Any = None, sample_rate: int = 44100, quality: int = 7,
             overwrite: bool = False, size: ExportSize | None = None) -> Path:
    """An H.264 MP4 with the recipe in its metadata; ``audio`` (float array or a WAV path) adds an AAC track."""
    return save_mp4_stream([frames], path, recipe, fps=fps, min_side=min_side, audio=audio,
                           sample_rate=sample_rate, quality=quality, overwrite=overwrite, size=size)


def save_mp4_stream(batches: Iterable[Sequence[Any]], path: str | Path, recipe: dict[str, Any] | None, *,
                    fps: float = 12.0, min_side: int = 256, audio: Any = None, sample_rate: int = 44100,
                    quality: int = 7, overwrite: bool = False, size: ExportSize | None = None) -> Path:
    """``save_mp4`` from batches of frames sent to ffmpeg as they come (only one batch in memory,
    so a long walk costs no more than a short one). Written to a temporary file next to ``path``
    and moved into place when complete: a failure mid-way leaves no half file. ``size`` enlarges
    every frame (instead of ``min_side``); odd sides are padded by one pixel for the codec."""
    import imageio_ffmpeg

    from studio.core.ffmpeg import ffmpeg_exe

    path = check_target(path, overwrite)
    ffmpeg_exe()  # no ffmpeg: one line saying what to install (FfmpegMissing), before any work
    it = iter(batches)
    first = next(it, None)
    # frames are enlarged one at a time as they are sent: an 8× walk holds one big frame, not all
    frames_u8 = _rgb(first if first is not None else [])
    enlarge = _enlarger(frames_u8[0].shape, min_side, size, even=True)
    source_shape = frames_u8[0].shape
    shape = enlarge(frames_u8[0]).shape
    h, w = shape[:2]
    params: list[str] = ["-movflags", "+faststart"]  # index first: players and browsers start before the end loads
    recipe = finalize(stamp(recipe, size, w, h))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".mp4", dir=path.parent)
    os.close(fd)
    wav_tmp = None
    try:
        audio_path = None
        if audio is not None:
            if isinstance(audio, (str, os.PathLike)):
                audio_path = str(audio)
            else:
                import soundfile as sf
                fd2, wav_tmp = tempfile.mkstemp(suffix=".wav", dir=path.parent)
                os.close(fd2)
                sf.write(wav_tmp, np.asarray(audio, dtype=np.float32), int(sample_rate), subtype="PCM_16")
                audio_path = wav_tmp
            params.append("-shortest")  # stop at the end of the shorter stream
        writer = imageio_ffmpeg.write_frames(
            tmp, (w, h), fps=fps, codec="libx264", quality=quality, macro_block_size=2,
            output_params=params, audio_path=audio_path, audio_codec="aac" if audio_path else None,
            ffmpeg_log_level="error")
        writer.send(None)
        try:
            pending: list[np.ndarray] | None = frames_u8
            while pending is not None:
                for f in pending:
                    if f.shape != source_shape:
                        raise ValueError(f"{path}: frames of {f.shape[:2]} after frames of {source_shape[:2]}")
                    writer.send(np.ascontiguousarray(enlarge(f)))
                batch = next(it, None)
                pending = None if batch is None else (_rgb(batch) if len(batch) else [])
        finally:
            writer.close()
        tag_mp4(tmp, recipe)  # before signing: the Content Credentials' hash covers the tags
        sign_file(tmp, recipe, suffix=".mp4", title=path.name)  # Content Credentials; unsigned if that fails
        give_normal_mode(tmp, path)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, wav_tmp):
            if leftover and os.path.exists(leftover):
                os.unlink(leftover)
    return path


def read_mp4_tags(path: str | Path) -> dict[str, str]:
    """Container tags of a video, read with the bundled ffmpeg (``-f ffmetadata``)."""
    import subprocess

    import imageio_ffmpeg

    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"],
                          capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise ValueError(f"{path}: ffmpeg could not read the file ({proc.stderr.decode(errors='replace').strip()[:200]})")
    tags: dict[str, str] = {}
    for raw in _ffmetadata_lines(proc.stdout.decode("utf-8", "replace")):
        if "=" in raw and not raw.startswith((";", "[")):
            key, _, value = raw.partition("=")
            tags[key.strip().lower()] = value
    return tags


def _ffmetadata_lines(text: str) -> list[str]:
    """Split ffmetadata into logical lines, undoing its backslash escapes (= ; # \\ and newline)."""
    lines, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i + 1])
            i += 2
            continue
        if ch == "\n":
            lines.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    if cur:
        lines.append("".join(cur))
    return lines
