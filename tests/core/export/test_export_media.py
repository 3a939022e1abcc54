"""Every media format carries the recipe; each is read back by an independent reader."""
from __future__ import annotations

import json
import shutil
import struct
import subprocess

import mido
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from studio.core.export import OverwriteError, make_recipe, read_provenance
from studio.core.export.audio import save_audio
from studio.core.export.images import contact_sheet, save_image, save_images
from studio.core.export.midi import save_midi
from studio.core.export.provenance import DISCLOSURE, IPTC_DIGITAL_SOURCE_TYPE, MAX_VECTOR_VALUES
from studio.core.export.text import save_text, split_text
from studio.core.export.video import save_gif, save_mp4

SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def recipe(**kw):
    base = dict(plugin_id="vae", plugin_version="1.0.0", run_id="run-7", run_path="/home/artist/runs/run-7",
                checkpoint_sha256="ab" * 32, checkpoint_step=500, checkpoint_path="/home/artist/runs/run-7/ck.safetensors",
                seed=42, n=4, index=1, vector=np.linspace(-1, 1, 8, dtype=np.float32),
                sampling={"temperature": 0.8, "top_k": None})
    base.update(kw)
    return make_recipe(**base)


def assert_recipe(found, private=False):
    assert found["disclosure"] == DISCLOSURE == "AI-generated"
    assert found["digital_source_type"] == IPTC_DIGITAL_SOURCE_TYPE == SOURCE_TYPE
    assert found["plugin"] == {"id": "vae", "version": "1.0.0"}
    assert found["run"]["id"] == "run-7" and found["seed"] == 42 and found["batch"] == {"n": 4, "index": 1}
    assert found["checkpoint"]["sha256"] == "ab" * 32
    assert found["sampling"] == {"temperature": 0.8}
    assert found["studio_version"] and found["created"]
    if private:
        assert "vector" not in found and "path" not in found["run"] and "path" not in found["checkpoint"]
        assert "/home/artist" not in json.dumps(found)
    else:
        assert np.array_equal(np.array(found["vector"], np.float32), np.linspace(-1, 1, 8, dtype=np.float32))


def image(seed=0, c=3, size=16):
    return np.random.default_rng(seed).random((c, size, size)).astype(np.float32)


def test_png_itxt_and_xmp_read_by_pillow(tmp_path):
    path = save_image(image(), tmp_path / "a.png", recipe())
    with Image.open(path) as im:
        text = dict(im.text)
        assert im.size == (16, 16) and im.mode == "RGB"
    assert_recipe(json.loads(text["studio.provenance"]))
    xmp = text["XML:com.adobe.xmp"]
    assert f'Iptc4xmpExt:DigitalSourceType="{SOURCE_TYPE}"' in xmp and "AI-generated" in xmp
    assert text["Description"].startswith("AI-generated")
    assert_recipe(read_provenance(path))


@pytest.mark.parametrize("ext", [".jpg", ".webp"])
def test_jpeg_webp_xmp_and_exif_read_by_pillow(tmp_path, ext):
    path = save_image(image(c=1), tmp_path / f"a{ext}", recipe())
    with Image.open(path) as im:
        xmp = im.info["xmp"].decode("utf-8")
        exif = im.getexif()
    assert SOURCE_TYPE in xmp and "studio:recipe" in xmp
    assert exif[0x010E].startswith("AI-generated")  # ImageDescription
    user_comment = exif.get_ifd(0x8769)[0x9286]
    assert_recipe(json.loads(user_comment[8:]))
    assert_recipe(read_provenance(path))


def test_privacy_drops_vector_and_paths_but_never_the_disclosure(tmp_path):
    r = recipe(private=True)
    r.pop("disclosure")  # even a caller that removes it ...
    r["digital_source_type"] = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"  # ... or lies
    path = save_image(image(), tmp_path / "p.png", r)
    with Image.open(path) as im:
        found = json.loads(im.text["studio.provenance"])
    assert_recipe(found, private=True)
    assert found["privacy"] is True and found["vector_sha256"]


def test_long_vector_is_stored_as_hash(tmp_path):
    r = recipe(vector=np.ones(MAX_VECTOR_VALUES + 1, np.float32))
    assert "vector" not in r and r["vector_dims"] == MAX_VECTOR_VALUES + 1 and len(r["vector_sha256"]) == 64


def test_never_overwrites_silently(tmp_path):
    path = save_image(image(), tmp_path / "a.png", recipe())
    before = path.read_bytes()
    with pytest.raises(OverwriteError, match="a.png: already exists"):
        save_image(image(1), path, recipe())
    assert path.read_bytes() == before
    save_image(image(1), path, recipe(), overwrite=True)
    assert path.read_bytes() != before
    # a batch checks every target before writing any
    with pytest.raises(OverwriteError):
        save_images([image(2), image(3)], [tmp_path / "new.png", path], [recipe(), recipe()])
    assert not (tmp_path / "new.png").exists()


def test_contact_sheet_has_labels_and_grid(tmp_path):
    imgs = [np.full((3, 8, 8), v, np.float32) for v in (0.0, 0.5, 1.0, 0.25)]
    sheet = contact_sheet(imgs, [f"seed 1 #{i}" for i in range(4)], columns=2, cell=64)
    assert sheet.size == (2 * 68 + 4, 2 * (64 + 14 + 4) + 4)
    arr = np.asarray(sheet)
    assert (arr[4 + 64 + 2: 4 + 64 + 14, 4:68] > 200).any()  # caption text drawn under cell 0
    assert arr[10, 10].tolist() == [0, 0, 0] and arr[10, 78].tolist() == [128, 128, 128]
    path = save_image(sheet, tmp_path / "sheet.png", recipe())
    assert_recipe(read_provenance(path))


def test_gif_comment_read_by_pillow(tmp_path):
    frames = [image(i) for i in range(3)]
    path = save_gif(frames, tmp_path / "walk.gif", recipe(), fps=5)
    with Image.open(path) as im:
        assert im.n_frames == 3 and min(im.size) >= 128
        assert_recipe(json.loads(im.info["comment"]))
    assert_recipe(read_provenance(path))


def _riff_chunks(data: bytes):
    """A plain RIFF reader written for the test (independent of the studio's)."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    pos, out = 12, {}
    while pos < len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        out.setdefault(cid, []).append(data[pos + 8:pos + 8 + size])
        pos += 8 + size + size % 2
    return out


def test_wav_list_info_read_by_plain_riff_reader(tmp_path):
    sr = 8000
    audio = 0.5 * np.sin(np.linspace(0, 200 * np.pi, sr)).astype(np.float32)
    path = save_audio(audio, tmp_path / "m.wav", recipe(), sample_rate=sr)
    chunks = _riff_chunks(path.read_bytes())
    info = next(c for c in chunks[b"LIST"] if c[:4] == b"INFO")
    fields, pos = {}, 4
    while pos < len(info):
        key, n = info[pos:pos + 4].decode(), struct.unpack("<I", info[pos + 4:pos + 8])[0]
        fields[key] = info[pos + 8:pos + 8 + n].rstrip(b"\0").decode("latin-1")
        pos += 8 + n + n % 2
    assert_recipe(json.loads(fields["ICMT"]))
    assert fields["ISBJ"].startswith("AI-generated")
    data, rate = sf.read(path, dtype="float32")  # the audio itself is intact
    assert rate == sr and np.abs(data - audio).max() < 1e-3
    assert_recipe(read_provenance(path))


def _flac_vorbis_comments(data: bytes) -> dict[str, str]:
    """Parse FLAC metadata blocks by hand: block type 4 is VORBIS_COMMENT."""
    if data[:3] == b"ID3":  # the ID3v2 tag c2pa puts first to hold the Content Credentials (size: 4 x 7 bits)
        data = data[10 + sum((data[6 + i] & 0x7F) << (7 * (3 - i)) for i in range(4)):]
    assert data[:4] == b"fLaC"
    pos = 4
    while True:
        header = data[pos]
        kind, size = header & 0x7F, int.from_bytes(data[pos + 1:pos + 4], "big")
        block = data[pos + 4:pos + 4 + size]
        if kind == 4:
            vlen = struct.unpack("<I", block[:4])[0]
            count = struct.unpack("<I", block[4 + vlen:8 + vlen])[0]
            p, out = 8 + vlen, {}
            for _ in range(count):
                n = struct.unpack("<I", block[p:p + 4])[0]
                key, _, value = block[p + 4:p + 4 + n].decode("utf-8").partition("=")
                out[key.lower()] = value
                p += 4 + n
            return out
        assert not header & 0x80, "no Vorbis comment block"
        pos += 4 + size


def test_flac_vorbis_comments_read_by_soundfile_and_by_hand(tmp_path):
    audio = np.zeros((4000, 2), np.float32)
    path = save_audio(audio, tmp_path / "m.flac", recipe())
    with sf.SoundFile(path) as fh:
        assert_recipe(json.loads(fh.comment))
        assert not fh.artist and fh.channels == 2  # the artist's field is left to the artist
    comments = _flac_vorbis_comments(path.read_bytes())
    assert_recipe(json.loads(comments["comment"]))
    assert comments["description"].startswith("AI-generated") and "artist" not in comments
    assert_recipe(read_provenance(path))


def test_midi_text_meta_read_by_mido(tmp_path):
    events = [2 + 24, 1, 1, 1, 0, 2 + 28, 1, 2 + 31, 1, 1]
    path = save_midi(events, tmp_path / "m.mid", recipe(), bpm=100)
    mid = mido.MidiFile(path)
    metas = {m.type: m for m in mid.tracks[0] if m.is_meta}
    assert "copyright" not in metas  # left to the artist; the disclosure is a text event
    texts = [m.text for m in mid.tracks[0] if m.is_meta and m.type == "text"]
    assert texts[1].startswith("AI-generated")
    assert_recipe(json.loads(texts[0].split(":", 1)[1]))
    notes = [m.note for m in mid.tracks[0] if m.type == "note_on"]
    assert notes == [60, 64, 67]
    assert_recipe(read_provenance(path))


@pytest.mark.parametrize("placement", ["footer", "header", "sidecar"])
def test_text_recipe_round_trip(tmp_path, placement):
    body = "ROMEO:\nBut soft, what light\n"
    path = save_text(body, tmp_path / "t.txt", recipe(), placement=placement)
    content = path.read_text()
    if placement == "footer":
        assert content.startswith(body) and "AI-generated" in content
    if placement == "sidecar":
        assert content == body
        assert_recipe(json.loads((tmp_path / "t.txt.json").read_text()))
    assert split_text(content)[0] == body or placement == "sidecar"
    assert_recipe(read_provenance(path))


def test_mp4_tags_read_by_ffprobe_with_melody_soundtrack(tmp_path):
    frames = [np.full((3, 16, 16), i / 5, np.float32) for i in range(6)]
    sr = 22050
    audio = 0.3 * np.sin(np.arange(sr) * 2 * np.pi * 440 / sr).astype(np.float32)
    path = save_mp4(frames, tmp_path / "walk.mp4", recipe(), fps=6, audio=audio, sample_rate=sr)
    ffprobe = shutil.which("ffprobe")
    if ffprobe:
        out = json.loads(subprocess.run([ffprobe, "-v", "error", "-show_format", "-show_streams", "-of", "json",
                                         str(path)], capture_output=True, check=True).stdout)
        tags = out["format"]["tags"]
        kinds = sorted(s["codec_type"] for s in out["streams"])
        assert kinds == ["audio", "video"]
    else:  # imageio's ffmpeg reader as the independent reader
        import imageio.v2 as iio2
        tags = {}
        assert iio2.get_reader(str(path)).get_meta_data()["fps"] == 6
        pytest.skip("ffprobe not installed")
    assert tags["description"].startswith("AI-generated")
    assert_recipe(json.loads(tags["comment"]))
    assert_recipe(read_provenance(path))


def test_unreadable_and_unsupported_files_fail_clearly(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="bad.png: not a readable image"):
        read_provenance(bad)
    with pytest.raises(ValueError, match="does not read metadata from .xyz"):
        (tmp_path / "a.xyz").write_text("x")
        read_provenance(tmp_path / "a.xyz")
    plain = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(plain)
    assert read_provenance(plain) is None
