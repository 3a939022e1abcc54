"""MIDI export/import: the round trip keeps pitches and onsets on the grid; other tools read our files."""
from __future__ import annotations

import mido
import pytest

from studio.core.audio.events import REST, Note, events_to_notes, notes_to_events
from studio.core.audio.midi import MidiError, events_to_midi, midi_bytes, read_midi, save_midi

NOTES = [Note(60, 0, 4), Note(62, 4, 2), Note(64, 6, 2), Note(67, 10, 6), Note(72, 16, 1), Note(71, 17, 3)]


def test_events_midi_events_round_trip_keeps_the_grid(tmp_path):
    events = notes_to_events(NOTES, 24)
    path = save_midi(events, tmp_path / "m.mid", bpm=96, track_name="Tune", text_meta={"temperature": 0.9})
    back = read_midi(path, length=len(events))
    assert back.events == events
    assert [(n.pitch, n.start, n.duration) for n in back.notes] == [(n.pitch, n.start, n.duration) for n in NOTES]
    assert back.bpm == pytest.approx(96, abs=0.01)
    assert back.track_name == "Tune"
    assert back.meta == {"temperature": 0.9}


def test_midi_file_carries_tempo_time_signature_and_text():
    mid = events_to_midi(notes_to_events(NOTES), bpm=140, program=24, track_name="Lead", text_meta={"seed": 3})
    types = [m.type for m in mid.tracks[0]]
    for t in ("track_name", "set_tempo", "time_signature", "text", "program_change", "note_on", "note_off"):
        assert t in types
    ts = next(m for m in mid.tracks[0] if m.type == "time_signature")
    assert (ts.numerator, ts.denominator) == (4, 4)


def test_music21_reads_our_midi_back(tmp_path):
    music21 = pytest.importorskip("music21")
    path = save_midi(notes_to_events(NOTES), tmp_path / "m.mid", bpm=120)
    score = music21.converter.parse(str(path))
    got = [(int(n.pitch.midi), float(n.offset) * 4) for n in score.flatten().notes]
    assert got == [(n.pitch, float(n.start)) for n in NOTES]


def test_import_quantises_off_grid_notes_and_takes_the_top_line():
    mid = mido.MidiFile(ticks_per_beat=96)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    # a chord (top line wins) slightly late, then a note off the grid
    tr += [mido.Message("note_on", note=60, velocity=80, time=3), mido.Message("note_on", note=67, velocity=80, time=0),
           mido.Message("note_off", note=60, time=93), mido.Message("note_off", note=67, time=0),
           mido.Message("note_on", note=65, velocity=80, time=22), mido.Message("note_off", note=65, time=50)]
    drums = mido.MidiTrack()
    drums += [mido.Message("note_on", note=36, velocity=100, channel=9, time=0),
              mido.Message("note_off", note=36, channel=9, time=10)]
    mid.tracks.append(drums)
    m = read_midi(midi_bytes(mid))
    assert [(n.pitch, n.start, n.duration) for n in m.notes] == [(67, 0, 4), (65, 5, 2)]
    assert events_to_notes(m.events) == m.notes
    assert m.events[4] == REST


def test_unreadable_midi_names_the_file(tmp_path):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"not midi at all")
    with pytest.raises(MidiError, match="broken.mid"):
        read_midi(bad)
    with pytest.raises(MidiError, match="no notes"):
        read_midi(events_to_midi([REST] * 8))


def test_primer_loader_refuses_a_file_with_too_many_notes(monkeypatch):
    """Loading a primer uses the importer's bounded scan: a hostile file is refused in words."""
    import mido
    import pytest

    from studio.core.audio import midi

    monkeypatch.setattr(midi, "MAX_NOTES", 50)
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    for i in range(60):
        track.append(mido.Message("note_on", note=60 + i % 12, velocity=80, time=0 if i == 0 else 60))
        track.append(mido.Message("note_off", note=60 + i % 12, velocity=0, time=60))
    mid.tracks.append(track)
    with pytest.raises(midi.MidiError, match="more than 50 notes"):
        midi.read_midi(mid)
