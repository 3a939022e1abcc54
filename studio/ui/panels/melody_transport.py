"""The Melody panel's transport: render the roll with the chosen instrument, play it (once or looped)
with a ~30 Hz playhead, stop, and audition single notes clicked on the keyboard column.

Owns the ``MelodyPlayer`` (sounddevice) and the playhead timer; reads the panel's controls (tempo,
instrument, voice, volume, loop) and its roll. Without a sound output only Play is off, with the reason.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.audio.events import Note
from studio.core.audio.playback import MelodyPlayer
from studio.core.audio.render import Rendering, render_melody, render_melody_notes
from studio.core.audio.synth import step_seconds

SAMPLE_RATE = 44100


class Transport(QObject):
    finished = Signal()   # re-emitted on the UI thread from the audio thread

    def __init__(self, panel):
        super().__init__(panel)
        self.panel = panel
        self.player = MelodyPlayer(SAMPLE_RATE)
        self.player.on_finished = self.finished.emit
        self.timer = QTimer(self)
        self.timer.setInterval(33)  # ~30 Hz playhead
        self.timer.timeout.connect(self._tick)
        self.finished.connect(self._on_finished)

    @property
    def busy(self) -> bool:
        """Playing, or the playhead not yet told the end (Stop stays usable until its next tick)."""
        return self.player.is_playing or self.timer.isActive()

    def _voice(self) -> dict:
        p = self.panel
        return {"bpm": p.tempo.value(), "program": p.instrument.program(), "voice": p.voice.currentText(),
                "volume": p.volume.value() / 100, "sample_rate": SAMPLE_RATE}

    def render(self, events=None) -> Rendering:
        """The roll's melody (or ``events``) as the instrument plays it."""
        p = self.panel
        sound = render_melody(p.events() if events is None else events, min_pitch=p.pitch_range[0], **self._voice())
        self._show_synth(sound.synth)
        return sound

    def _show_synth(self, synth: dict) -> None:
        # the voice choice only matters when the SoundFont could not be loaded (the numpy fallback plays)
        self.panel.voice.setVisible(synth.get("engine") == "numpy")
        self.panel.instrument.describe_synth(synth)

    def show_state(self) -> None:
        """Say once why there is no sound (and only Play is off)."""
        p, reason = self.panel, self.player.reason
        p.audio_label.setVisible(bool(reason))
        p.audio_label.setText(f"No sound: {reason}" if reason else "")
        p.play_btn.setToolTip(reason or "Play the melody in the piano roll")

    def play(self) -> bool:
        p = self.panel
        if not self.player.available or not p.roll.notes:
            return False
        ok = self.player.play(self.render().audio, step_seconds(p.tempo.value()), loop=p.loop.isChecked(),
                              loop_steps=p.roll.n_steps)
        if ok:
            self.timer.start()
        self.show_state()
        return ok

    def stop(self) -> None:
        self.player.stop()
        self.timer.stop()
        self.panel.roll.set_playhead(None)

    def audition(self, pitch: int) -> None:
        if self.player.available and not self.player.is_playing:
            sound = render_melody_notes([Note(pitch, 0, 3)], 3, **self._voice())
            self._show_synth(sound.synth)
            self.player.play(sound.audio, step_seconds(self.panel.tempo.value()))

    def _tick(self) -> None:
        if not self.player.is_playing:
            return self._on_finished()
        pos = self.player.position_steps()
        if self.panel.loop.isChecked():
            pos %= max(1, self.panel.roll.n_steps)
        self.panel.roll.set_playhead(pos)

    def _on_finished(self) -> None:
        if not self.player.is_playing:
            self.timer.stop()
            self.panel.roll.set_playhead(None)
            self.panel._sync()

    def close(self) -> None:
        self.player.close()
        self.timer.stop()
