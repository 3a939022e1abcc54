"""Sound, MIDI and video exports through the real CLI, their tags read back with mutagen (and mido):
the disclosure and the recipe sit in the description/comment fields and under the studio's own key,
the artist's own fields (artist, copyright) stay empty, and the Content Credentials still verify."""
from __future__ import annotations

import json
from pathlib import Path

import mido
import pytest
import torch

from studio.cli import main
from studio.core.export.read import read_provenance
from studio.core.export.video import read_mp4_tags
from tests.fixtures.session_runs import untrained_run as make_run

mutagen = pytest.importorskip("mutagen", reason="mutagen is a dependency (pyproject.toml)")
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("tag-runs")
    return {pid: make_run(base / pid, pid) for pid in ("vae", "melody-rnn")}


def _generate(run: Path, out: Path, *extra) -> Path:
    assert main(["generate", "--run", str(run), "--out", str(out), "--length", "16", "--seed", "2",
                 *map(str, extra)]) == 0
    return out


def _walk(run: Path, out: Path) -> Path:
    assert main(["interpolate", "--run", str(run), "--out", str(out), "--steps", "3"]) == 0
    return out


def _verified(path: Path, capsys) -> dict:
    capsys.readouterr()
    assert main(["verify", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["state"] == "valid" and doc["recipe"] == read_provenance(path)
    return doc


def _is_disclosure(text: str) -> bool:
    return text.startswith("AI-generated with Generative Studio") and "trainedAlgorithmicMedia" in text


def test_flac_says_it_in_description_and_comment_and_leaves_artist_and_copyright(runs, tmp_path, capsys):
    from mutagen.flac import FLAC

    out = _generate(runs["melody-rnn"], tmp_path / "tune.flac")
    tags = FLAC(out).tags  # the signed file (c2pa puts an ID3 tag in front) still reads
    recipe = read_provenance(out)
    assert recipe["seed"] == 2 and recipe["plugin"]["id"] == "melody-rnn"
    assert [_is_disclosure(t) for t in tags["DESCRIPTION"]] == [True]
    assert json.loads(tags["COMMENT"][0]) == recipe
    assert json.loads(tags["GENERATIVE_STUDIO_RECIPE"][0]) == recipe
    assert "ARTIST" not in tags and "COPYRIGHT" not in tags and "PERFORMER" not in tags
    assert tags["ENCODER"][0].startswith("Generative Studio")
    _verified(out, capsys)


def test_wav_id3_comment_and_recipe_key_no_artist(runs, tmp_path, capsys):
    from mutagen.wave import WAVE

    from studio.core.export.audio import read_wav_info

    out = _generate(runs["melody-rnn"], tmp_path / "tune.wav")
    tags = WAVE(out).tags
    recipe = read_provenance(out)
    comments = tags.getall("COMM")
    assert len(comments) == 1 and _is_disclosure(comments[0].text[0])
    assert json.loads(tags["TXXX:GENERATIVE_STUDIO_RECIPE"].text[0]) == recipe
    assert not any(tags.getall(frame) for frame in ("TPE1", "TPE2", "TCOP", "TCOM"))
    info = read_wav_info(out)  # the RIFF INFO chunk too: subject and comment, no IART / ICOP
    assert _is_disclosure(info["ISBJ"]) and json.loads(info["ICMT"]) == recipe
    assert "IART" not in info and "ICOP" not in info
    _verified(out, capsys)


def test_midi_disclosure_is_a_text_event_and_copyright_is_left_to_the_artist(runs, tmp_path):
    out = _generate(runs["melody-rnn"], tmp_path / "tune.mid")
    metas = [m for track in mido.MidiFile(out).tracks for m in track if m.is_meta]
    assert not [m for m in metas if m.type == "copyright"]
    texts = [m.text for m in metas if m.type == "text"]
    assert texts[0].startswith("studio:") and json.loads(texts[0].split(":", 1)[1]) == read_provenance(out)
    assert any(_is_disclosure(t) for t in texts[1:])


def _top_level_boxes(data: bytes) -> list[bytes]:
    """The MP4's top-level box types in file order (a plain reader written for the test)."""
    pos, kinds = 0, []
    while pos + 8 <= len(data):
        size, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        if size == 1:
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        kinds.append(kind)
        if size < 8:
            break
        pos += size
    return kinds


def test_mp4_description_comment_and_freeform_recipe_no_artist(runs, tmp_path, capsys):
    import imageio.v3 as iio
    from mutagen.mp4 import MP4

    out = _walk(runs["vae"], tmp_path / "walk.mp4")
    tags = MP4(out).tags
    recipe = read_provenance(out)
    assert recipe["plugin"]["id"] == "vae"
    assert [_is_disclosure(t) for t in tags["desc"]] == [True]
    assert json.loads(tags["©cmt"][0]) == recipe
    assert json.loads(bytes(tags["----:com.generativestudio:recipe"][0]).decode("utf-8")) == recipe
    assert not any(k in tags for k in ("©ART", "aART", "cprt", "©wrt"))
    assert tags["©too"][0].startswith("Generative Studio")
    ffmpeg_tags = read_mp4_tags(out)  # what ffmpeg (and so most players) reads from the same atoms
    assert _is_disclosure(ffmpeg_tags["description"]) and "artist" not in ffmpeg_tags
    boxes = _top_level_boxes(out.read_bytes())
    assert boxes.index(b"moov") < boxes.index(b"mdat")  # still "+faststart" after tagging
    assert len(list(iio.imiter(out))) >= 3  # and still plays: mutagen moved the chunk offsets right
    _verified(out, capsys)


def test_same_seed_same_bytes_without_credentials(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CONTENT_CREDENTIALS", "off")
    for name in ("a", "b"):
        for ext in ("flac", "wav"):
            _generate(runs["melody-rnn"], tmp_path / name / f"tune.{ext}")
        _walk(runs["vae"], tmp_path / name / "walk.mp4")
    for ext in ("flac", "wav", "mp4"):
        first, second = sorted(tmp_path.glob(f"*/*.{ext}"))
        assert first.read_bytes() == second.read_bytes(), ext
