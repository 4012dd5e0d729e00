"""Loading one's own data: ambiguous small NPZ layouts, broken links as folders, ID labels, Pillow header errors,
and seed advice where no seed helps."""

from __future__ import annotations

import io
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from nasforge.data import augment_batch, from_arrays, load_dataset
from nasforge.exceptions import UsageError


def _npz(path: Path, shape: tuple[int, ...], **extra: object) -> Path:
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.random(shape).astype(np.float32), y=np.arange(shape[0]) % 2, **extra)
    return path


@pytest.mark.parametrize("shape, nchw, nhwc", [((40, 8, 4, 4), "8 channels of 4x4", "4 channels of 8x4"),
                                               ((40, 6, 2, 2), "6 channels of 2x2", "2 channels of 6x2"),
                                               ((40, 4, 4, 8), "4 channels of 4x8", "8 channels of 4x4")])
def test_small_images_of_more_than_4_channels_are_refused_naming_both_readings(tmp_path, shape, nchw, nhwc):
    """(N, 8, 4, 4) was read as 4 channels of 8x4 pixels, (N, 4, 4, 8) as 4 channels of 4x8, without a word."""
    path = _npz(tmp_path / "ms.npz", shape)
    with pytest.raises(UsageError, match=rf"ms.npz', array 'x': shape \({', '.join(map(str, shape))}\) holds "
                                         rf"{nchw} pixels \(NCHW\) or {nhwc} pixels \(NHWC\), and nasforge does not "
                                         r"guess: say which, in the NPZ file with an array layout='NCHW' or 'NHWC'"):
        load_dataset("npz", path, augment="none")


def test_a_layout_array_says_how_to_read_them_and_keeps_the_old_reading_at_hand(tmp_path):
    x = np.random.default_rng(0).random((40, 8, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "nchw.npz", x=x, y=np.arange(40) % 2, layout="NCHW")
    data = load_dataset("npz", tmp_path / "nchw.npz", augment="none")
    assert tuple(data.x_train.shape[1:]) == (8, 4, 4)
    np.savez(tmp_path / "nhwc.npz", x=x, y=np.arange(40) % 2, layout="NHWC")  # the reading before: same tensors
    assert tuple(load_dataset("npz", tmp_path / "nhwc.npz", augment="none").x_train.shape[1:]) == (4, 8, 4)
    y = np.arange(40) % 2
    assert tuple(from_arrays("t", (x, y), (x, y), (x, y), augment="none", layout="NCHW").x_train.shape[1:]) == \
        (8, 4, 4)
    np.savez(tmp_path / "bad.npz", x=x, y=np.arange(40) % 2, layout="chw")
    with pytest.raises(UsageError, match=r"bad.npz': array 'layout' must be 'NCHW' or 'NHWC', got 'chw'"):
        load_dataset("npz", tmp_path / "bad.npz")
    with pytest.raises(UsageError, match=r"layout must be 'NCHW' or 'NHWC', got 3"):
        from_arrays("t", (x, y), (x, y), (x, y), layout=3)


@pytest.mark.parametrize("shape, expected", [((20, 4, 4, 3), (3, 4, 4)), ((20, 3, 3, 3), (3, 3, 3)),
                                             ((20, 8, 16, 16), (8, 16, 16)), ((20, 32, 32, 4), (4, 32, 32)),
                                             ((20, 1, 1, 12), (1, 1, 12)), ((20, 12, 1, 1), (1, 12, 1))])
def test_shapes_that_loaded_before_load_as_they_did(shape, expected):
    x, y = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8), np.arange(20) % 2
    assert tuple(from_arrays("t", (x, y), (x, y), (x, y), augment="none").x_train.shape[1:]) == expected


@pytest.mark.parametrize("shape", [(60, 20, 1, 1), (60, 20, 1)])
def test_features_stored_as_one_pixel_wide_columns_warn_as_tabular(tmp_path, shape):
    """(N, F, 1, 1) and (N, F, 1) became (1, F, 1) columns, which crop_flip shifts up and down, without a word."""
    path = _npz(tmp_path / "feat.npz", shape)
    with pytest.warns(UserWarning, match=r"one-pixel-wide inputs \(1, 20, 1\) \(tabular features\?\): its default "
                                         r"augmentation crop_flip shifts them up and down; give augment='none'"):
        data = load_dataset("npz", path)
    shifted = augment_batch(data.x_train, "crop_flip", torch.Generator().manual_seed(0))
    assert not torch.equal(shifted, data.x_train)  # what the warning is about
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset("npz", path, augment="none")


def _classes(root: Path, names: tuple[str, ...] = ("a", "b"), per_class: int = 6) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in names:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (4, 4), dtype=np.uint8)).save(root / name / f"{i}.png")


def test_a_broken_link_as_a_class_folder_is_refused_naming_it(tmp_path):
    """The class 'bird' disappeared without a word."""
    _classes(tmp_path / "d")
    (tmp_path / "d" / "bird").symlink_to(tmp_path / "missing", target_is_directory=True)
    with pytest.raises(UsageError, match=r"holds a broken symbolic link '.*d/bird' \(its target is missing\)"):
        load_dataset("folder", tmp_path / "d")


def test_a_broken_link_as_the_validation_folder_is_refused_naming_it(tmp_path):
    """Validation was drawn from train/ instead of the user's val/, without a word."""
    _classes(tmp_path / "s" / "train")
    _classes(tmp_path / "s" / "test")
    (tmp_path / "s" / "val").symlink_to(tmp_path / "missing", target_is_directory=True)
    with pytest.raises(UsageError, match=r"holds a broken symbolic link '.*s/val' \(its target is missing\)"):
        load_dataset("folder", tmp_path / "s")


def test_id_like_labels_are_refused_at_once_naming_the_first_missing():
    """Labels {0, 1, 1733500000} listed every missing label: minutes, gigabytes, then a MemoryError."""
    x, y = np.zeros((30, 4, 4), dtype=np.uint8), np.array([0, 1, 2_000_000] * 10)
    tracemalloc.start()
    try:
        with pytest.raises(UsageError, match=r"labels reach 2000000 and the training split has none of 2, 3, 4, 5, "
                                             r"6, \.\.\. \(1999998 of 2000001 missing\)"):
            from_arrays("ids", (x, y), (x, y), (x, y))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # the old list of 2 million labels took about 70 MB
    start = time.perf_counter()
    with pytest.raises(UsageError, match=r"\(1733499998 of 1733500001 missing\)"):
        from_arrays("ids", (x, np.array([0, 1, 1_733_500_000] * 10)), (x, y), (x, y))
    assert time.perf_counter() - start < 1.0


def _bad_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[8:12] = (5).to_bytes(4, "big")  # an IHDR chunk of 5 bytes: Pillow's ValueError "Truncated IHDR chunk"
    return bytes(data)


@pytest.mark.parametrize("name, content", [("zz.png", _bad_png()),
                                           ("zz.pgm", b"P5\n4 4\n25n\n" + bytes(16))],  # ValueError: int() of 25n
                         ids=["png", "pgm"])
def test_images_pillow_refuses_with_a_value_error_are_named(tmp_path, name, content):
    """'Truncated IHDR chunk' and "invalid literal for int() ... b'25n'" came without the file (a ValueError)."""
    _classes(tmp_path / "d")
    (tmp_path / "d" / "a" / name).write_bytes(content)
    with pytest.raises(UsageError, match=rf"cannot read image '.*a/{name}': "):
        load_dataset("folder", tmp_path / "d")


def test_seed_advice_only_where_a_seed_can_give_every_class_a_training_image(tmp_path):
    """10 classes of one image each: the 70/10/20 split trains on 7, so no seed helps, yet one was advised."""
    _classes(tmp_path / "one", tuple("abcdefghij"), per_class=1)
    with pytest.raises(UsageError, match=r"without training images \(all drawn into validation or test\): its 7 "
                                         r"training images cannot hold all 10 classes whatever the seed: give more "
                                         r"images, or your own train/ and test/ \(and val/\) folders") as info:
        load_dataset("folder", tmp_path / "one")
    assert "seed (--seed)" not in str(info.value)
    np.savez(tmp_path / "rare.npz", x=np.random.default_rng(0).random((40, 4, 4)), y=np.r_[np.zeros(39, int), 1])
    for seed in range(40):  # a seed that draws the rare image into validation or test: another seed can help
        try:
            load_dataset("npz", tmp_path / "rare.npz", seed=seed)
        except UsageError as exc:
            assert str(exc).endswith("give that class more images, or pick another seed (--seed)")
            break
    else:
        pytest.fail("no seed left the rare class out")


def test_where_only_validation_is_drawn_its_own_split_is_advised(tmp_path):
    """It advised the train/ and test/ folders (or x_train and x_test) the source already held."""
    for split, per_class in (("train", 1), ("test", 2)):
        _classes(tmp_path / "f" / split, tuple("abcdefghij"), per_class=per_class)
    with pytest.raises(UsageError, match=r"cannot hold all 10 classes whatever the seed: give more images, or "
                                         r"your own val/ folder$"):
        load_dataset("folder", tmp_path / "f")
    x = np.random.default_rng(0).random((10, 4, 4))
    np.savez(tmp_path / "v.npz", x_train=x, y_train=np.arange(10), x_test=x, y_test=np.arange(10))
    with pytest.raises(UsageError, match=r"give more images, or your own x_val/y_val in the NPZ file$"):
        load_dataset("npz", tmp_path / "v.npz")
