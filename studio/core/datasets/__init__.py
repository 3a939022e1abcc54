"""Importers (images, music, text), the validation report, and cached training tensors.

Importers are imported lazily (``from studio.core.datasets.images import import_images``)
so that loading a dataset for training does not pull in Pillow or music21.
"""
from __future__ import annotations

__all__ = ["DatasetError", "TrainingData", "load_dataset", "import_dataset", "import_demo"]
_LAZY = {"DatasetError", "TrainingData", "load_dataset"}


def __getattr__(name: str):
    # training_data imports torch; image-decoding worker processes import this package and must stay light.
    if name in _LAZY:
        from studio.core.datasets import training_data
        return getattr(training_data, name)
    raise AttributeError(f"module 'studio.core.datasets' has no attribute {name!r}")


def import_dataset(modality: str, sources, out_dir, **kwargs):
    """Import ``sources`` as 'image' | 'melody' | 'text' into ``out_dir`` (see each importer's options)."""
    modality = {"images": "image", "music": "melody", "melodies": "melody"}.get(modality, modality)
    if modality == "image":
        from studio.core.datasets.images import import_images
        return import_images(sources, out_dir, **kwargs)
    if modality == "melody":
        from studio.core.datasets.music import import_music
        return import_music(sources, out_dir, **kwargs)
    if modality == "text":
        from studio.core.datasets.text import import_text
        return import_text(sources, out_dir, **kwargs)
    raise ValueError(f"unknown modality {modality!r}; use image, melody or text")


def import_demo(modality: str, out_dir, **kwargs):
    """Import a built-in demo source (shapes, Essen folk songs, Shakespeare's plays); see ``demo.py``."""
    from studio.core.datasets.demo import import_demo as _demo
    return _demo(modality, out_dir, **kwargs)
