"""Issue 22: images with an embedded colour profile (Display P3 phone photos) are converted to sRGB on import,
checked against the colour maths done here independently (matrix/TRC profile → XYZ D50 → sRGB)."""
from __future__ import annotations

import io
import json
import struct

import numpy as np
from PIL import Image

from studio.cli import main
from studio.core.datasets import load_dataset

# Display P3 primaries adapted to D50 (as in Apple's "Display P3" profile), gamma 2.2 curves for simplicity.
P3_D50 = np.array([[0.5151, 0.2920, 0.1571],
                   [0.2412, 0.6922, 0.0666],
                   [-0.0011, 0.0419, 0.7841]])
D50 = (0.9642, 1.0, 0.8249)
GAMMA = 2.2


def _s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def _xyz(x, y, z) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def _desc(text: str) -> bytes:
    a = text.encode("ascii") + b"\0"
    return b"desc" + b"\0" * 4 + struct.pack(">I", len(a)) + a + b"\0" * 8 + b"\0\0" + b"\0" + b"\0" * 67


def p3_profile(name: str = "Display P3 (test)") -> bytes:
    """A minimal ICC v2 display profile (matrix + gamma curves), written byte by byte."""
    curve = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", int(GAMMA * 256)) + b"\0\0"
    tags = [(b"desc", _desc(name)), (b"wtpt", _xyz(*D50)), (b"cprt", b"text" + b"\0" * 4 + b"none\0\0\0\0"),
            (b"rXYZ", _xyz(*P3_D50[:, 0])), (b"gXYZ", _xyz(*P3_D50[:, 1])), (b"bXYZ", _xyz(*P3_D50[:, 2])),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"\0" * 4 + bytes([2, 0x10, 0, 0]) + b"mntr" + b"RGB " + b"XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + b"".join(_s15(v) for v in D50)
              + b"\0" * 4 + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def expected_srgb(rgb) -> np.ndarray:
    """P3-encoded 8-bit values → sRGB 8-bit, by the textbook maths (no LittleCMS)."""
    lin = (np.asarray(rgb, dtype=np.float64) / 255.0) ** GAMMA
    xyz_d50 = P3_D50 @ lin
    # XYZ (D50) → linear sRGB: the Bradford-adapted inverse of sRGB's D50 colorant matrix
    srgb_d50 = np.array([[0.4360747, 0.3850649, 0.1430804],
                         [0.2225045, 0.7168786, 0.0606169],
                         [0.0139322, 0.0971045, 0.7141733]])
    lin_srgb = np.clip(np.linalg.solve(srgb_d50, xyz_d50), 0, 1)
    enc = np.where(lin_srgb <= 0.0031308, 12.92 * lin_srgb, 1.055 * lin_srgb ** (1 / 2.4) - 0.055)
    return np.round(enc * 255)


def test_display_p3_photo_is_imported_in_srgb(tmp_path, capsys):
    colour = (200, 120, 60)  # inside both gamuts, so no clipping decides the result
    src = tmp_path / "photos"
    src.mkdir()
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buf, "PNG", icc_profile=p3_profile())
    (src / "p3.png").write_bytes(buf.getvalue())
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buf, "PNG")  # the same numbers, untagged: taken as sRGB
    (src / "plain.png").write_bytes(buf.getvalue())
    rc = main(["import", "images", str(src), "--out", str(tmp_path / "ds"), "--size", "8", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["accepted"] == 2, doc
    data = load_dataset(tmp_path / "ds")
    arr = data.tensors["images"].numpy()
    assert arr.dtype == np.uint8 and arr.shape == (2, 3, 8, 8), (arr.dtype, arr.shape)  # N, C, H, W
    pixels = {tuple(arr[i].reshape(3, -1).mean(axis=1).round()) for i in range(2)}
    want = tuple(expected_srgb(colour))
    assert tuple(float(c) for c in colour) in pixels, pixels  # the untagged file is untouched
    converted = [p for p in pixels if p != tuple(float(c) for c in colour)]
    assert len(converted) == 1, pixels
    assert np.abs(np.array(converted[0]) - np.array(want)).max() <= 3, (converted[0], want)
    assert np.abs(np.array(want) - np.array(colour)).max() >= 8, "the test colour must move visibly"


def test_srgb_tagged_and_broken_profiles(tmp_path):
    from PIL import ImageCms

    from studio.core.datasets.image_decode import decode_image

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(buf, "PNG", icc_profile=srgb)
    arr, _info, notes = decode_image(buf.getvalue(), "s.png", 8, 3, "crop", (255, 255, 255))
    assert tuple(arr[0, 0]) == (10, 200, 30) and notes == []
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(buf, "PNG", icc_profile=b"not a profile at all" * 8)
    arr, _info, notes = decode_image(buf.getvalue(), "b.png", 8, 3, "crop", (255, 255, 255))
    assert tuple(arr[0, 0]) == (10, 200, 30)
    assert len(notes) == 1 and "colour profile could not be used" in notes[0]
