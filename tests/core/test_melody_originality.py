"""Copied 8-note figures: a model that replays training phrases is caught (in any key), a new melody is not,
and the warning threshold rises with how much the training phrases share among themselves."""
from __future__ import annotations

import torch

from studio.core.audio.events import HOLD, Note, notes_to_events
from studio.core.melody_originality import MelodyCopyIndex, melody_copy_report, note_figures

LOW = 36


def phrase(pitches, durs, length=64):
    notes, t = [], 0
    for p, d in zip(pitches, durs):
        notes.append(Note(p, t, d))
        t += d
    return notes_to_events(notes, length, LOW, 96)


def tunes(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        steps = torch.randint(-4, 5, (16,), generator=g).tolist()
        durs = [int(d) for d in torch.tensor([2, 4, 4, 2, 6, 2])[torch.randint(0, 6, (16,), generator=g)]]
        pitches = [60]
        for s in steps[1:]:
            pitches.append(max(48, min(84, pitches[-1] + s)))
        out.append(phrase(pitches, durs))
    return out


def test_figures_ignore_the_key_but_not_the_rhythm():
    a = [Note(60 + k, 4 * k, 4) for k in range(9)]
    up = [Note(n.pitch + 5, n.start, n.duration) for n in a]
    other = [Note(n.pitch, n.start, 2 if k == 3 else 4) for k, n in enumerate(a)]
    assert len(note_figures(a)) == 2 and note_figures(a) == note_figures(up)
    assert not set(note_figures(a)) & set(note_figures(other))


def test_replayed_and_transposed_phrases_are_copies_new_ones_are_not():
    train, held = tunes(12, seed=0), tunes(6, seed=1)
    index = MelodyCopyIndex(train, LOW, names=[f"tune{i}.mid" for i in range(12)])
    shifted = [[e + 3 if e > HOLD else e for e in train[4]], train[7]]  # training phrases, one up a minor third
    copied = index.report(shifted)
    assert copied.copy_rate == 1.0 and copied.samples == 2
    assert copied.nearest[0].name == "tune4.mid" and copied.nearest[0].shared == copied.nearest[0].figures
    assert "copied from the training tunes" in copied.warning() and "tune" in copied.warning()
    fresh = index.report(held)
    assert fresh.copy_rate < 0.05 and fresh.warning() is None
    assert fresh.summary()["figures"] == fresh.figures > 0


def test_the_threshold_rises_when_the_training_phrases_share_figures():
    base = tunes(8, seed=2)
    variations = base + [b[:32] + tunes(1, seed=10 + i)[0][32:] for i, b in enumerate(base)]  # same first halves
    shared = MelodyCopyIndex(variations, LOW)
    plain = MelodyCopyIndex(base + [[e + 2 if e > HOLD else e for e in b] for b in base], LOW)  # transposed copies
    assert shared.training_copy_rate > 0.2
    assert plain.training_copy_rate == 0.0  # transposed copies of one phrase are not "shared"
    report = shared.report(base[:2])
    assert report.threshold > 0.05


def test_report_for_a_model_and_dataset():
    from studio.core.datasets.training_data import TrainingData
    from studio.core.plugins.api import DataSpec
    spec = DataSpec("melody", phrase_length=64, min_pitch=LOW, max_pitch=96)
    ev = torch.tensor(tunes(10))
    data = TrainingData.from_tensors(spec, events=ev, val_mask=torch.zeros(len(ev), dtype=torch.bool))

    class Parrot:  # "generates" the training phrases
        def sample(self, n, seed=0, **_):
            return ev[:n]
    report = melody_copy_report(Parrot(), data, n=4)
    assert report.copy_rate == 1.0 and report.samples == 4 and report.warning()
