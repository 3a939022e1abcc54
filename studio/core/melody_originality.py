"""Does a melody model copy its training tunes? Copied 8-note figures and the nearest training phrase.

A *figure* is a window of 8 consecutive notes, keyed by its 7 intervals and 8 durations: the same
tune in another key is the same figure, a new tune that shares a scale run is not (real folk
tunes share about 0.4 % of their figures with each other, see docs/performance.md).

* ``copy_rate``: the share of the generated figures found verbatim in the training phrases
  (issue 25's measure; benchmarks/melody_quality.py reports the same number);
* the nearest training phrase of each generated melody: the one it shares most figures with;
* ``training_copy_rate``: how much the training phrases share among themselves (distinct
  phrases, so transposed copies of one phrase do not count): a collection of variations of one
  tune shares a lot, and the warning threshold rises with it.

``studio.core.originality`` (images and melodies) answers a different question, whether a whole
sample sits closer to one training item than the training items sit to each other; this module
counts copied note figures, which catches a melody stitched together from training bars.
Plain Python + the event encoding; no Qt, no torch needed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from studio.core.audio.events import MIN_PITCH, Note, events_to_notes

WINDOW_NOTES = 8
#: copy rate above which the studio warns (issue 25's target for a 200-tune collection) ...
WARN_COPY_RATE = 0.05
#: ... or above this multiple of what the training phrases share among themselves, whichever is higher
WARN_OVER_TRAINING = 3.0


def note_figures(notes: Sequence[Note], k: int = WINDOW_NOTES) -> list[tuple]:
    """Every window of ``k`` notes as (interval, duration) pairs plus the last duration (key-independent)."""
    ns = list(notes)
    return [tuple((b.pitch - a.pitch, a.duration) for a, b in zip(ns[i:i + k], ns[i + 1:i + k]))
            + (ns[i + k - 1].duration,) for i in range(len(ns) - k + 1)]


@dataclass
class NearestPhrase:
    index: int        # position among the training phrases
    name: str         # "training phrase #n" or the file it came from
    shared: int       # figures of the sample found in that phrase
    figures: int      # figures in the sample

    def describe(self) -> str:
        return f"closest training phrase: {self.name}, {self.shared} of {self.figures} figures the same"


@dataclass
class MelodyCopyReport:
    copy_rate: float            # share of generated 8-note figures found in the training phrases
    training_copy_rate: float   # share of training figures found in another (distinct) training phrase
    samples: int
    figures: int
    nearest: list[NearestPhrase | None] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("nearest")
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}

    @property
    def threshold(self) -> float:
        return max(WARN_COPY_RATE, WARN_OVER_TRAINING * self.training_copy_rate)

    def warning(self) -> str | None:
        """A sentence for the Melody panel when the model copies, else None."""
        if not self.figures or self.copy_rate <= self.threshold:
            return None
        worst = max((m for m in self.nearest if m), key=lambda m: m.shared / max(m.figures, 1), default=None)
        where = f" ({worst.describe()})" if worst else ""
        return (f"{self.copy_rate:.0%} of the generated 8-note figures are copied from the training tunes{where}: "
                f"the model starts to copy. Stop earlier, add tunes, or raise dropout and transposition.")


class MelodyCopyIndex:
    """The figures of the training phrases, built once; ``report(samples)`` for generated melodies."""

    def __init__(self, phrases: Sequence[Sequence[int]], min_pitch: int = MIN_PITCH,
                 names: Sequence[str] | None = None):
        self.min_pitch = min_pitch
        self.count = len(phrases)
        self.names = list(names) if names is not None and len(names) == self.count else \
            [f"training phrase #{i + 1}" for i in range(self.count)]
        self.owners: dict[tuple, list[int]] = {}
        seen: dict[frozenset, int] = {}
        distinct: list[set] = []
        for i, ph in enumerate(phrases):
            figs = set(note_figures(events_to_notes([int(e) for e in ph], min_pitch)))
            for f in figs:
                self.owners.setdefault(f, []).append(i)
            key = frozenset(figs)
            if figs and key not in seen:  # transposed copies of one phrase have the same figures
                seen[key] = i
                distinct.append(figs)
        in_phrases = Counter(f for figs in distinct for f in figs)
        total = sum(len(figs) for figs in distinct)
        self.training_copy_rate = sum(c for c in in_phrases.values() if c > 1) / total if total else 0.0

    @classmethod
    def for_dataset(cls, data: Any) -> "MelodyCopyIndex":
        """The index of a loaded melody dataset's training split (the trainer, the Melody panel, eval)."""
        import torch
        train = torch.cat(list(data.iter_batches("train", 256))) if data.size("train") else torch.zeros(0, 1)
        return cls(train.tolist(), data.spec.min_pitch)

    def nearest(self, events: Sequence[int]) -> NearestPhrase | None:
        figs = note_figures(events_to_notes([int(e) for e in events], self.min_pitch))
        votes = Counter(i for f in set(figs) for i in set(self.owners.get(f, ())))
        if not figs or not votes:
            return None
        idx, shared = votes.most_common(1)[0]
        return NearestPhrase(idx, self.names[idx], shared, len(set(figs)))

    def report(self, samples: Sequence[Sequence[int]]) -> MelodyCopyReport:
        figs = [f for s in samples for f in note_figures(events_to_notes([int(e) for e in s], self.min_pitch))]
        copied = sum(f in self.owners for f in figs)
        return MelodyCopyReport(copy_rate=copied / len(figs) if figs else 0.0,
                                training_copy_rate=self.training_copy_rate, samples=len(samples),
                                figures=len(figs), nearest=[self.nearest(s) for s in samples])


def melody_copy_report(model: Any, data: Any, n: int = 32, seed: int = 0, length: int | None = None) -> MelodyCopyReport:
    """Sample ``n`` melodies from a model and count the figures copied from the dataset's training split.

    The Melody panel's check: ``report.warning()`` is the sentence to show (None: no warning).
    """
    import torch
    index = MelodyCopyIndex.for_dataset(data)
    kwargs = {"length": length} if length else {}
    with torch.no_grad():
        samples = model.sample(n, seed=seed, **kwargs)
    return index.report(samples.tolist())
