"""The originality check: a model that copies its training items is caught, one that cannot copy is not."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from studio.core.datasets.training_data import TrainingData
from studio.core.originality import (COPY_MARGIN, FEATURE_GROUPS, TrainingIndex, check_model, eval_figures,
                                     image_features)
from studio.core.plugins.api import DataSpec

torch.set_num_threads(1)


def pictures(n: int, seed: int, size: int = 32) -> torch.Tensor:
    """Smooth random colour fields with a bright blob: varied pictures from one source."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 4, 4, generator=g)
    x = F.interpolate(coarse, size=size, mode="bilinear", align_corners=False)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    centre = torch.rand(n, 2, 1, 1, generator=g)
    blob = torch.exp(-((yy - centre[:, :1]) ** 2 + (xx - centre[:, 1:]) ** 2) / 0.01)  # (n, 1, H, W)
    return (0.7 * x + 0.3 * blob).clamp(0, 1)


def image_dataset(train: torch.Tensor, held: torch.Tensor) -> TrainingData:
    images = (torch.cat([train, held]) * 255).round().to(torch.uint8)
    mask = torch.zeros(len(images), dtype=torch.bool)
    mask[len(train):] = True
    spec = DataSpec(modality="image", image_size=images.shape[-1], channels=3)
    return TrainingData.from_tensors(spec, images=images, labels=torch.zeros(len(images), dtype=torch.long),
                                     val_mask=mask)


class CopyingDecoder:
    """Decodes a latent to the training picture it indexes: copies by construction (``brighter``:
    a copy that came out a little brighter, as a decoder's copy might)."""

    def __init__(self, training: torch.Tensor, brighter: float = 0.0):
        self.training, self.brighter = training, brighter

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        idx = torch.randint(0, len(self.training), (n,), generator=torch.Generator().manual_seed(seed))
        return (self.training[idx] + self.brighter).clamp(0, 1)


class NewPictureModel:
    """Returns pictures from the same source that it never saw: it cannot copy."""

    def __init__(self, seed: int):
        self.seed = seed

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        return pictures(n, self.seed + seed)


@pytest.fixture(scope="module")
def data():
    return image_dataset(pictures(80, seed=1), pictures(20, seed=2))


def test_features_have_the_documented_groups():
    x = pictures(5, seed=0)
    f = image_features(x)
    assert f.shape == (5, sum(size for _, size in FEATURE_GROUPS)) == (5, 835)
    # greyscale pictures are compared as colour ones; a blurred picture loses Laplacian energy
    grey = image_features(x.mean(1, keepdim=True))
    assert grey.shape == f.shape
    blurred = image_features(F.avg_pool2d(F.pad(x, [1, 1, 1, 1], mode="replicate"), 3, 1))
    assert (blurred[:, -3:] < f[:, -3:]).all()


def test_a_model_that_copies_is_caught(data):
    report = check_model(CopyingDecoder(data.tensors["images"][:80].float() / 255), data, n=40)
    assert report.copy_rate >= 0.95, report.summary()
    assert report.nearest_training_similarity > 0.98
    assert report.warning() and "near copies" in report.warning()
    assert all(m.copy for m in report.matches[:5])
    slightly_off = check_model(CopyingDecoder(data.tensors["images"][:80].float() / 255, brighter=0.02), data, n=40)
    assert slightly_off.copy_rate >= 0.9, slightly_off.summary()


def test_a_model_that_cannot_copy_is_not_accused(data):
    report = check_model(NewPictureModel(seed=100), data, n=40)
    assert report.copy_rate <= 0.1, report.summary()
    assert report.warning() is None
    # new pictures are about as close to the training set as training pictures are to each other
    assert report.nearest_training_similarity < 0.98
    assert abs(report.nearest_training_similarity - report.training_similarity) < 0.25
    # noise is further from the training pictures than new pictures from the same source
    noise = check_model(type("Noise", (), {"sample": lambda self, n, seed=0: torch.rand(
        n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))})(), data, n=20)
    assert noise.copy_rate == 0.0 and noise.nearest_training_similarity < report.nearest_training_similarity


def test_the_one_sample_call_names_the_closest_training_picture():
    train = pictures(30, seed=3)
    names = [f"drawing-{i:02d}.png" for i in range(30)]
    index = TrainingIndex.for_images((train * 255).round().to(torch.uint8), names)
    match = index.closest(train[7])
    assert match.index == 7 and match.name == "drawing-07.png" and match.copy
    assert match.similarity > 0.99
    assert match.describe().startswith("closest training image: drawing-07.png, similarity 1.00")
    other = index.closest(pictures(1, seed=99)[0])
    assert not other.copy and other.similarity < match.similarity
    assert "near copy" not in other.describe()
    # what an exported file's recipe records (make_recipe's extra), JSON-safe
    from studio.core.export import make_recipe
    recipe = make_recipe(plugin_id="vae-gan", extra={"originality": match.recipe_entry()})
    entry = json.loads(json.dumps(recipe))["originality"]
    assert entry["closest_training_item"] == "drawing-07.png" and entry["near_copy"] is True
    # without names the items are numbered for people (from 1)
    assert TrainingIndex.for_images(train).closest(train[0]).name == "training image #1"
    with pytest.raises(ValueError, match="at least 2"):
        TrainingIndex.for_images(train[:1])


def test_copy_margin_is_relative_to_the_training_neighbours():
    train = pictures(30, seed=4)
    index = TrainingIndex.for_images(train)
    # half-way between a picture and its nearest neighbour is not a copy; very close to it is
    j = int(torch.argmax(image_features(train[:1]) @ image_features(train[1:]).T)) + 1
    assert 0 < COPY_MARGIN < 1
    assert not index.closest(0.5 * train[0] + 0.5 * train[j]).copy
    assert index.closest(0.98 * train[0] + 0.02 * train[j]).copy


def melodies(n: int, seed: int, length: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(2, 40, (n, length), generator=g)


def test_melodies_that_copy_training_phrases_are_caught():
    train = melodies(30, seed=5)
    index = TrainingIndex.for_melodies(train, [f"tune{i}.mid" for i in range(30)])
    copies = index.report(train[[3, 7, 11, 3]])
    assert copies.copy_rate == 1.0 and copies.nearest_training_similarity == 1.0
    assert index.closest(train[7]).describe("melody") == \
        "closest training melody: tune7.mid, similarity 1.00 (a near copy)"
    fresh = index.report(melodies(20, seed=6))
    assert fresh.copy_rate == 0.0 and fresh.nearest_training_similarity < 0.1
    # a melody that quotes half a training phrase: half its windows are found there
    quote = torch.cat([train[2, :32], melodies(1, seed=7)[0, :32]])
    m = index.closest(quote)
    assert m.index == 2 and 0.3 < m.similarity < 0.6


def test_eval_figures_cover_images_and_melodies_only(data):
    figures = eval_figures(CopyingDecoder(data.tensors["images"][:80].float() / 255), data, n=16)
    assert set(figures) >= {"nearest_training_similarity", "copy_rate", "training_similarity", "samples", "warning"}
    assert json.loads(json.dumps(figures)) == figures
    text = TrainingData.from_tensors(DataSpec(modality="text", vocab=list("ab")),
                                     tokens=torch.zeros(50, dtype=torch.long))
    assert eval_figures(object(), text) is None


def test_studio_eval_json_reports_the_originality_check(tmp_path, capsys):
    """Train a tiny VAE-GAN with the CLI, then `studio eval --json` as a user runs it."""
    from studio.cli import main
    from tests.fixtures.toy_plugins.data import write_image_dataset
    ds = write_image_dataset(tmp_path / "images", n=24, size=32)
    run = tmp_path / "run"
    code = main(["train", "--plugin", "vae-gan", "--data", str(ds), "--out", str(run), "--steps", "4",
                 "--device", "cpu", "--set", "threads=1", "--set", "width=4", "--set", "latent_size=4",
                 "--set", "batch_size=4"])
    _, err = capsys.readouterr()
    assert code == 0, err
    code = main(["eval", "--run", str(run), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    orig = result["originality"]
    assert 0.0 <= orig["copy_rate"] <= 1.0 and -1.0 <= orig["nearest_training_similarity"] <= 1.0
    assert orig["samples"] == 64
    code = main(["eval", "--run", str(run)])
    out, _ = capsys.readouterr()
    assert code == 0 and "copy_rate" in out and "nearest_training_similarity" in out
