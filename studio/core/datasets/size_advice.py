"""A note in the import report when a dataset is too small for the model families to learn from.

The thresholds are rules of thumb from training the built-in plugins on the demo data: below them
a model trains, but mostly memorises its few examples or never leaves noise. They are advice,
not limits: the import still succeeds.
"""
from __future__ import annotations

from typing import Any

#: modality -> (stats key, unit, {family: fewest items recommended}), families in the order shown
RECOMMENDED: dict[str, tuple[str, str, dict[str, int]]] = {
    "image": ("count", "images", {"VAE": 100, "GAN": 200, "diffusion model": 500}),
    "melody": ("melodies", "tunes", {"melody model": 50}),
    "text": ("characters", "characters", {"text model": 50_000}),
}


def small_dataset_note(modality: str, stats: dict[str, Any]) -> str:
    """"12 images: too few to train a VAE (100+ recommended), a GAN (200+) …", or "" when big enough."""
    key, unit, families = RECOMMENDED.get(modality, ("", "", {}))
    count = stats.get(key)
    if not isinstance(count, int) or count <= 0:
        return ""
    short = [(family, n) for family, n in families.items() if count < n]
    if not short:
        return ""
    first, rest = short[0], short[1:]
    parts = [f"a {first[0]} ({first[1]:,}+ recommended)"] + [f"a {f} ({n:,}+)" for f, n in rest]
    return (f"{count:,} {unit}: too few to train {', '.join(parts)}; a model will mostly memorise them. "
            f"Add more, or expect rough results.")
