"""Demo sources: shapes drawn at run time, Essen folk songs from music21's corpus, Shakespeare's plays."""
from __future__ import annotations

import numpy as np

from studio.core.datasets import import_demo, load_dataset
from studio.core.datasets.demo import essen_files, generate_shapes


def test_shapes_are_varied_and_deterministic(tmp_path):
    a = generate_shapes(tmp_path / "a", 16, size=32)
    b = generate_shapes(tmp_path / "b", 16, size=32)
    files = sorted(p.relative_to(a) for p in a.rglob("*.png"))
    assert len(files) == 16 and {f.parts[0] for f in files} == {"circle", "square", "triangle", "star"}
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_demo_images_dataset(tmp_path):
    res = import_demo("image", tmp_path / "ds", n=32, size=32)
    data = load_dataset(tmp_path / "ds")
    imgs = data.tensors["images"].numpy()
    assert res.ok and imgs.shape == (32, 3, 32, 32)
    assert imgs.reshape(32, -1).std(axis=1).min() > 10  # every picture has a visible shape on it
    assert res.manifest["license_note"].startswith("Procedurally generated")
    assert import_demo("image", tmp_path / "ds", n=32, size=32).cached


def test_demo_melodies_from_essen(tmp_path):
    assert len(essen_files()) > 10
    res = import_demo("melody", tmp_path / "ds", n=12)
    data = load_dataset(tmp_path / "ds")
    ev = data.tensors["events"].numpy()
    assert res.ok and res.stats["melodies"] >= 6 and ev.shape[1] == 32
    assert (ev >= 2).sum(axis=1).min() >= 3 and "Essen" in res.manifest["license_note"]
    assert all("essenFolksong" in p for p in res.accepted)


def test_demo_text_is_the_shipped_shakespeare(tmp_path):
    res = import_demo("text", tmp_path / "ds")
    data = load_dataset(tmp_path / "ds")
    text = "".join(data.spec.vocab[i] for i in data.tensors["tokens"][:2000].tolist())
    assert res.ok and res.stats["characters"] > 1_000_000 and "First Citizen" in text
    assert "public domain" in res.manifest["license_note"]
    assert np.unique(data.tensors["tokens"].numpy()).size == len(data.spec.vocab)
