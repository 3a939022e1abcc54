"""Non-blocking melody playback through PortAudio (sounddevice).

:class:`MelodyPlayer` feeds a rendered buffer to an ``OutputStream`` from the
audio callback, so the caller (the UI thread) never waits on the sound card.
It reports where the sound is in 16th-note steps for a playhead. When
PortAudio or an output device is missing it logs the reason once, keeps the
reason in ``player.reason`` and every method stays callable (they do nothing).
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

import numpy as np

from studio.core.audio.devices import list_output_devices

log = logging.getLogger(__name__)
_reported: set[str] = set()  # reasons already logged: say it once per process


def _report(reason: str) -> None:
    if reason and reason not in _reported:
        _reported.add(reason)
        log.warning("playback: %s", reason)


def load_sounddevice():
    """The sounddevice module, or raise OSError/ImportError when PortAudio is missing."""
    import sounddevice as sd  # noqa: PLC0415 - optional at run time
    return sd


class MelodyPlayer:
    """Play float32 mono audio with loop/stop and a step position; never raises on a missing device."""

    def __init__(self, sample_rate: int = 44100, device: int | None = None, blocksize: int = 512):
        self.sample_rate = int(sample_rate)
        self.device = device
        self.blocksize = blocksize
        self.reason = ""
        self._sd = None
        self._stream = None
        self._audio = np.zeros(0, dtype=np.float32)
        self._pos = 0              # next frame the callback will write
        self._loop_end = 0         # frames in one loop cycle (steps only, no release tail)
        self._loop = False
        self._step_frames = 1.0
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._done.set()
        self.on_finished: Callable[[], None] | None = None
        self.check()

    # -- availability ------------------------------------------------------
    def check(self) -> bool:
        """Look for PortAudio and an output device; sets ``reason`` (empty when playback works)."""
        try:
            self._sd = load_sounddevice()
        except (OSError, ImportError) as exc:
            self._sd = None
            self.reason = f"PortAudio is not available ({exc}); playback is off, export still works"
            _report(self.reason)
            return False
        devices, reason = list_output_devices()
        self.reason = reason
        _report(reason)
        return not reason

    @property
    def available(self) -> bool:
        return self._sd is not None and not self.reason

    def devices(self) -> list[dict]:
        return list_output_devices()[0] if self._sd is not None else []

    def set_device(self, index: int | None) -> None:
        """Choose an output device by PortAudio index (None: the system default)."""
        self.stop()
        self.device = index

    # -- transport ---------------------------------------------------------
    def play(self, audio: np.ndarray, step_seconds: float, loop: bool = False, start_step: float = 0.0,
             loop_steps: int | None = None) -> bool:
        """Start playing ``audio`` (returns at once). False when playback is unavailable or failed."""
        self.stop()
        if not self.available:
            return False
        sd = self._sd
        self._step_frames = max(1e-9, step_seconds * self.sample_rate)
        with self._lock:
            self._audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
            self._loop = bool(loop)
            self._loop_end = int(round(loop_steps * self._step_frames)) if loop_steps else len(self._audio)
            self._loop_end = max(1, min(self._loop_end, len(self._audio)))
            self._pos = int(max(0.0, start_step) * self._step_frames)
        self._done.clear()
        try:
            self._stream = sd.OutputStream(samplerate=self.sample_rate, channels=1, dtype="float32",
                                           device=self.device, blocksize=self.blocksize,
                                           callback=self._callback, finished_callback=self._finished)
            self._stream.start()
        except Exception as exc:  # noqa: BLE001 - PortAudioError, bad device index, busy device
            self._stream = None
            self._done.set()
            self.reason = f"could not open the sound output ({exc}); playback is off, export still works"
            _report(self.reason)
            return False
        return True

    def _callback(self, outdata, frames, time_info, status) -> None:  # audio thread
        out = outdata[:, 0]
        with self._lock:
            audio, pos = self._audio, self._pos
            written = 0
            while written < frames:
                end = self._loop_end if self._loop else len(audio)
                take = min(frames - written, max(0, end - pos))
                if take:
                    out[written:written + take] = audio[pos:pos + take]
                    written += take
                    pos += take
                if written < frames:
                    if self._loop and end > 0:
                        pos = 0
                        continue
                    out[written:] = 0.0
                    self._pos = pos
                    raise self._sd.CallbackStop
            self._pos = pos

    def _finished(self) -> None:  # audio thread, after the last buffer
        self._done.set()
        cb = self.on_finished
        if cb is not None:
            try:
                cb()
            except Exception:  # noqa: BLE001
                log.exception("playback finished callback failed")

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception as exc:  # noqa: BLE001
                log.debug("closing the output stream: %s", exc)
        self._done.set()

    @property
    def is_playing(self) -> bool:
        return self._stream is not None and not self._done.is_set()

    def position_steps(self) -> float:
        """Where the sound is, in 16th steps from the start (for the playhead)."""
        stream = self._stream
        pos = self._pos
        if stream is not None:
            try:  # what was handed to PortAudio has not been heard yet
                pos = max(0, pos - int(stream.latency * self.sample_rate))
            except Exception:  # noqa: BLE001
                pass
        return pos / self._step_frames

    def wait(self, timeout: float | None = None) -> bool:
        """Block until playback ends (tests, CLI); True when it ended."""
        return self._done.wait(timeout)

    def close(self) -> None:
        self.stop()
