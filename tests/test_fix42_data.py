"""Review 42 (data): the evaluator's data cache reads edited files again and shares tensors between augments."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from nasforge.data import load_dataset
from nasforge.data.sources import files_stamp
from nasforge.evaluators import TrainingEvaluator
from nasforge.evaluators import training


def _folder(root: Path, per_class: int = 6, start: int = 0) -> Path:
    """Two class folders of 8x8 RGB PNGs."""
    from PIL import Image

    rng = np.random.default_rng(start)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(start, start + per_class):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "_DATA_CACHE", {})


def test_new_evaluator_reads_an_edited_folder_again(tmp_path: Path) -> None:
    root = _folder(tmp_path / "imgs")
    first = TrainingEvaluator("folder", data_dir=root).dataset()
    assert len(first.y_train) + len(first.y_val) + len(first.y_test) == 12
    _folder(root, per_class=10, start=6)  # 20 images added
    again = TrainingEvaluator("folder", data_dir=root).dataset()
    expected = load_dataset("folder", root)
    assert (len(again.y_train), len(again.y_val), len(again.y_test)) == \
        (len(expected.y_train), len(expected.y_val), len(expected.y_test))
    assert len(again.y_train) + len(again.y_val) + len(again.y_test) == 32


def test_rewritten_image_is_read_again(tmp_path: Path) -> None:
    from PIL import Image

    root = _folder(tmp_path / "imgs")
    evaluator = TrainingEvaluator("folder", data_dir=root)
    before = evaluator.dataset()
    assert evaluator.dataset() is before  # unchanged files: the cached copy
    target = root / "a" / "0.png"
    stat = target.stat()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(target)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert evaluator.dataset() is before  # one evaluator, one data (review 42 c, item 2)
    after = TrainingEvaluator("folder", data_dir=root).dataset()
    assert after is not before
    splits = ("train", "val", "test")
    assert not all(np.array_equal(getattr(after, f"x_{s}"), getattr(before, f"x_{s}")) for s in splits)


def test_relative_data_dir_follows_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _folder(tmp_path / "one" / "imgs", per_class=6)
    _folder(tmp_path / "two" / "imgs", per_class=9)
    monkeypatch.chdir(tmp_path / "one")
    small = TrainingEvaluator("folder", data_dir="imgs").dataset()
    monkeypatch.chdir(tmp_path / "two")
    large = TrainingEvaluator("folder", data_dir="imgs").dataset()
    assert len(small.y_train) + len(small.y_val) + len(small.y_test) == 12
    assert len(large.y_train) + len(large.y_val) + len(large.y_test) == 18


def test_files_stamp_none_for_builtin_data() -> None:
    assert files_stamp("digits", None) is None


def test_study_digits_default_augment_after_another() -> None:
    plain = TrainingEvaluator("digits-hard", data_options={}, augment="none").dataset()
    default = TrainingEvaluator("digits-hard", data_options={}).dataset()
    assert default.augment == "crop" and default.x_train.data_ptr() == plain.x_train.data_ptr()


def test_files_stamp_changes_with_a_new_file(tmp_path: Path) -> None:
    root = _folder(tmp_path / "imgs")
    stamp = files_stamp("folder", root)
    assert files_stamp("folder", root) == stamp
    _folder(root, per_class=1, start=50)
    assert files_stamp("folder", root) != stamp


@pytest.mark.parametrize(("name", "first"), [("digits", "none"), ("folder", "crop")])
def test_augments_share_one_copy(tmp_path: Path, name: str, first: str) -> None:
    data_dir = None if name == "digits" else _folder(tmp_path / "imgs")
    sets = {a: TrainingEvaluator(name, data_dir=data_dir, augment=a).dataset()
            for a in (first, None, "none", "crop", "crop_flip")}
    assert len(training._DATA_CACHE) == 1
    base = sets[first].x_train.data_ptr()
    assert all(d.x_train.data_ptr() == base and d.x_val.data_ptr() == sets[first].x_val.data_ptr()
               for d in sets.values())
    assert {a: d.augment for a, d in sets.items() if a is not None} == {a: a for a in sets if a is not None}
    assert sets[None].augment == load_dataset(name, data_dir).augment  # the source's own default, as before


def test_search_after_an_edit_records_the_new_data(tmp_path: Path) -> None:
    from nasforge.experiment import Study
    from nasforge.oneshot.checkpoint import data_fingerprint
    from nasforge.pipelines.search import SearchConfig, run_search

    root = _folder(tmp_path / "imgs")
    for run in ("one", "two"):
        expected = data_fingerprint(load_dataset("folder", root))
        out = tmp_path / run
        run_search(SearchConfig(data="folder", data_dir=str(root), trials=1, search_epochs=1, retrain=0, workers=1,
                                out=str(out)))
        name = json.loads((out / "summary.json").read_text())["name"]
        study = Study.load(name, storage=f"sqlite:///{out / 'study.db'}")
        assert study.user_attrs["data_fingerprint"] == expected
        _folder(root, per_class=4, start=20)


def test_folder_files_opened_once_and_not_resampled_at_their_size(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    root = _folder(tmp_path / "imgs")
    opened, resized = [], []
    real_open, real_resize = Image.open, Image.Image.resize
    monkeypatch.setattr(Image, "open", lambda fp, *a, **k: opened.append(fp) or real_open(fp, *a, **k))
    monkeypatch.setattr(Image.Image, "resize", lambda self, *a, **k: resized.append(1) or real_resize(self, *a, **k))
    load_dataset("folder", root)
    assert len(opened) == 12 and len(set(map(str, opened))) == 12
    assert resized == []


def test_gray_images_beside_color_ones_read_as_before(tmp_path: Path) -> None:
    """One pass reads a grayscale image as one channel and repeats it: the pixels Pillow's RGB conversion gives,
    resized or not."""
    from PIL import Image

    rng = np.random.default_rng(3)
    expected = []
    for name in "ab":
        (tmp_path / name).mkdir()
        for i, (h, w, mode) in enumerate([(8, 8, "1"), (11, 7, "L"), (5, 9, "LA"), (8, 8, "L")]):
            img = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8), "L").convert(mode)
            if (name, i) == ("b", 3):
                img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
            img.save(tmp_path / name / f"{i}.png")
    for file in sorted(tmp_path.glob("*/*.png")):
        with Image.open(file) as img:
            rgb = img.convert("RGB")
            expected.append(np.asarray(rgb if rgb.size == (8, 8) else rgb.resize((8, 8), Image.Resampling.BICUBIC)))
    from nasforge.data.sources import _image_files, _read_images

    arrays, scale, size = _read_images({"all": _image_files(tmp_path, ["a", "b"])})
    assert np.array_equal(arrays["all"][0], np.stack(expected).transpose(0, 3, 1, 2))  # NCHW since review 44
    assert scale == 1 / 255 and size == (8, 8)


def test_alpha_only_images_warn(tmp_path: Path) -> None:
    from PIL import Image

    for name, radius in (("circle", 3), ("square", 5)):
        (tmp_path / name).mkdir()
        for i in range(6):
            pixels = np.zeros((16, 16, 4), np.uint8)
            pixels[8 - radius:8 + radius, 8 - radius:8 + radius, 3] = 255  # the shape is in the alpha channel only
            Image.fromarray(pixels, "RGBA").save(tmp_path / name / f"{i}.png")
    with pytest.warns(UserWarning) as caught:
        load_dataset("folder", tmp_path)
    messages = [str(w.message) for w in caught]
    assert any("12 of 12 images have transparent pixels" in m for m in messages)
    assert any("training images are blank" in m for m in messages)


def test_opaque_alpha_is_silent(tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    from PIL import Image

    root = _folder(tmp_path / "imgs")
    for file in root.glob("*/*.png"):
        Image.open(file).convert("RGBA").save(file)  # alpha 255 everywhere
    load_dataset("folder", root)
    assert not [w for w in recwarn if "transparent" in str(w.message) or "blank" in str(w.message)]


@pytest.mark.parametrize("suffix", [".pgm", ".ppm", ".pbm", ".pnm"])
def test_netpbm_images_load(tmp_path: Path, suffix: str) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    mode = {".pgm": "L", ".ppm": "RGB", ".pbm": "1", ".pnm": "L"}[suffix]
    for name in ("s1", "s2"):
        (tmp_path / name).mkdir()
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).convert(mode).save(
                tmp_path / name / f"{i}{suffix}", format="PPM")
    data = load_dataset("folder", tmp_path)
    assert tuple(data.x_train.shape[1:]) == ((3,) if mode == "RGB" else (1,)) + (12, 10)


def test_dataset_without_validation_images_is_refused_before_training(tmp_path: Path) -> None:
    from nasforge.exceptions import UsageError

    data = load_dataset("folder", _folder(tmp_path / "imgs"), val_fraction=0.0)
    with pytest.raises(UsageError, match="no validation images, so val_acc cannot be measured"):
        TrainingEvaluator(data)
    assert TrainingEvaluator(data, merge_val=True).merge_val


def test_study_data_name_without_options_says_how() -> None:
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match=r"data 'digits-hard' is a one-shot study's data set.*data_options=\{\}"):
        TrainingEvaluator("digits-hard")
    assert TrainingEvaluator("digits-hard", data_options={}).data == "digits-hard"


@pytest.mark.parametrize(("kwargs", "named"), [({"data_dir": "/nonexistent"}, "data_dir '/nonexistent'"),
                                               ({"data_seed": 7}, "data_seed 7")])
def test_in_memory_data_refuses_data_dir_and_seed(kwargs: dict, named: str) -> None:
    from nasforge.exceptions import UsageError

    data = load_dataset("digits")
    with pytest.raises(UsageError, match=f"^{named}: the data set is given as an ImageDataset"):
        TrainingEvaluator(data, **kwargs)


def test_cifar_labels_as_numpy_scalars_load(tmp_path: Path) -> None:
    import pickle

    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = list(rng.integers(0, 10, 20))  # numpy.int64 numbers, pickled with numpy's scalar()
        (folder / name).write_bytes(pickle.dumps({b"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8),
                                                  b"labels": labels}, protocol=2 if name == "test_batch" else 5))
    data = load_dataset("cifar10", tmp_path)
    assert len(data.y_train) + len(data.y_val) == 100 and len(data.y_test) == 20


def test_numpy_scalar_call_reads_only_one_number() -> None:
    from nasforge.data.sources import _scalar_from_bytes, _UnsafePickle

    assert _scalar_from_bytes(np.dtype("i8"), (7).to_bytes(8, "little")) == 7
    for dtype, buffer in ((np.dtype("O"), b"\0" * 8), (np.dtype("i8"), b"\0" * 16), (np.dtype("i8"), "text")):
        with pytest.raises(_UnsafePickle):
            _scalar_from_bytes(dtype, buffer)


def test_exif_orientation_warns(tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(6):
            img = Image.fromarray(np.full((8, 16, 3), 40 * i, np.uint8))
            exif = img.getexif()
            exif[0x0112] = 6 if (name, i) == ("b", 2) else 1  # one photo to be turned 90 degrees
            img.save(tmp_path / name / f"{i}.jpg", exif=exif.tobytes())
    data = load_dataset("folder", tmp_path)
    assert tuple(data.x_train.shape[2:]) == (8, 16)  # as stored
    messages = [str(w.message) for w in recwarn if "EXIF orientation" in str(w.message)]
    assert len(messages) == 1 and messages[0].startswith("1 of 12 images carry an EXIF orientation")
    assert "2.jpg" in messages[0]
