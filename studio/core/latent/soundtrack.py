"""A melody walk as the soundtrack of an image walk (``studio interpolate --soundtrack MELODY_RUN``).

Step k of the image walk is shown while phrase k of the melody walk plays, so picture and music
change together. The video keeps a watchable frame rate by holding each picture for a whole
number of frames: ``frames_per_step = round(fps * phrase_seconds)`` (at least 1) and the frame
rate is then set to ``frames_per_step / phrase_seconds``, so the video lasts exactly
``steps * phrase_seconds``. The audio, rendered with the studio synth without a release tail, is
padded or trimmed to exactly that many samples (the last note fades over 20 ms when cut), so the
two streams have the same length.

No Qt here; the melody model is any run with a latent space and melody output.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 44100
FADE_SECONDS = 0.02


@dataclass(frozen=True)
class SoundtrackPlan:
    steps: int              # walk steps (= phrases = distinct pictures)
    phrase_steps: int       # 16th-note steps per phrase
    bpm: float
    fps: float              # the video's frame rate (adjusted so lengths match)
    frames_per_step: int    # video frames each picture is held for

    @property
    def phrase_seconds(self) -> float:
        return self.phrase_steps * 60.0 / self.bpm / 4.0

    @property
    def seconds(self) -> float:
        return self.steps * self.phrase_seconds

    def to_dict(self) -> dict:
        return {"steps": self.steps, "phrase_steps": self.phrase_steps, "bpm": self.bpm, "fps": self.fps,
                "frames_per_step": self.frames_per_step, "seconds": round(self.seconds, 4)}


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


def hold_frames(frames_hwc: np.ndarray, p: SoundtrackPlan) -> np.ndarray:
    """Each walk frame repeated ``frames_per_step`` times: (steps * k, H, W, 3)."""
    if len(frames_hwc) != p.steps:
        raise ValueError(f"expected {p.steps} frames, got {len(frames_hwc)}")
    return np.repeat(frames_hwc, p.frames_per_step, axis=0)


def render_soundtrack(events, p: SoundtrackPlan, min_pitch: int, sample_rate: int = SAMPLE_RATE,
                      voice: str = "pluck") -> np.ndarray:
    """Mono float32 audio of the phrases one after another, exactly as long as the video."""
    from studio.core.audio.synth import render

    ev = np.asarray(events.cpu() if hasattr(events, "cpu") else events, dtype=np.int64)
    if ev.ndim != 2 or ev.shape[0] != p.steps:
        raise ValueError(f"expected {p.steps} phrases of events, got shape {ev.shape}")
    audio = np.asarray(render(ev.reshape(-1).tolist(), bpm=p.bpm, voice=voice, sample_rate=sample_rate,
                              min_pitch=min_pitch, tail=0.0), dtype=np.float32)
    n = int(round(p.steps * p.frames_per_step / p.fps * sample_rate))
    if len(audio) >= n:
        audio = audio[:n].copy()
        fade = min(n, int(FADE_SECONDS * sample_rate))
        if fade:
            audio[n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    else:
        audio = np.pad(audio, (0, n - len(audio)))
    return audio
