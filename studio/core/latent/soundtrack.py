"""A melody walk as the soundtrack of an image walk (``studio interpolate --soundtrack MELODY_RUN``).

Phrase k of the melody walk and step k of the image walk belong together. Timing: every phrase
gets a whole number of video frames, ``frames_per_step = round(fps * phrase_seconds)`` (at least
1), and the frame rate is then set to ``frames_per_step / phrase_seconds``, so the video lasts
exactly ``steps * phrase_seconds`` and every phrase starts on a frame.

Motion (``glide_latents`` / ``glide_batches``, the default): **the keyframe of step k is shown
exactly on the first frame of phrase k** (frame ``k * frames_per_step``). During phrase k the
picture glides from keyframe k towards keyframe k + 1, one decoded in-between latent per video
frame, mixed with the walk's own method (lerp or slerp; slerp between two neighbours of a slerp
walk stays on the walk's great circle, so the glide is the walk itself, just sampled finer). The
last phrase has no next keyframe: it rests on the end picture, so the walk lands as the music
ends. Latents are built lazily and decoded in batches, and frames are handed on batch by batch,
so memory does not grow with the walk's length. ``held_batches`` (``--hold``)
keep the older slideshow: each picture held for its whole phrase.

Sound: the phrases rendered with the studio synth without a release tail, padded or trimmed to
exactly the video's length (the last note fades over 20 ms when cut).

No Qt here; the melody model is any run with a latent space and melody output.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

SAMPLE_RATE = 44100
FADE_SECONDS = 0.02


@dataclass(frozen=True)
class SoundtrackPlan:
    steps: int              # walk steps (= phrases = keyframes)
    phrase_steps: int       # 16th-note steps per phrase
    bpm: float
    fps: float              # the video's frame rate (adjusted so lengths match)
    frames_per_step: int    # video frames per phrase (keyframe k is frame k * frames_per_step)

    @property
    def phrase_seconds(self) -> float:
        return self.phrase_steps * 60.0 / self.bpm / 4.0

    @property
    def seconds(self) -> float:
        return self.steps * self.phrase_seconds

    @property
    def frames(self) -> int:
        """Video frames in all."""
        return self.steps * self.frames_per_step

    def to_dict(self) -> dict:
        return {"steps": self.steps, "phrase_steps": self.phrase_steps, "bpm": self.bpm, "fps": self.fps,
                "frames_per_step": self.frames_per_step, "frames": self.frames, "seconds": round(self.seconds, 4)}


def plan(steps: int, phrase_steps: int, bpm: float = 120.0, fps: float = 12.0) -> SoundtrackPlan:
    if steps < 1 or phrase_steps < 1:
        raise ValueError(f"a soundtrack needs at least one step and one 16th per phrase (got {steps}, {phrase_steps})")
    if not 20.0 <= bpm <= 400.0:
        raise ValueError(f"tempo {bpm:g} bpm is outside 20..400")
    if fps <= 0:
        raise ValueError(f"frame rate must be positive (got {fps})")
    phrase_s = phrase_steps * 60.0 / bpm / 4.0
    k = max(1, int(round(fps * phrase_s)))
    return SoundtrackPlan(int(steps), int(phrase_steps), float(bpm), k / phrase_s, k)


def held_batches(frames_hwc: np.ndarray, p: SoundtrackPlan) -> Iterator[np.ndarray]:
    """Each walk frame repeated for its whole phrase (``frames_per_step`` times), one phrase at a time."""
    if len(frames_hwc) != p.steps:
        raise ValueError(f"expected {p.steps} frames, got {len(frames_hwc)}")
    for frame in frames_hwc:
        yield np.repeat(frame[None], p.frames_per_step, axis=0)


def keyframe_indices(p: SoundtrackPlan) -> list[int]:
    """Video frame of each walk step: the first frame of its phrase."""
    return [k * p.frames_per_step for k in range(p.steps)]


def glide_latents(keyframes, p: SoundtrackPlan, method: str = "slerp", batch: int = 64) -> Iterator[np.ndarray]:
    """One latent per video frame, ``p.frames`` in all, in float32 batches of at most ``batch`` rows.

    Frame ``k * F + j`` (F = frames per phrase, 0 <= j < F) mixes keyframe k and k + 1 at
    ``t = j / F``; ``j = 0`` is keyframe k itself (bit for bit), the last phrase stays on the last
    keyframe. Built batch by batch, so a long walk never holds all its latents at once.
    """
    from studio.core.latent.interp import METHODS, as_vectors, slerp_pairs

    z = as_vectors(keyframes)
    if len(z) != p.steps:
        raise ValueError(f"expected {p.steps} keyframes, got {len(z)}")
    if method not in METHODS:
        raise ValueError(f"interpolation method {method!r} is not one of {', '.join(METHODS)}")
    if batch < 1:
        raise ValueError(f"batch must be at least 1 (got {batch})")
    f = p.frames_per_step
    for start in range(0, p.frames, batch):
        idx = np.arange(start, min(start + batch, p.frames))
        k, j = idx // f, idx % f
        a, b = z[k], z[np.minimum(k + 1, p.steps - 1)]
        t = (j / f).astype(np.float32)
        rows = slerp_pairs(a, b, t) if method == "slerp" else ((1.0 - t)[:, None] * a + t[:, None] * b)
        rows = np.asarray(rows, np.float32)
        exact = (j == 0) | (k == p.steps - 1)   # keyframes and the resting end bit for bit, whatever the mix rounds
        rows[exact] = a[exact]
        yield rows


def glide_batches(decoder, keyframes, p: SoundtrackPlan, method: str = "slerp",
                  batch: int = 64) -> Iterator[np.ndarray]:
    """Decoded uint8 (n,H,W,3) video frames of ``glide_latents``: one decoder call per batch."""
    from studio.core.latent.walk_export import to_uint8_hwc

    for z in glide_latents(keyframes, p, method, batch):
        yield to_uint8_hwc(decoder.decode(z))


def render_soundtrack(events, p: SoundtrackPlan, min_pitch: int, sample_rate: int = SAMPLE_RATE,
                      voice: str = "pluck") -> np.ndarray:
    """Mono float32 audio of the phrases one after another, exactly as long as the video."""
    from studio.core.audio.render import render_melody

    ev = np.asarray(events.cpu() if hasattr(events, "cpu") else events, dtype=np.int64)
    if ev.ndim != 2 or ev.shape[0] != p.steps:
        raise ValueError(f"expected {p.steps} phrases of events, got shape {ev.shape}")
    # the same instrument as the Melody panel and the MIDI files (voice: the numpy fallback's)
    audio = np.asarray(render_melody(ev.reshape(-1).tolist(), bpm=p.bpm, voice=voice, sample_rate=sample_rate,
                                     min_pitch=min_pitch, tail=0.0).audio, dtype=np.float32)
    n = int(round(p.steps * p.frames_per_step / p.fps * sample_rate))
    if len(audio) >= n:
        audio = audio[:n].copy()
        fade = min(n, int(FADE_SECONDS * sample_rate))
        if fade:
            audio[n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    else:
        audio = np.pad(audio, (0, n - len(audio)))
    return audio
