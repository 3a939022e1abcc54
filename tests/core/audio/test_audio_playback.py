"""Playback through a real PortAudio stream on the ALSA null device, and the no-sound paths."""
from __future__ import annotations

import logging

import numpy as np

from studio.core.audio import playback
from studio.core.audio.events import Note, notes_to_events
from studio.core.audio.synth import render, step_seconds

EVENTS = notes_to_events([Note(60, 0, 4), Note(64, 4, 4), Note(67, 8, 8)], 16)


def test_plays_through_a_real_stream_on_the_null_device():
    player = playback.MelodyPlayer()
    assert player.available, player.reason
    assert player.devices(), "PortAudio lists no output device"
    finished = []
    player.on_finished = lambda: finished.append(True)
    audio = render(EVENTS, bpm=240)
    assert player.play(audio, step_seconds(240))
    assert player.wait(20), "playback did not finish"
    assert finished == [True]
    assert player.position_steps() >= 15.9  # the whole melody went to the card
    assert not player.is_playing


def test_loop_keeps_playing_until_stopped():
    player = playback.MelodyPlayer()
    audio = render(EVENTS, bpm=480)
    assert player.play(audio, step_seconds(480), loop=True, loop_steps=16)
    assert not player.wait(0.5)  # a loop does not end by itself
    assert player.is_playing
    player.stop()
    assert not player.is_playing
    assert player.wait(1)


def test_missing_portaudio_is_reported_once_and_nothing_raises(monkeypatch, caplog):
    def no_portaudio():
        raise OSError("PortAudio library not found")
    monkeypatch.setattr(playback, "load_sounddevice", no_portaudio)
    monkeypatch.setattr(playback, "_reported", set())
    with caplog.at_level(logging.WARNING, logger="studio.core.audio.playback"):
        a, b = playback.MelodyPlayer(), playback.MelodyPlayer()
    assert not a.available and "PortAudio" in a.reason
    assert sum("PortAudio" in r.getMessage() for r in caplog.records) == 1
    assert a.play(np.zeros(100, np.float32), 0.1) is False
    a.stop()
    assert a.devices() == [] and a.position_steps() == 0.0 and not b.is_playing


def test_no_output_device_is_reported(monkeypatch):
    monkeypatch.setattr(playback, "list_output_devices", lambda: ([], "no sound output device found"))
    player = playback.MelodyPlayer()
    assert not player.available and "no sound output" in player.reason
    assert player.play(render(EVENTS), 0.1) is False


def test_a_device_that_fails_to_open_turns_playback_off():
    player = playback.MelodyPlayer(device=9999)
    assert player.play(render(EVENTS), 0.1) is False
    assert "could not open" in player.reason and not player.available
