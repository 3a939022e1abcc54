"""Issue 21 (item 8): `studio generate --n N` streams - files appear batch by batch, a stop (Ctrl+C, SIGTERM)
leaves only complete files and says how many, a full disk is foreseen, and batching keeps the bytes."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from studio.cli import main
from studio.core.export import read_provenance
from tests.faults import scenario_memory as sm

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    text = sm.tiny_run(base / "text-run", "char-rnn", {"layers": 1, "width": 16, "embedding": 8},
                       {"modality": "text", "vocab": sorted(set("to be or not to be, that is the question\n"))})
    return {"pictures": sm.picture_run(base / "pic-run"), "melody": sm.melody_run(base / "mel-run"), "text": text}


def _complete_png(path: Path) -> bool:
    with Image.open(path) as im:
        im.load()  # a truncated file raises here
    return read_provenance(path)["disclosure"] == "AI-generated"


@pytest.mark.parametrize("signum,code,name", [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "Ctrl+C")])
def test_stop_mid_run_leaves_complete_files_and_says_how_many(runs, tmp_path, signum, code, name):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "studio", "generate", "--run", str(runs["pictures"]), "--out",
                             str(out), "--n", "2000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=sm.ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    seen = []
    deadline = time.monotonic() + 120
    while len(seen) < 70 and time.monotonic() < deadline:  # files are reported as they are written
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line.strip())
    assert len(seen) >= 70 and proc.poll() is None, "no files while generating: not streamed"
    proc.send_signal(signum)
    rest, err = proc.communicate(timeout=60)
    seen += rest.split()
    assert proc.returncode == code, err[-600:]
    assert "Traceback" not in err and "64/2,000 samples written" in err
    files = sorted(out.iterdir())
    assert f"stopped by {name} after {len(files):,} of 2,000 files" in err
    assert len(files) < 2000 and sorted(map(str, files)) == sorted(seen)  # every file said, no temp files
    assert all(f.suffix == ".png" and _complete_png(f) for f in files)


def test_batches_keep_names_recipes_and_bytes(runs, tmp_path, monkeypatch):
    """Batch k is drawn with seed + 64k: text files are the same bytes however they are batched, a picture
    batch restores to its own vectors, and the same command gives the same bytes (Content Credentials off)."""
    from studio.core.export.generate import GenerateRequest, Source, generate_batches
    from studio.core.session import open_run

    monkeypatch.setenv("STUDIO_CONTENT_CREDENTIALS", "off")

    def write(run, out, n, seed, batch, **kw):
        s = open_run(run)
        o = s.origin
        src = Source(o.run_id, o.run_dir, o.checkpoint_path or None, o.checkpoint_step, o.checkpoint_sha256)
        batches = list(generate_batches(s.model, s.plugin, GenerateRequest(out=out, n=n, seed=seed, **kw), src,
                                        draw_vectors=s.draw_vectors, sample=s.sample, batch_size=batch))
        assert [b.done for b in batches] == list(range(batch, n, batch)) + [n]
        return [p for b in batches for p in b.paths]

    def digests(paths):
        return [(p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths]

    one = write(runs["text"], tmp_path / "t1", 7, 3, 64, length=12)
    three = write(runs["text"], tmp_path / "t3", 7, 3, 3, length=12)
    assert digests(one) == digests(three)  # text sample i always uses seed + i

    a = write(runs["pictures"], tmp_path / "a", 7, 5, 3)
    b = write(runs["pictures"], tmp_path / "b", 7, 5, 3)
    assert digests(a) == digests(b) and [p.name for p in a] == [f"vae-pic-run-5-{i}.png" for i in range(7)]
    recipe = read_provenance(a[3])
    assert (recipe["seed"], recipe["batch"]) == (5, {"n": 7, "index": 3})
    # sample 3 is the first of the batch drawn with seed 5 + 3: the same vector and pixels as seed 8's first
    [c] = write(runs["pictures"], tmp_path / "c", 1, 8, 64)
    assert read_provenance(c)["vector"] == recipe["vector"]
    assert Image.open(c).tobytes() == Image.open(a[3]).tobytes()

    mel = write(runs["melody"], tmp_path / "m", 5, 1, 2, length=16)
    assert [json.loads(next(m.text for m in __import__("mido").MidiFile(p).tracks[0]
                            if m.is_meta and m.type == "text").split(":", 1)[1])["batch"]["index"]
            for p in mel] == list(range(5))


def test_foreseen_full_disk_keeps_the_first_batch(runs, tmp_path, capsys, monkeypatch):
    import shutil

    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=80 << 20))  # 80 MB free
    out = tmp_path / "out"
    assert main(["generate", "--run", str(runs["pictures"]), "--out", str(out), "--n", "100000"]) == 1
    err = capsys.readouterr().err
    assert "stopped after the first 64 files" in err and "the other 99,936 need about" in err
    assert len(list(out.iterdir())) == 64 and all(_complete_png(p) for p in out.iterdir())


def test_disk_full_mid_run_says_how_many_are_complete(runs, tmp_path, capsys, monkeypatch):
    import errno

    from studio.core.export import images
    from studio.core.fileio import DiskFullError

    real, calls = images.atomic_write_bytes, []

    def fill_up(path, data):
        calls.append(path)
        if len(calls) == 3:
            raise DiskFullError(errno.ENOSPC, f"no space left on device while writing {path}")
        real(path, data)
    monkeypatch.setattr(images, "atomic_write_bytes", fill_up)
    out = tmp_path / "out"
    assert main(["generate", "--run", str(runs["pictures"]), "--out", str(out), "--n", "5"]) == 1
    err = capsys.readouterr().err
    assert "no space left on device while writing" in err and "the 2 files written before it are complete" in err
    assert len(list(out.iterdir())) == 2


def test_limits_say_why(runs, tmp_path, capsys):
    assert main(["generate", "--run", str(runs["pictures"]), "--out", str(tmp_path / "s.png"), "--grid",
                 "--n", "1001"]) == 2
    assert "at most 1,000" in capsys.readouterr().err and not (tmp_path / "s.png").exists()
    with pytest.raises(SystemExit):
        main(["generate", "--run", str(runs["pictures"]), "--out", str(tmp_path / "x"), "--n", "100001"])
    assert "100000" in capsys.readouterr().err
