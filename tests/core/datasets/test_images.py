"""Image importer on a malformed-file corpus: every file accepted or skipped with a reason; output loads."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from studio.core.datasets.images import import_images
from tests.core.datasets.corpus import write_evil_zip, write_image_corpus


def _rel(result, root: Path) -> tuple[set[str], dict[str, str]]:
    acc = {os.path.relpath(p, root) for p in result.accepted}
    skipped = {os.path.relpath(s["path"], root): s["reason"] for s in result.skipped}
    return acc, skipped


def test_corpus_every_file_accounted_with_reasons(tmp_path):
    src = tmp_path / "src"
    expect = write_image_corpus(src)
    res = import_images([src], tmp_path / "ds", size=32, labels=True, executor="inline")
    acc, skipped = _rel(res, src)
    assert acc | set(skipped) == set(expect)
    for rel, why in expect.items():
        if why is None:
            assert rel in acc, (rel, skipped.get(rel))
        else:
            assert rel in skipped and why.lower() in skipped[rel].lower(), (rel, skipped.get(rel))
    assert "900 megapixels exceeds the 50-megapixel limit" in skipped["bad/bomb.png"]
    notes = {os.path.relpath(w["path"], src): w["message"] for w in res.warnings}
    assert "PNG" in notes["good/misnamed.jpg"] and "first frame" in notes["good/anim.gif"]
    manifest = json.loads((tmp_path / "ds/manifest.json").read_text())
    assert manifest["format"] == "studio-dataset/1" and manifest["modality"] == "image"
    assert manifest["spec"]["image_size"] == 32 and manifest["spec"]["channels"] == 3
    assert manifest["stats"]["per_class"] == {"good": len(acc)} and manifest["classes"] == ["good"]
    t = load_file(str(tmp_path / "ds/data.safetensors"))
    assert t["images"].shape == (len(acc), 3, 32, 32) and t["images"].dtype == np.uint8
    assert t["labels"].dtype == np.int64 and t["val_mask"].dtype == bool


def test_modes_are_converted_sensibly(tmp_path):
    src = tmp_path / "src"
    write_image_corpus(src)
    res = import_images([src / "good"], tmp_path / "ds", size=16, channels=1, fit="pad",
                        background=(255, 255, 255), executor="inline")
    t = load_file(str(tmp_path / "ds/data.safetensors"))
    order = [os.path.basename(p) for p in res.accepted]
    imgs = t["images"]
    assert imgs.shape[1] == 1
    # a fully transparent red square composited on white is white
    assert imgs[order.index("alpha.png")].min() == 255
    # 16-bit noise keeps its spread after scaling to 8 bits
    assert imgs[order.index("sixteen.png")].std() > 20


def test_zip_members_never_escape(tmp_path):
    z = tmp_path / "in" / "pics.zip"
    z.parent.mkdir()
    write_evil_zip(z)
    before = set(tmp_path.rglob("*"))
    res = import_images([z], tmp_path / "ds", executor="inline")
    assert res.accepted == [f"{z}!ok/inside.png"]
    reasons = {s["path"].split("!")[1]: s["reason"] for s in res.skipped}
    for name in ("../escape.png", "/abs/evil.png", "a/../../up.png"):
        assert "unsafe path" in reasons[name]
    assert "zip inside a zip" in reasons["nested.zip"]
    created = set(tmp_path.rglob("*")) - before
    assert all(str(p).startswith(str(tmp_path / "ds")) for p in created), created
    assert not (tmp_path / "escape.png").exists() and not Path("/abs/evil.png").exists()


def test_symlink_loops_broken_links_and_unreadable_files(tmp_path, monkeypatch):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.png").write_bytes(__import__("tests.core.datasets.corpus", fromlist=["x"]).png_bytes())
    (src / "sub" / "loop").symlink_to(src, target_is_directory=True)
    (src / "self.png").symlink_to(src / "self.png")
    (src / "dangling.png").symlink_to(src / "missing.png")
    locked = src / "locked.png"
    locked.write_bytes(b"whatever")
    locked.chmod(0)
    real_open = open

    def fake_open(path, *a, **k):  # root can read mode-000 files; simulate the permission error
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **k)
    monkeypatch.setattr("builtins.open", fake_open)
    res = import_images([src], tmp_path / "ds", executor="inline")
    reasons = {os.path.relpath(s["path"], src): s["reason"] for s in res.skipped}
    assert [os.path.relpath(p, src) for p in res.accepted] == ["sub/a.png"]
    assert "loop" in reasons["sub/loop"]
    assert "loop" in reasons["self.png"]
    assert "broken symbolic link" in reasons["dangling.png"]
    assert "permission denied" in reasons["locked.png"].lower()


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_parallel_decoders_match_inline(tmp_path, executor):
    src = tmp_path / "src"
    write_image_corpus(src)
    a = import_images([src], tmp_path / "a", size=24, executor="inline")
    b = import_images([src], tmp_path / "b", size=24, executor=executor, workers=2)
    assert a.accepted == b.accepted and a.skipped == b.skipped
    ta, tb = load_file(str(tmp_path / "a/data.safetensors")), load_file(str(tmp_path / "b/data.safetensors"))
    assert np.array_equal(ta["images"], tb["images"])
    assert b.stats["executor"] in (executor, "thread")


def test_explicit_file_with_unknown_extension_is_sniffed(tmp_path):
    from tests.core.datasets.corpus import png_bytes
    f = tmp_path / "picture.data"
    f.write_bytes(png_bytes())
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "also.data").write_bytes(png_bytes())
    (folder / "notes.data").write_bytes(b"plain words")
    res = import_images([f, folder], tmp_path / "ds", executor="inline")
    assert sorted(map(os.path.basename, res.accepted)) == ["also.data", "picture.data"]
    assert "not an image" in res.skipped[0]["reason"]
