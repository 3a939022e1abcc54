"""Builds the malformed-file corpus the importer tests use (made at test time, nothing committed)."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def png_bytes(size=(20, 16), mode="RGB", colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour if mode != "L" else 128).save(buf, format="PNG")
    return buf.getvalue()


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def write_image_corpus(root: Path) -> dict[str, str | None]:
    """Images in every mode plus broken ones; returns {relative path: expected reason fragment or None}."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    expect: dict[str, str | None] = {}

    def save(rel, im, **kw):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        im.save(p, **kw)
        expect[rel] = None

    rgb = Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8))
    save("good/rgb.png", rgb)
    save("good/photo.jpg", rgb, quality=85)
    save("good/alpha.png", Image.new("RGBA", (30, 30), (255, 0, 0, 0)))
    save("good/gray_alpha.png", Image.new("LA", (30, 30), (10, 128)))
    save("good/palette.gif", rgb.convert("P"))
    save("good/cmyk.jpg", rgb.convert("CMYK"))
    save("good/sixteen.png", Image.fromarray((rng.integers(0, 65535, (24, 24))).astype(np.uint16)))
    save("good/float.tif", Image.fromarray(rng.random((24, 24)).astype(np.float32)))
    save("good/bilevel.bmp", rgb.convert("1"))
    save("good/picture.webp", rgb)
    save("good/tall.tiff", Image.new("RGB", (10, 90), (0, 90, 0)))
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 255, 0))]
    save("good/anim.gif", frames[0], save_all=True, append_images=frames[1:])
    (root / "good/misnamed.jpg").write_bytes(png_bytes())  # a PNG called .jpg: accepted with a note
    expect["good/misnamed.jpg"] = None

    bad = {
        "bad/truncated.png": (png_bytes((64, 64))[:60], "truncated"),
        "bad/empty.png": (b"", "empty"),
        "bad/text.png": (b"this is not a picture at all\n" * 4, "not an image"),
        "bad/bomb.png": (bomb_png(), "megapixel limit"),
        "bad/big.png": (bomb_png(8000, 8000), "image of 8000×8000 pixels exceeds the 50-megapixel limit"),
        "bad/pdf.jpg": (b"%PDF-1.4\n" + b"0" * 100, "PDF"),
        "bad/nul.png": (b"\0" * 500, "not an image"),
    }
    for rel, (data, why) in bad.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        expect[rel] = why
    (root / "readme.txt").write_text("not an image")
    expect["readme.txt"] = "not an image file"
    return expect


def write_evil_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok/inside.png", png_bytes())
        zf.writestr("../escape.png", png_bytes())
        zf.writestr("/abs/evil.png", png_bytes())
        zf.writestr("a/../../up.png", png_bytes())
        zf.writestr("nested.zip", b"PK\x05\x06" + b"\0" * 18)


# -- MIDI ----------------------------------------------------------------
def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def midi_raw(events: list[tuple[int, bytes]], tpb: int = 96, fmt: int = 0, tracks: list | None = None) -> bytes:
    """A MIDI file from (delta, raw message bytes) events, written by hand so it can be broken on purpose."""
    def track(evts):
        body = b"".join(_vlq(d) + m for d, m in evts) + b"\x00\xff\x2f\x00"
        return b"MTrk" + struct.pack(">I", len(body)) + body
    all_tracks = tracks if tracks is not None else [events]
    header = b"MThd" + struct.pack(">IHHH", 6, fmt if tracks is None else 1, len(all_tracks), tpb & 0xFFFF)
    return header + b"".join(track(t) for t in all_tracks)


def melody_events(pitches, step=24, channel=0, start_delta=0) -> list[tuple[int, bytes]]:
    """Quarter-ish notes at tpb=96 (24 ticks = one 16th)."""
    out = []
    delta = start_delta
    for p in pitches:
        out.append((delta, bytes([0x90 | channel, p, 90])))
        out.append((step * 2, bytes([0x80 | channel, p, 0])))
        delta = 0
    return out


SCALE = [60, 62, 64, 65, 67, 69, 71, 72] * 3


def write_music_corpus(root: Path) -> dict[str, str | None]:
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[bytes, str | None]] = {
        "good/scale.mid": (midi_raw(melody_events(SCALE)), None),
        "good/two_tracks.mid": (midi_raw([], tracks=[melody_events(SCALE), melody_events([48, 50, 52] * 6)]), None),
        "good/absurd_tempo.mid": (midi_raw([(0, b"\xff\x51\x03\x00\x00\x01")] + melody_events(SCALE)), None),
        "good/silence.mid": (midi_raw(melody_events(SCALE[:8]) + melody_events(SCALE[:8], start_delta=96 * 4 * 60 * 120)),
                             None),  # two hours of silence at 120 BPM between two tunes
        "good/huge_tick.mid": (midi_raw(melody_events(SCALE[:8]) + melody_events(SCALE[:8], start_delta=0x0FFFFFFF)),
                               None),
        "bad/data_byte.mid": (midi_raw([(0, b"\x90\x3c\x80"), (48, b"\x80\x3c\x00")]), "data byte"),
        "bad/drums.mid": (midi_raw(melody_events(SCALE, channel=9)), "drums only"),
        "bad/no_notes.mid": (midi_raw([(0, b"\xff\x51\x03\x07\xa1\x20")]), "no notes"),
        "bad/truncated.mid": (midi_raw(melody_events(SCALE))[:40], "MIDI"),
        "bad/text.mid": (b"hello, I am not a MIDI file\n", "not a MIDI"),
        "bad/smpte.mid": (midi_raw(melody_events(SCALE), tpb=0xE728), "not supported"),
        "bad/two_notes.mid": (midi_raw(melody_events([60, 62])), "no phrase"),
        "bad/empty.mid": (b"", "empty"),
        "good/tunes.abc": (b"X:1\nT:Scale\nM:4/4\nL:1/8\nK:C\nCDEF GABc|cBAG FEDC|CDEF GABc|cBAG FEDC|]\n\n"
                           b"X:2\nT:Broken\nM:4/4\nK:C\n" + b"\xff\xfe((((((\n", None),
        "bad/image.abc": (png_bytes(), "tunes"),
        "notes.txt": (b"just some words", "not a music file"),
    }
    expect = {}
    for rel, (data, why) in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        expect[rel] = why
    return expect


# -- text ----------------------------------------------------------------
def write_text_corpus(root: Path) -> dict[str, str | None]:
    root.mkdir(parents=True, exist_ok=True)
    prose = "The quick brown fox jumps over the lazy dog.\nCafé au lait, naïve façade.\n" * 20
    files: dict[str, tuple[bytes, str | None]] = {
        "utf8.txt": (prose.encode("utf-8"), None),
        "utf8_bom.md": (b"\xef\xbb\xbf" + prose.encode("utf-8"), None),
        "utf16_bom.txt": (prose.encode("utf-16"), None),
        "utf16be_nobom.txt": (prose.encode("utf-16-be"), None),
        "cp1252.txt": (("\u201cSmart quotes\u201d and caf\u00e9.\n" * 10).encode("cp1252"), None),
        "latin1.txt": (b"control \x81 byte and caf\xe9\n" * 10, None),
        "nul.txt": (b"\0" * 4096, "NUL"),
        "binary.txt": (png_bytes(), "binary"),
        "one_line.txt": (b"x" * (5 * 1024 * 1024), "one line"),
        "empty.txt": (b"", "empty"),
        "blank.md": (b"  \n\n\t\n", "whitespace"),
        "bad_bom.txt": (b"\xef\xbb\xbf" + b"caf\xe9", "byte-order mark"),
        "picture.png": (png_bytes(), "not a text file"),
    }
    expect = {}
    for rel, (data, why) in files.items():
        (root / rel).write_bytes(data)
        expect[rel] = why
    return expect
