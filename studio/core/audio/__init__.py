"""Melody events <-> MIDI, the built-in synth, and the playback device."""
