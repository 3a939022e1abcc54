"""Playing walks in the latent grid's preview: frames for image models, a morph you hear (with a
playhead) for melody models. ``WalkPlayer`` owns the audio player and the playhead clock."""
from __future__ import annotations

import logging
import threading
import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)
STEP_SECONDS = 0.125   # a 16th note at 120 bpm
WALK_FPS = 12.0


class WalkPlayer(QObject):
    message = Signal(str)
    started = Signal()      # a walk began playing in the preview (the panel brings the preview to front)

    def __init__(self, worker, preview, parent=None):
        super().__init__(parent)
        self.worker, self.preview = worker, preview
        self.model = None           # the LoadedModel being explored
        self.play_info = None       # (steps, thread) of the melody playing, for the playhead
        self._started_at = 0.0
        self._player = None         # MelodyPlayer, False when audio is unavailable, None before first use
        self._playhead_timer = QTimer(self, interval=40)
        self._playhead_timer.timeout.connect(self._tick_playhead)
        worker.decoded.connect(self._on_decoded)

    def play(self, name: str, z: np.ndarray) -> None:
        """Decode the walk ``z`` (named ``name``) on the worker, then play it."""
        self.message.emit(f"Decoding {len(z)} steps of “{name}”…")
        self.worker.submit("walk", ("play", name), [None] * len(z), z)

    def _on_decoded(self, tag, token, keys, tiles, raw) -> None:
        if tag != "walk" or token[0] != "play" or self.model is None:
            return
        self.started.emit()
        if self.model.modality == "melody":
            self.preview.show_melody(np.asarray(raw).reshape(-1), f"{token[1]}: {len(raw)} phrases")
            self.play_melody(np.asarray(raw))
        else:
            self.preview.play_frames(list(tiles), WALK_FPS, f"{token[1]}: {len(tiles)} frames")
        self.message.emit(f"Playing “{token[1]}”")

    def stop(self) -> None:
        self.preview.stop()
        self._playhead_timer.stop()
        self.preview.set_playhead(None)
        if self._player:
            try:
                self._player.stop()
            except Exception:  # noqa: BLE001 - audio trouble never breaks the panel
                pass

    def _melody_player(self):
        if self._player is None:
            try:
                from studio.core.audio.playback import MelodyPlayer
                self._player = MelodyPlayer()
            except Exception as exc:  # noqa: BLE001 - no PortAudio, no device, or not installed yet
                log.info("latent grid: melody playback unavailable (%s)", exc)
                self._player = False
        return self._player or None

    def play_melody(self, events: np.ndarray) -> bool:
        """Play phrases one after another; the preview's playhead follows. Quietly silent without audio."""
        flat = np.asarray(events).reshape(-1)
        self.play_info = (len(flat), threading.get_ident())
        self._started_at = time.perf_counter()
        self._playhead_timer.start()
        player = self._melody_player()
        if player is None or not getattr(player, "available", False):
            return False
        try:
            from studio.core.audio.synth import render
            audio = render(flat.tolist(), bpm=120, sample_rate=player.sample_rate, min_pitch=self.model.min_pitch)
            return bool(player.play(audio, STEP_SECONDS))
        except Exception as exc:  # noqa: BLE001
            log.info("latent grid: could not play the melody (%s)", exc)
            return False

    def _tick_playhead(self) -> None:
        if not self.play_info:
            self._playhead_timer.stop()
            return
        steps = self.play_info[0]
        player = self._player or None
        if player is not None and getattr(player, "is_playing", False) and callable(getattr(player, "position_steps", None)):
            pos = player.position_steps()
        else:
            pos = (time.perf_counter() - self._started_at) / STEP_SECONDS
        if pos >= steps:
            self._playhead_timer.stop()
            self.preview.set_playhead(None)
            return
        self.preview.set_playhead(pos / steps)

    def close(self) -> None:
        self.stop()
        if self._player:
            try:
                self._player.close()
            except Exception:  # noqa: BLE001
                pass
