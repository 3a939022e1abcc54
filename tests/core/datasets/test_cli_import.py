"""`studio import`: exit codes 0 / 2, --json document, human report, demo sources."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from studio.cli import main
from studio.core.datasets import load_dataset
from tests.core.datasets.corpus import png_bytes, write_text_corpus


def test_images_json_and_exit_zero(tmp_path, capsys):
    src = tmp_path / "pics"
    (src / "cats").mkdir(parents=True)
    (src / "dogs").mkdir()
    for i in range(3):
        (src / "cats" / f"{i}.png").write_bytes(png_bytes(colour=(i, 0, 0)))
        (src / "dogs" / f"{i}.png").write_bytes(png_bytes(colour=(0, i, 0)))
    (src / "dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    rc = main(["import", "images", str(src), "--out", str(tmp_path / "ds"), "--size", "32", "--channels", "1",
               "--labels", "--hflip", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["accepted"] == 6
    assert doc["skipped"] == [{"path": str(src / "dogs" / "broken.png"), "reason": "damaged PNG image (header cannot be read)"}]
    assert doc["stats"]["per_class"] == {"cats": 3, "dogs": 3}
    data = load_dataset(tmp_path / "ds")
    assert data.spec.channels == 1 and data.spec.image_size == 32 and data.spec.num_classes == 2 and data.hflip


def test_nothing_usable_exits_two_with_reasons(tmp_path, capsys):
    src = tmp_path / "texts"
    write_text_corpus(src)
    rc = main(["import", "music", str(src), "--out", str(tmp_path / "ds")])
    out, err = capsys.readouterr()
    assert rc == 2 and "0 music files accepted" in out and "not a music file (.txt)" in out
    assert "nothing usable" in err and not (tmp_path / "ds").exists()


def test_text_human_report_lists_notes_and_skips(tmp_path, capsys):
    src = tmp_path / "texts"
    write_text_corpus(src)
    rc = main(["import", "text", str(src), "--out", str(tmp_path / "ds")])
    out = capsys.readouterr().out
    assert rc == 0 and "6 text files accepted" in out
    assert "one_line.txt: one line of 5,242,880 characters" in out and "Windows-1252" in out


def test_bad_target_and_missing_sources_are_user_errors(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep me")
    assert main(["import", "images", str(tmp_path), "--out", str(tmp_path / "taken")]) == 2
    assert "not a studio dataset" in capsys.readouterr().err
    assert main(["import", "images", "--out", str(tmp_path / "x")]) == 2
    assert main(["import", "demo-text", "somefile", "--out", str(tmp_path / "x")]) == 2
    assert (tmp_path / "taken" / "mine.txt").read_text() == "keep me"


def test_demo_text_and_images_in_a_subprocess(tmp_path):
    env = dict(os.environ, STUDIO_DATA_DIR=str(tmp_path / "data"))
    for kind, extra in (("demo-text", []), ("demo-images", ["--n", "24", "--size", "32"])):
        res = subprocess.run([sys.executable, "-m", "studio", "import", kind, "--out", str(tmp_path / kind), "--json",
                              *extra], capture_output=True, text=True, env=env, timeout=240)
        assert res.returncode == 0, res.stderr
        doc = json.loads(res.stdout)
        assert doc["accepted"] >= 1 and doc["skipped"] == []
    assert load_dataset(tmp_path / "demo-text").spec.vocab_size > 50
    imgs = load_dataset(tmp_path / "demo-images")
    assert imgs.spec.num_classes == 4 and imgs.tensors["images"].shape == (24, 3, 32, 32)


def test_a_tiny_dataset_is_imported_with_a_note_that_it_is_too_small(tmp_path, capsys):
    src = tmp_path / "two"
    src.mkdir()
    for i in range(2):
        (src / f"{i}.png").write_bytes(png_bytes(colour=(i, 0, 0)))
    rc = main(["import", "images", str(src), "--out", str(tmp_path / "ds"), "--size", "32"])
    out = capsys.readouterr().out
    assert rc == 0 and (tmp_path / "ds" / "manifest.json").exists()   # advice, not a refusal
    assert "2 images: too few to train a VAE (100+ recommended), a GAN (200+), a diffusion model (500+)" in out
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("seventeen bytes!\n")
    rc = main(["import", "text", str(tiny), "--out", str(tmp_path / "words"), "--json"])
    notes = [w["message"] for w in json.loads(capsys.readouterr().out)["warnings"]]
    assert rc == 0 and any("17 characters: too few to train a text model (50,000+ recommended)" in n for n in notes)


def test_a_big_enough_dataset_gets_no_size_note():
    from studio.core.datasets.size_advice import small_dataset_note

    assert small_dataset_note("image", {"count": 150}).startswith("150 images: too few to train a GAN (200+ ")
    assert small_dataset_note("image", {"count": 600}) == ""
    assert small_dataset_note("melody", {"melodies": 8514}) == ""
