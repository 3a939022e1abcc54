"""Is the model copying my work? The nearest training items of generated images or melodies.

Images are compared on fixed features, not raw pixels: a 16x16 colour thumbnail (layout and
colour), per-channel colour histograms (palette), a gradient-magnitude histogram (edges,
sharpness) and the Laplacian energy per channel (fine detail). Each feature is standardised
over the training set and each of the four groups given a fixed share (``GROUP_WEIGHTS``), so
the thumbnail's 768 numbers do not drown the rest. Similarity is the cosine of two such vectors
(1 = the same picture as far as these features can tell).

Melodies are compared on windows of ``NGRAM`` note events: the similarity of a melody to a
training melody is the share of its windows that occur in the training melody (1 = every
bar of it is in there).

Two figures summarise a set of samples:
* ``nearest_training_similarity``: the median over samples of the similarity to the closest
  training item;
* ``copy_rate``: the share of samples that sit closer to a training item than any other
  training item does (closer than ``COPY_MARGIN`` x that item's distance to its own nearest
  neighbour). Held-out real pictures score near 0, a model that returns training items near 1.
Plain torch, no Qt: the CLI (`studio eval`), the window and the exporters share it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import torch
import torch.nn.functional as F

THUMB = 16
BINS = 16
GRAD_RANGE = 0.5  # gradient magnitudes above this share the top bin
NGRAM = 8  # note events per melody window (half a bar at 16th-note steps)
#: a sample is a copy when it is closer to a training item than COPY_MARGIN x that item's own
#: nearest-neighbour distance (0.5: half-way; new pictures from the same source rarely get that close)
COPY_MARGIN = 0.5
#: copy_rate above which the studio warns that the model starts to copy its training items
WARN_COPY_RATE = 0.2


# -- features ---------------------------------------------------------------------------
def _three_channels(images: torch.Tensor) -> torch.Tensor:
    x = images.detach().float().cpu()
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[1] != 3:
        raise ValueError(f"images must have 1 or 3 channels, these have {x.shape[1]}")
    return x.clamp(0.0, 1.0)


def _histograms(values: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """(N, K, P) values -> (N, K, BINS) normalised histograms over [lo, hi] (outliers in the end bins)."""
    idx = ((values - lo) / (hi - lo) * BINS).long().clamp_(0, BINS - 1)
    hist = torch.zeros(*values.shape[:2], BINS)
    hist.scatter_add_(2, idx, torch.ones_like(values))
    return hist / values.shape[2]


FEATURE_GROUPS = (("thumbnail", 3 * THUMB * THUMB), ("colour_histograms", 3 * BINS),
                  ("gradient_histogram", BINS), ("laplacian_energy", 3))
#: share of each group in the similarity: what is in the picture and its colours first; edge and
#: detail statistics count less (a copy that picked up a little noise is still a copy)
GROUP_WEIGHTS = {"thumbnail": 0.5, "colour_histograms": 0.25, "gradient_histogram": 0.15, "laplacian_energy": 0.1}


def image_features(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) images in [0, 1] (C = 1 or 3) -> (N, 835) fixed features, in the order of
    ``FEATURE_GROUPS``. The classifier two-sample test of benchmarks/colour_quality.py uses them too."""
    x = _three_channels(images)
    n = len(x)
    if x.shape[-1] >= THUMB:
        thumb = F.interpolate(x, size=THUMB, mode="area")
    else:
        thumb = F.interpolate(x, size=THUMB, mode="bilinear", align_corners=False)
    colour = _histograms(x.flatten(2), 0.0, 1.0)
    grey = x.mean(1, keepdim=True)
    gx = grey[..., :-1, 1:] - grey[..., :-1, :-1]
    gy = grey[..., 1:, :-1] - grey[..., :-1, :-1]
    grad = _histograms((gx.pow(2) + gy.pow(2)).sqrt().flatten(2), 0.0, GRAD_RANGE)
    lap_k = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3).repeat(3, 1, 1, 1)
    lap = F.conv2d(F.pad(x, [1, 1, 1, 1], mode="replicate"), lap_k, groups=3)
    energy = torch.log(lap.pow(2).flatten(2).mean(2) + 1e-6)
    return torch.cat([thumb.reshape(n, -1), colour.reshape(n, -1), grad.reshape(n, -1), energy], 1)


# -- results ------------------------------------------------------------------------------
@dataclass
class Match:
    """The closest training item of one sample."""
    index: int            # position in the training items
    name: str             # a file name where known, else "training item #index"
    similarity: float     # 1 = the same as far as the features can tell
    copy: bool = False    # closer than training items are to each other (see COPY_MARGIN)

    def describe(self, kind: str = "image") -> str:
        """"closest training image: cat.png, similarity 0.93" (what the window shows)."""
        text = f"closest training {kind}: {self.name}, similarity {self.similarity:.2f}"
        return text + " (a near copy)" if self.copy else text

    def recipe_entry(self) -> dict[str, Any]:
        """For an exported file's recipe: ``make_recipe(..., extra={"originality": match.recipe_entry()})``."""
        return {"closest_training_item": self.name, "similarity": round(self.similarity, 4),
                "near_copy": self.copy, "copy_margin": COPY_MARGIN}


@dataclass
class OriginalityReport:
    nearest_training_similarity: float  # median over samples
    copy_rate: float                    # share of samples that are near copies
    training_similarity: float          # median similarity of a training item to its nearest other one
    samples: int
    matches: list[Match] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The figures without the per-sample matches (what `studio eval` and recipes record)."""
        d = asdict(self)
        d.pop("matches")
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}

    def warning(self) -> str | None:
        """A sentence for the user when the model starts to copy, else None."""
        if self.samples and self.copy_rate > WARN_COPY_RATE:
            return (f"{self.copy_rate:.0%} of the samples are near copies of training items "
                    f"(median similarity {self.nearest_training_similarity:.2f}): the model starts to copy. "
                    "Stop earlier, add pictures, or raise the augmentation.")
        return None


# -- the index of training items ------------------------------------------------------------
class TrainingIndex:
    """Training items prepared once; ask it for the closest item of each new sample.

    ``TrainingIndex.for_images(train_images, names)`` then ``index.closest(image)`` is the
    one-sample call the window uses; ``index.report(samples)`` the summary `studio eval` prints.
    """

    def __init__(self, kind: str, items: Any, names: Sequence[str] | None = None):
        self.kind = kind
        self.count = len(items)
        if self.count < 2:
            raise ValueError(f"the originality check needs at least 2 training {kind}s, got {self.count}")
        self.names = list(names) if names is not None and len(names) == self.count else \
            [f"training {kind} #{i + 1}" for i in range(self.count)]
        if kind == "image":
            feats = image_features(items)
            self._mean = feats.mean(0)
            std = feats.std(0)
            # a feature that hardly varies over the training set (an empty histogram bin) must not
            # turn tiny differences into big ones: floor each std at a tenth of its group's mean
            start = 0
            for _name, size in FEATURE_GROUPS:
                part = std[start:start + size]
                std[start:start + size] = part.clamp(min=0.1 * float(part.mean()) + 1e-6)
                start += size
            self._std = std
            self._data = self._embed_features(feats)
        else:
            self._data = [_ngrams(m) for m in items]
        sim = self._similarities_to_training(self._data, same=True)
        sim.fill_diagonal_(-float("inf"))
        #: each training item's similarity to its nearest other training item
        self.neighbour_similarity = sim.max(1).values

    @classmethod
    def for_images(cls, images: torch.Tensor, names: Sequence[str] | None = None) -> "TrainingIndex":
        """``images``: (N, C, H, W) float in [0, 1] or uint8 0-255."""
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images
        return cls("image", x, names)

    @classmethod
    def for_melodies(cls, events: torch.Tensor | Sequence[Sequence[int]],
                     names: Sequence[str] | None = None) -> "TrainingIndex":
        """``events``: (N, L) note-event phrases."""
        return cls("melody", [list(map(int, m)) for m in events], names)

    # -- internals --
    def _embed_features(self, feats: torch.Tensor) -> torch.Tensor:
        z = (feats - self._mean) / self._std
        parts, start = [], 0
        for name, size in FEATURE_GROUPS:  # each group gets its share of the squared length
            parts.append(z[:, start:start + size] * (GROUP_WEIGHTS[name] / size) ** 0.5)
            start += size
        return F.normalize(torch.cat(parts, 1), dim=1)

    def _embed(self, samples: Any) -> Any:
        if self.kind == "image":
            x = samples.float() / 255.0 if samples.dtype == torch.uint8 else samples
            return self._embed_features(image_features(x))
        return [_ngrams(list(map(int, m))) for m in samples]

    def _similarities_to_training(self, embedded: Any, same: bool = False) -> torch.Tensor:
        """(samples, training) similarities."""
        if self.kind == "image":
            return embedded @ self._data.T
        out = torch.zeros(len(embedded), self.count)
        for i, a in enumerate(embedded):
            for j, b in enumerate(self._data):
                if not (same and i == j):
                    out[i, j] = len(a & b) / len(a) if a else 0.0
        return out

    # -- queries --
    def matches(self, samples: Any) -> list[Match]:
        sim = self._similarities_to_training(self._embed(samples))
        best, idx = sim.max(1)
        # distances are 1 - similarity; a copy sits closer than COPY_MARGIN x the item's neighbour distance
        limit = 1.0 - COPY_MARGIN * (1.0 - self.neighbour_similarity[idx])
        copy = best >= limit - 1e-4  # an exact copy of an item that has a twin in the data: float error
        if self.kind == "melody":  # a melody made only of training windows is a copy whatever its neighbours
            copy |= best >= 1.0
        return [Match(int(i), self.names[int(i)], round(float(s), 4), bool(c))
                for i, s, c in zip(idx, best, copy)]

    def closest(self, sample: Any) -> Match:
        """The closest training item of one image (C, H, W) or one melody (L,)."""
        if self.kind == "image":
            return self.matches(sample.unsqueeze(0) if sample.dim() == 3 else sample[:1])[0]
        return self.matches([sample])[0]

    def report(self, samples: Any) -> OriginalityReport:
        found = self.matches(samples)
        if not found:
            raise ValueError("the originality check got no samples")
        sims = torch.tensor([m.similarity for m in found])
        return OriginalityReport(
            nearest_training_similarity=float(sims.median()),
            copy_rate=sum(m.copy for m in found) / len(found),
            training_similarity=float(self.neighbour_similarity.median()),
            samples=len(found), matches=found)


def _ngrams(events: Sequence[int]) -> set[tuple[int, ...]]:
    events = list(events)
    if len(events) < NGRAM:
        return {tuple(events)} if events else set()
    return {tuple(events[i:i + NGRAM]) for i in range(len(events) - NGRAM + 1)}


# -- convenience -------------------------------------------------------------------------------
def training_names(data: Any, split: str = "train") -> list[str] | None:
    """File names of a dataset's training items where the import recorded one file per item, else None."""
    import os
    accepted = list(getattr(data, "manifest", {}).get("accepted", []))
    tensors = getattr(data, "tensors", {})
    key = "images" if "images" in tensors else "events"
    if key not in tensors or len(accepted) != len(tensors[key]):
        return None
    mask = tensors.get("val_mask")
    keep = range(len(accepted)) if mask is None or not bool(mask.any()) else \
        [i for i in range(len(accepted)) if not bool(mask[i])]
    return [os.path.basename(accepted[i]) for i in keep]


def index_for_dataset(data: Any, split: str = "train", max_items: int = 2000) -> TrainingIndex:
    """A ``TrainingIndex`` of a loaded dataset's training split (images or melodies)."""
    modality = data.spec.modality
    if modality not in ("image", "melody"):
        raise ValueError(f"the originality check covers images and melodies, not {modality}")
    items = torch.cat(list(data.iter_batches(split, 256)))[:max_items]
    names = training_names(data, split)
    names = names[:max_items] if names else None
    if modality == "image":
        return TrainingIndex.for_images(items, names)
    return TrainingIndex.for_melodies(items, names)


def check_model(model: Any, data: Any, n: int = 64, seed: int = 0) -> OriginalityReport:
    """Sample ``n`` items from a model and compare them with the dataset's training split."""
    index = index_for_dataset(data)
    with torch.no_grad():
        samples = model.sample(n, seed=seed)
    if index.kind == "image":
        samples = samples.detach().float().cpu()
    return index.report(samples)


def eval_figures(model: Any, data: Any, n: int = 64, seed: int = 0) -> dict[str, Any] | None:
    """What `studio eval` reports: the summary of ``check_model`` plus its warning (None for text,
    or a dataset with fewer than 2 training items: ``{"error": reason}``)."""
    if data.spec.modality not in ("image", "melody"):
        return None
    try:
        report = check_model(model, data, n=n, seed=seed)
    except ValueError as exc:
        return {"error": str(exc)}
    out = report.summary()
    warning = report.warning()
    if warning:
        out["warning"] = warning
    return out
