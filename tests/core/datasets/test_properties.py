"""Property tests: random bytes and mutated valid files never make an importer raise, and every file is accounted for."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core.datasets.images import import_images
from studio.core.datasets.music import import_music
from studio.core.datasets.text import import_text
from tests.core.datasets.corpus import SCALE, melody_events, midi_raw, png_bytes

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID = {
    "png": png_bytes((24, 20)),
    "mid": midi_raw(melody_events(SCALE)),
    "abc": b"X:1\nT:t\nM:4/4\nL:1/8\nK:G\nGABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|]\n",
    "txt": "Hello wörld.\nA second line.\n".encode("utf-8") * 20,
}


@st.composite
def mutated(draw, valid: bytes):
    """Truncate, flip, insert or delete bytes in a valid file."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "truncate":
            del data[pos:]
        elif op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif data:
            del data[pos:pos + draw(st.integers(1, 16))]
    return bytes(data)


def _run(importer, files: dict[str, bytes], **kw):
    tmp = Path(tempfile.mkdtemp(prefix="studio-prop-"))
    try:
        src = tmp / "src"
        src.mkdir()
        for name, data in files.items():
            (src / name).write_bytes(data)
        res = importer([src], tmp / "ds", **kw)
        accounted = set(res.accepted) | {s["path"] for s in res.skipped}
        assert accounted == {str(src / n) for n in files}
        assert not set(res.accepted) & {s["path"] for s in res.skipped}
        assert all(s["reason"] for s in res.skipped)
        assert res.ok == bool(res.accepted) == (tmp / "ds" / "manifest.json").exists()
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@SETTINGS
@given(random=st.binary(max_size=2048), mut=mutated(VALID["png"]))
def test_images_never_raise(random, mut):
    _run(import_images, {"random.png": random, "mutated.png": mut, "valid.png": VALID["png"]},
         size=16, executor="inline")


@SETTINGS
@given(random=st.binary(max_size=2048), mut=mutated(VALID["mid"]))
def test_midi_never_raises(random, mut):
    res = _run(import_music, {"random.mid": random, "mutated.mid": mut, "valid.mid": VALID["mid"]})
    assert any(p.endswith("valid.mid") for p in res.accepted)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random=st.binary(max_size=512), mut=mutated(VALID["abc"]))
def test_abc_never_raises(random, mut):
    _run(import_music, {"random.abc": random, "mutated.abc": mut}, phrase_bars=1)


@SETTINGS
@given(random=st.binary(max_size=4096), mut=mutated(VALID["txt"]), txt=st.text(max_size=300))
def test_text_never_raises(random, mut, txt):
    res = _run(import_text, {"random.txt": random, "mutated.txt": mut, "unicode.md": txt.encode("utf-8", "surrogatepass"),
                             "valid.txt": VALID["txt"]})
    assert any(p.endswith("valid.txt") for p in res.accepted)
