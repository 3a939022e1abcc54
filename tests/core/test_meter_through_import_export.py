"""A jig stays in 6/8: the importer records the meter and cuts phrases on its bar lines, the MIDI export writes
the signature (and key) the dataset recorded, and the bar helpers tell the piano roll where bar lines go."""
from __future__ import annotations

import io

import mido
import pytest

from studio.core.audio.events import beat_steps, events_to_notes, parse_time_signature, steps_per_bar
from studio.core.audio.midi import events_to_midi, midi_key_name
from studio.core.datasets import load_dataset
from studio.core.datasets.music import import_music, phrases_from_notes
from studio.core.export.midi import save_midi
from tests.plugins.melody_fixtures import JIGS  # two 6/8 tunes in ABC


@pytest.mark.parametrize("text, bar, beat, sig", [("4/4", 16, 4, (4, 4)), ("6/8", 12, 6, (6, 8)),
                                                  ("3/4", 12, 4, (3, 4)), ("2/4", 8, 4, (2, 4)),
                                                  ("9/8", 18, 6, (9, 8)), ("C", 16, 4, (4, 4)),
                                                  (None, 16, 4, (4, 4)), ("1/32", 16, 4, (4, 4))])
def test_bar_and_beat_lengths(text, bar, beat, sig):
    assert (steps_per_bar(text), beat_steps(text), parse_time_signature(text)) == (bar, beat, sig)


def test_a_jig_collection_imports_in_six_eight_and_exports_in_six_eight(tmp_path):
    src = tmp_path / "jigs.abc"
    src.write_text(JIGS)
    res = import_music([src], tmp_path / "ds", phrase_bars=2)
    assert res.manifest["time_signature"] == "6/8"
    assert res.manifest["stats"]["time_signatures"] == {"6/8": 2}
    data = load_dataset(tmp_path / "ds")
    phrases = data.tensors["events"].tolist()
    assert len(phrases) >= 4  # 8 bars of 12 steps per tune: phrases start at steps 0, 24, 48, 72
    for row in phrases:  # every phrase starts on a bar line: the long notes fall on steps 0, 6, 12, 18 ...
        long_starts = [n.start for n in events_to_notes(row) if n.duration >= 4]
        assert long_starts and all(s % 6 == 0 for s in long_starts), long_starts
    out = save_midi(phrases[0], tmp_path / "jig.mid", None,
                    time_signature=res.manifest["time_signature"], key=res.manifest.get("key"))
    metas = {m.type: m for m in mido.MidiFile(out).tracks[0] if m.is_meta}
    assert (metas["time_signature"].numerator, metas["time_signature"].denominator) == (6, 8)
    assert metas["key_signature"].key in ("D", "G")
    assert src.read_text() == JIGS  # the source is never touched


def test_phrases_of_other_meters_start_on_their_bar_lines():
    from studio.core.audio.events import Note
    # 3/4: a note on every downbeat (every 12 steps) for 10 bars, 2-bar phrases of 32 steps
    notes = [Note(60 + (k % 5), 12 * k, 4) for k in range(10)] + [Note(67, 12 * k + 6, 2) for k in range(10)]
    phrases, _ = phrases_from_notes(notes, 32, bar_steps=12)
    for row in phrases:
        onsets = {n.start: n.duration for n in events_to_notes(row)}
        assert onsets.get(0) == 4 and onsets.get(12) == 4  # downbeats where a 3/4 bar starts
    four, _ = phrases_from_notes(notes, 32)  # the 4/4 default is unchanged: phrases every 32 steps
    assert len(four) == 4 and len(phrases) == 5


def test_export_defaults_and_key_names():
    mid = mido.MidiFile(file=io.BytesIO(_bytes(events_to_midi([2, 1, 1, 1] * 4))))
    metas = {m.type: m for m in mid.tracks[0] if m.is_meta}
    assert (metas["time_signature"].numerator, metas["time_signature"].denominator) == (4, 4)
    assert "key_signature" not in metas
    assert [midi_key_name(k) for k in ("D major", "e minor", "B- major", "F#m", "Dmix", None)] == \
        ["D", "Em", "Bb", "F#m", None, None]


def _bytes(mid: mido.MidiFile) -> bytes:
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()
