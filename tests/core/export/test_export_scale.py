"""Export sizes (1×/2×/4×/8×, nearest or smooth) through every picture writer, recorded in the recipe."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from studio.core.export import make_recipe, read_provenance
from studio.core.export.images import contact_sheet, save_image
from studio.core.export.scale import DEFAULT, ExportSize, even_frame, scale_image
from studio.core.export.video import mp4_tags, read_mp4_tags, save_gif, save_mp4


def recipe():
    return make_recipe(plugin_id="vae", run_id="run-1", seed=3)


def picture(h=16, w=16, seed=0) -> np.ndarray:
    """Random colours: every pixel differs from its neighbours, so any blur or shift shows."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("scale", [1, 2, 4, 8])
@pytest.mark.parametrize("resample", ["nearest", "smooth"])
def test_png_size_is_exactly_scale_times_the_picture_and_recorded(tmp_path, scale, resample):
    size = ExportSize(scale, resample)
    path = save_image(picture(12, 20), tmp_path / "a.png", recipe(), size=size)
    with Image.open(path) as im:
        assert im.size == (20 * scale, 12 * scale)
    assert read_provenance(path)["output"] == {"scale": scale, "resample": resample,
                                               "width": 20 * scale, "height": 12 * scale}


def test_nearest_repeats_each_pixel_as_an_identical_block_and_smooth_does_not(tmp_path):
    src = picture()
    crisp = np.asarray(Image.open(save_image(src, tmp_path / "n.png", recipe(), size=ExportSize(8, "nearest"))))
    blocks = crisp.reshape(16, 8, 16, 8, 3)
    assert (blocks == src[:, None, :, None, :]).all()          # every 8×8 block is its source pixel
    soft = np.asarray(Image.open(save_image(src, tmp_path / "s.png", recipe(), size=ExportSize(8, "smooth"))))
    assert soft.shape == crisp.shape
    changed = np.mean(np.any(soft != crisp, axis=2))
    assert changed > 0.5                                        # most pixels are blended, not copied
    # ...but it is the same picture: block means stay close to the source colours
    means = soft.reshape(16, 8, 16, 8, 3).mean(axis=(1, 3))
    assert np.abs(means - src).mean() < 25


def test_grey_pictures_and_float_samples_scale_too():
    grey = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
    assert scale_image(grey, ExportSize(2, "smooth")).shape == (8, 8)
    assert scale_image(grey, ExportSize(4, "nearest"))[3, 3] == grey[0, 0]
    sample = np.random.default_rng(1).random((1, 8, 8)).astype(np.float32)   # the studio's (C,H,W) in [0,1]
    from studio.core.export.images import encode_image, sized
    arr, rec = sized(sample, {}, ExportSize(4, "smooth"))
    assert arr.shape == (32, 32) and rec["output"]["width"] == 32
    assert encode_image(arr, rec)  # encodes


def test_contact_sheet_cells_are_scaled_before_layout():
    cells = [picture(16, 16, s) for s in range(4)]
    sheet = contact_sheet(cells, columns=2, padding=4, size=ExportSize(4, "nearest"))
    assert sheet.size == (2 * (64 + 4) + 4, 2 * (64 + 4) + 4)
    first = np.asarray(sheet)[4:68, 4:68]
    np.testing.assert_array_equal(first, np.repeat(np.repeat(cells[0], 4, axis=0), 4, axis=1))
    assert contact_sheet(cells, columns=2).size[0] == 2 * (96 + 4) + 4   # no size: the older 96-px minimum


def test_gif_frames_scaled_and_recipe_records_the_choice(tmp_path):
    frames = [picture(10, 14, s) for s in range(3)]
    path = save_gif(frames, tmp_path / "w.gif", recipe(), size=ExportSize(2, "smooth"))
    with Image.open(path) as im:
        assert im.size == (28, 20) and im.n_frames == 3
    assert read_provenance(path)["output"] == {"scale": 2, "resample": "smooth", "width": 28, "height": 20}
    legacy = save_gif(frames, tmp_path / "old.gif", recipe())          # no size: at least 128 px, as before
    with Image.open(legacy) as im:
        assert im.size == (14 * 13, 10 * 13)
    assert "output" not in read_provenance(legacy)


def test_mp4_is_scaled_kept_even_and_tagged(tmp_path):
    import imageio.v3 as iio

    frames = [picture(9, 15, s) for s in range(4)]           # odd sides: H.264 needs even ones
    path = save_mp4(frames, tmp_path / "w.mp4", recipe(), fps=4, size=ExportSize(1, "nearest"))
    first = next(iter(iio.imiter(path)))
    assert first.shape[:2] == (10, 16)                         # padded by one row and one column
    assert json.loads(read_mp4_tags(path)["comment"])["output"] == {"scale": 1, "resample": "nearest",
                                                                    "width": 16, "height": 10}
    path = save_mp4(frames, tmp_path / "w8.mp4", recipe(), fps=4, size=ExportSize(8, "smooth"))
    assert next(iter(iio.imiter(path))).shape[:2] == (72, 120)
    assert "output" not in json.loads(mp4_tags(recipe())["comment"])


def test_even_frame_repeats_the_edge():
    f = picture(3, 5)
    padded = even_frame(f)
    assert padded.shape == (4, 6, 3)
    np.testing.assert_array_equal(padded[3, :5], f[2])
    np.testing.assert_array_equal(padded[:3, 5], f[:, 4])
    assert even_frame(padded) is padded


def test_bad_sizes_are_refused_in_words_and_damaged_settings_fall_back():
    with pytest.raises(ValueError, match="scale must be one of 1, 2, 4, 8 .got 3"):
        ExportSize(3)
    with pytest.raises(ValueError, match="resample must be 'nearest' .crisp pixels. or 'smooth'"):
        ExportSize(2, "bicubic")
    assert ExportSize("8x", "Smooth") == ExportSize(8, "smooth")
    assert ExportSize(4).label(64, 64) == "4× — 256×256 px" and ExportSize(8).label() == "8×"
    assert DEFAULT == ExportSize(4, "smooth")
    assert ExportSize.from_settings({}) == DEFAULT
    assert ExportSize.from_settings({"export_size": {"scale": 8, "resample": "nearest"}}) == ExportSize(8, "nearest")
    for junk in ({"export_size": {"scale": 5}}, {"export_size": "big"}, {"export_size": {"resample": 3}}):
        assert ExportSize.from_settings(junk) == DEFAULT


def test_project_setting_round_trip_and_undo(tmp_path):
    from studio.core.project import Project
    from studio.core.project_edits import SetSetting

    project = Project.create(tmp_path / "p")
    edit = SetSetting("export_size", ExportSize(8, "nearest").to_dict())
    edit.apply(project)
    project.save()
    assert ExportSize.from_settings(Project.open(project.folder).ui) == ExportSize(8, "nearest")
    edit.revert(project)
    assert "export_size" not in project.ui


def test_exports_too_large_for_memory_are_refused_before_anything_is_built(tmp_path):
    cells = [np.zeros((128, 128, 3), np.uint8)] * 289           # a 17×17 sheet of 128-px cells
    with pytest.raises(ValueError, match=r"the contact sheet would be 17476×17476 px .* choose a smaller export"):
        contact_sheet(cells, size=ExportSize(8, "nearest"))
    with pytest.raises(ValueError, match=r"the animation would be 1024×1024 px × 289 frames .*fewer frames"):
        save_gif(cells, tmp_path / "big.gif", recipe(), size=ExportSize(8, "smooth"))
    assert not (tmp_path / "big.gif").exists()
    assert contact_sheet(cells[:4], size=ExportSize(2, "nearest")).size == (2 * 260 + 4, 2 * 260 + 4)
