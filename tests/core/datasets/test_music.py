"""Melody importer: MIDI/ABC on a malformed corpus, phrases as events, per-file validation split."""
from __future__ import annotations

import os

import numpy as np

from studio.core.audio.events import HOLD, REST, Note, events_to_notes, pitch_to_event
from studio.core.datasets import load_dataset
from studio.core.datasets.music import import_music, phrases_from_notes, transpose_events
from tests.core.datasets.corpus import SCALE, melody_events, midi_raw, write_music_corpus


def test_corpus_every_file_accounted_with_reasons(tmp_path):
    src = tmp_path / "src"
    expect = write_music_corpus(src)
    res = import_music([src], tmp_path / "ds")
    acc = {os.path.relpath(p, src) for p in res.accepted}
    skipped = {os.path.relpath(s["path"], src): s["reason"] for s in res.skipped}
    assert acc | set(skipped) == set(expect)
    for rel, why in expect.items():
        if why is None:
            assert rel in acc, (rel, skipped.get(rel))
        else:
            assert rel in skipped and why.lower() in skipped[rel].lower(), (rel, skipped.get(rel))
    notes = {os.path.relpath(w["path"], src): w["message"] for w in res.warnings}
    assert "absurd tempo" in notes["good/absurd_tempo.mid"]
    assert "bars of silence skipped" in notes["good/silence.mid"]
    assert "Broken" in notes["good/tunes.abc"]  # the damaged second tune is named, the first one kept
    data = load_dataset(tmp_path / "ds")
    assert data.spec.modality == "melody" and data.spec.phrase_length == 32
    ev = data.tensors["events"]
    assert ev.shape[1] == 32 and int(ev.max()) < data.spec.vocab_size
    assert res.manifest["augment"]["hflip"] is False


def test_scale_becomes_expected_events(tmp_path):
    f = tmp_path / "scale.mid"
    f.write_bytes(midi_raw(melody_events(SCALE[:8])))
    res = import_music([f], tmp_path / "ds", phrase_bars=1)
    ev = load_dataset(tmp_path / "ds").tensors["events"].numpy()
    # 8 notes of a 16th each step 2 (48 ticks apart at 24 ticks per 16th): note, hold-free gaps
    first = ev[0].tolist()
    assert first[0] == pitch_to_event(60) and first[2] == pitch_to_event(62)
    assert [n.pitch for n in events_to_notes(first)] == SCALE[:8]
    assert res.stats["phrases"] == 1 and res.stats["pitch_range"] == [60, 72]


def test_top_line_and_track_choice(tmp_path):
    low = melody_events([48, 50, 52, 53, 55, 57, 59, 60])
    high = melody_events([72, 74, 76, 77, 79, 81, 83, 84])
    f = tmp_path / "two.mid"
    f.write_bytes(midi_raw([], tracks=[low, high]))
    import_music([f], tmp_path / "top", phrase_bars=1)
    import_music([f], tmp_path / "t0", phrase_bars=1, track=0)
    top = events_to_notes(load_dataset(tmp_path / "top").tensors["events"][0].tolist())
    t0 = events_to_notes(load_dataset(tmp_path / "t0").tensors["events"][0].tolist())
    assert [n.pitch for n in top][:3] == [72, 74, 76]
    assert [n.pitch for n in t0][:3] == [48, 50, 52]
    r = import_music([f], tmp_path / "t9", track=9)
    assert not r.ok and "track 9 does not exist" in r.skipped[0]["reason"]


def test_phrases_skip_long_silence_and_clip_held_notes():
    notes = [Note(60 + i, i * 2, 2) for i in range(8)] + [Note(70 + i, 10**9 + i * 2, 2) for i in range(8)]
    phrases, silence = phrases_from_notes(notes, 16)
    assert len(phrases) == 2 and silence > 10**8
    held = [Note(60, 0, 10**9), Note(62, 4, 2), Note(64, 8, 2)]
    phrases, _ = phrases_from_notes(held, 16)  # returns at once instead of walking 10**9 steps
    assert len(phrases) == 1 and phrases[0][0] == pitch_to_event(60) and phrases[0][1] == HOLD


def test_transposition_is_baked_for_training_only(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(6):
        (src / f"s{i}.mid").write_bytes(midi_raw(melody_events([p + i for p in SCALE])))
    plain = import_music([src], tmp_path / "plain")
    aug = import_music([src], tmp_path / "aug", transpose=True)
    n_train = plain.stats["phrases"] - plain.stats["validation"]
    assert aug.stats["transposed_copies"] == 6 * n_train
    assert aug.stats["validation"] == plain.stats["validation"]
    assert aug.manifest["augment"]["transpose"] == [-3, -2, -1, 1, 2, 3]
    row = np.array([REST, pitch_to_event(96), HOLD])
    assert transpose_events(row, 1, 63) is None


def test_abc_and_musicxml_through_music21(tmp_path):
    import music21

    s = music21.stream.Stream([music21.note.Note(p, quarterLength=0.5) for p in ("C4", "E4", "G4", "C5") * 4])
    xml = tmp_path / "tune.musicxml"
    s.write("musicxml", fp=str(xml))
    before = set(os.listdir(tmp_path))
    res = import_music([xml, tmp_path], tmp_path / "ds", phrase_bars=1)
    assert res.ok and str(xml) in res.accepted
    assert set(os.listdir(tmp_path)) - before == {"ds"}  # nothing written beside the sources
