"""Atomic writes, cache hits by content, cancel leaves nothing half-written, progress reported."""
from __future__ import annotations

import threading

import pytest

from studio.core.datasets.images import import_images
from studio.core.datasets.report import ImportCancelled
from studio.core.datasets.writer import TargetFolderError
from tests.core.datasets.corpus import png_bytes


def _folder(tmp_path, n=6):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    for i in range(n):
        (src / f"{i}.png").write_bytes(png_bytes(colour=(i * 30, 0, 0)))
    return src


def _leftovers(parent):
    return [p.name for p in parent.iterdir() if ".importing-" in p.name or ".replaced-" in p.name]


def test_reimport_is_a_cache_hit_until_content_or_settings_change(tmp_path):
    src = _folder(tmp_path)
    out = tmp_path / "ds"
    first = import_images([src], out, executor="inline")
    assert first.ok and not first.cached
    stamp = (out / "data.safetensors").stat().st_mtime_ns
    again = import_images([src], out, executor="inline")
    assert again.cached and again.accepted_count == 6
    assert (out / "data.safetensors").stat().st_mtime_ns == stamp
    (src / "0.png").touch()  # a touched file is still the same content
    assert import_images([src], out, executor="inline").cached
    (src / "0.png").write_bytes(png_bytes(colour=(1, 2, 3)))
    changed = import_images([src], out, executor="inline")
    assert not changed.cached and changed.manifest["fingerprint"] != first.manifest["fingerprint"]
    assert not import_images([src], out, size=32, executor="inline").cached
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("executor", ["inline", "thread"])
def test_fresh_import_reads_each_file_once_and_fingerprints_as_a_rehash_would(tmp_path, monkeypatch, executor):
    """The decoder's digests stand in for a separate hashing pass; the fingerprint must not change."""
    import zipfile

    from studio.core.datasets import fingerprint as fp_mod
    from studio.core.datasets.report import ImportReport
    from studio.core.datasets.sources import collect

    src = _folder(tmp_path, 5)
    (src / "broken.png").write_bytes(png_bytes()[:40])          # decoded and skipped: still fingerprinted
    (src / "notes.txt").write_text("not an image")               # skipped by name, before decoding
    with zipfile.ZipFile(src / "more.zip", "w") as zf:
        zf.writestr("z/a.png", png_bytes(colour=(9, 9, 9)))
    hashed = []
    real = fp_mod.file_digest
    monkeypatch.setattr(fp_mod, "file_digest", lambda f: hashed.append(f.path) or real(f))
    result = import_images([src], tmp_path / "ds", executor=executor, workers=2)
    assert result.ok and result.accepted_count == 6
    # only the file the decoder never read (skipped by its name) was opened a second time
    assert [p.rsplit("/", 1)[-1] for p in hashed] == ["notes.txt"]
    report = ImportReport("image")
    files = collect([src], report)
    settings = result.manifest["settings"]
    assert result.manifest["fingerprint"] == fp_mod.fingerprint("image", files, settings, report.skipped)
    # ...so importing again into the same folder is a cache hit
    assert import_images([src], tmp_path / "ds", executor=executor, workers=2).cached


def test_cancel_leaves_old_dataset_and_no_temp_folder(tmp_path):
    src = _folder(tmp_path, 40)
    out = tmp_path / "ds"
    import_images([src], out, size=16, executor="inline")
    before = (out / "manifest.json").read_text()
    cancel = threading.Event()
    seen = []

    def progress(done, total, message):
        seen.append((done, total, message))
        if message == "decoding images" and done >= 32:
            cancel.set()
    with pytest.raises(ImportCancelled):
        import_images([src], out, size=32, executor="inline", progress=progress, cancel=cancel)
    assert (out / "manifest.json").read_text() == before
    assert _leftovers(tmp_path) == []
    assert any(m == "decoding images" for _, _, m in seen)


def test_cancel_before_anything_writes_nothing(tmp_path):
    src = _folder(tmp_path)
    with pytest.raises(ImportCancelled):
        import_images([src], tmp_path / "new", cancel=lambda: True)
    assert not (tmp_path / "new").exists() and _leftovers(tmp_path) == []


def test_refuses_to_overwrite_a_folder_that_is_not_a_dataset(tmp_path):
    src = _folder(tmp_path)
    with pytest.raises(TargetFolderError, match="not a studio dataset"):
        import_images([src], src)
    assert sorted(p.name for p in src.iterdir()) == [f"{i}.png" for i in range(6)]


def test_nothing_usable_writes_no_dataset(tmp_path):
    src = tmp_path / "junk"
    src.mkdir()
    (src / "a.png").write_bytes(b"garbage")
    res = import_images([src, tmp_path / "missing"], tmp_path / "ds")
    assert not res.ok and res.folder is None and not (tmp_path / "ds").exists()
    reasons = sorted(s["reason"] for s in res.skipped)
    assert reasons == ["does not exist", "not an image file (unrecognised content)"]


def test_fingerprint_of_many_files_is_the_same_with_or_without_known_digests(tmp_path):
    """More files than one hashing batch (512), some digests known from the decoder, some not."""
    from studio.core.datasets import fingerprint as fp_mod
    from studio.core.datasets.report import ImportReport
    from studio.core.datasets.sources import collect

    src = tmp_path / "many"
    src.mkdir()
    for i in range(1100):
        (src / f"{i:04d}.bin").write_bytes(i.to_bytes(4, "little") * 8)
    files = collect([src], ImportReport("image"))
    assert len(files) == 1100
    every = {f.path: fp_mod.digest_bytes(open(f.path, "rb").read()) for f in files}
    some = {p: d for k, (p, d) in enumerate(every.items()) if k % 3}
    plain = fp_mod.fingerprint("image", files, {"size": 8}, [])
    assert fp_mod.fingerprint("image", files, {"size": 8}, [], known=every) == plain
    assert fp_mod.fingerprint("image", files, {"size": 8}, [], known=some) == plain
    (src / "0009.bin").write_bytes(b"changed")  # a digest not known (9 % 3 == 0): read and hashed here
    assert fp_mod.fingerprint("image", files, {"size": 8}, [], known=some) != plain
