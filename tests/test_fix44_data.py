"""Review 44 (data loading): folder layouts, links, file names, CIFAR edge cases, memory and messages."""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from nasforge.data import from_arrays, load_dataset
from nasforge.data.sources import _folder_files, files_stamp
from nasforge.exceptions import UsageError


def _png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _classes(root: Path, height: int = 8, width: int = 8, per_class: int = 10) -> dict[str, list[np.ndarray]]:
    """Class folders a/ and b/ of RGB PNGs; the pixels of each, by class, in file order."""
    rng, written = np.random.default_rng(0), {}
    for name in ("a", "b"):
        written[name] = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(per_class)]
        for i, pixels in enumerate(written[name]):
            _png(root / name / f"{i}.png", pixels)
    return written


@pytest.mark.parametrize("height", [1, 2, 3, 4])
def test_rgb_images_of_any_height_keep_their_pixels(tmp_path: Path, height: int) -> None:
    written = _classes(tmp_path / "imgs", height=height, width=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one pixel high: the tabular warning, rightly
        data = load_dataset("folder", tmp_path / "imgs", val_fraction=0.0, test_fraction=0.0)
    assert tuple(data.x_train.shape[1:]) == (3, height, 5)
    raw = (data.x_train * data.x_train.new_tensor(data.std).view(1, 3, 1, 1)
           + data.x_train.new_tensor(data.mean).view(1, 3, 1, 1)) / data.scale
    expected = np.stack([p.transpose(2, 0, 1) for name in ("a", "b") for p in written[name]])
    found = {tuple(np.rint(x.numpy()).astype(int).ravel()) for x in raw}
    assert found == {tuple(x.astype(int).ravel()) for x in expected}


def test_one_by_one_rgb_images_are_no_tabular_features(tmp_path: Path) -> None:
    _classes(tmp_path / "imgs", height=1, width=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_dataset("folder", tmp_path / "imgs")
    assert tuple(data.x_train.shape[1:]) == (3, 1, 1)


def _link(link: Path, target: str) -> None:
    link.symlink_to(target, target_is_directory=True)


def test_a_file_linked_into_two_classes_is_refused_naming_both(tmp_path: Path) -> None:
    root = tmp_path / "cross"
    _classes(root)
    _link(root / "a" / "more", "../b")
    with pytest.raises(UsageError, match=r"'.*/b/0.png' and '.*/a/more/0.png' are the same file .* both class 'a' "
                                         r"and class 'b'"):
        load_dataset("folder", root)


def test_a_class_folder_linked_to_another_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "same"
    _classes(root)
    _link(root / "a2", "a")
    with pytest.raises(UsageError, match="both class 'a' and class 'a2'"):
        load_dataset("folder", root)


def test_a_test_split_linked_to_the_training_split_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "leak"
    _classes(root / "train")
    _link(root / "test", "train")
    with pytest.raises(UsageError, match=r"split folders train/ and test/ \(the same images in training and testing"):
        load_dataset("folder", root)


def test_links_within_one_class_read_each_folder_once_and_a_linked_file_as_a_copy(tmp_path: Path) -> None:
    root = tmp_path / "once"
    _classes(root)
    _link(root / "a" / "latest", ".")  # a loop: refused as before
    with pytest.raises(UsageError, match="link loop"):
        load_dataset("folder", root)
    (root / "a" / "latest").unlink()
    (root / "a" / "2024").mkdir()
    for i in range(3):
        os.replace(root / "a" / f"{i}.png", root / "a" / "2024" / f"{i}.png")
    _link(root / "a" / "latest", "2024")  # a link to a folder already read: skipped
    (root / "a" / "copy.png").symlink_to(root / "a" / "3.png")  # a second name of one file: read as a copy is
    data = load_dataset("folder", root, val_fraction=0.0, test_fraction=0.0)
    assert len(data.y_train) == 21


def test_non_utf8_names_get_a_stamp_and_utf8_stamps_are_unchanged(tmp_path: Path) -> None:
    utf8 = tmp_path / "utf8"
    _classes(utf8)
    (utf8 / "a" / "0.png").rename(utf8 / "a" / "été.png")
    digest = hashlib.sha1()  # the stamp as stored before non-UTF-8 names were read: strict UTF-8
    for file in _folder_files(utf8):
        try:
            st = os.stat(file)
        except (OSError, ValueError):
            digest.update(f"{file}\n".encode())
            continue
        digest.update(f"{file}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
    assert files_stamp("folder", utf8) == digest.hexdigest()
    latin = tmp_path / "latin"
    _classes(latin)
    try:
        os.rename(os.fsencode(latin / "a"), os.fsencode(latin) + b"/caf\xe9")
        os.rename(os.fsencode(latin / "b" / "0.png"), os.fsencode(latin / "b") + b"/\xe9t\xe9.png")
    except OSError:
        pytest.skip("this file system takes UTF-8 names only")
    stamp = files_stamp("folder", latin)
    assert stamp is not None and stamp != files_stamp("folder", utf8)
    assert len(load_dataset("folder", latin, val_fraction=0.0, test_fraction=0.0).y_train) == 20


def _cifar_batches(folder: Path, batch_label: bytes = b"", rows: int = 20, protocol: int = 2,
                   labels: object = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        n = 0 if name == "data_batch_5" else rows
        batch = {b"batch_label": batch_label, b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": [i % 10 for i in range(n)] if labels is None or name != "data_batch_1" else labels}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=protocol))


def test_protocol_2_cifar_batches_with_empty_bytes_and_no_rows_load(tmp_path: Path) -> None:
    _cifar_batches(tmp_path / "cifar-10-batches-py")  # b"" and a (0, 3072) array: bytes() in protocol 2
    assert b"__builtin__\nbytes" in (tmp_path / "cifar-10-batches-py" / "data_batch_5").read_bytes()
    data = load_dataset("cifar10", tmp_path)
    assert len(data.y_train) + len(data.y_val) == 80


class _BigBytes:
    def __reduce__(self) -> tuple:
        return bytes, (10**6,)


def test_only_empty_bytes_are_built_by_a_cifar_pickle(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    _cifar_batches(folder)
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": _BigBytes(), b"labels": []}, protocol=2))
    with pytest.raises(UsageError, match=r"refusing bytes\(int\): only empty bytes"):
        load_dataset("cifar10", tmp_path)


@pytest.mark.parametrize(("labels", "dtype"), [([5.5, 2.5] * 10, "float64"), ([1.0, 2.0] * 10, "float64"),
                                               ([True, False] * 10, "bool")])
def test_cifar_labels_must_be_integers(tmp_path: Path, labels: list, dtype: str) -> None:
    _cifar_batches(tmp_path / "cifar-10-batches-py", labels=labels, protocol=4)
    with pytest.raises(UsageError, match=f"data_batch_1' is not a CIFAR python batch: labels must be integers, got "
                                         f"dtype {dtype}"):
        load_dataset("cifar10", tmp_path)


@pytest.mark.parametrize(("text", "problem"), [("caf\xe9\n".encode("latin-1") * 100, "is no UTF-8 text"),
                                               (b"name\n" * 99, "holds 99 class names")])
def test_an_unusable_binary_cifar100_names_file_warns_naming_it(tmp_path: Path, text: bytes, problem: str) -> None:
    folder = tmp_path / "cifar-100-binary"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("train.bin", "test.bin"):
        records = rng.integers(0, 256, (200, 2 + 3072), dtype=np.uint8)
        records[:, 1] = np.arange(200) % 100  # two of each class: one drawn to validate leaves one to train
        records.tofile(folder / name)
    (folder / "fine_label_names.txt").write_bytes(text)
    with pytest.warns(UserWarning, match=f"fine_label_names.txt': it {problem}.*named by their labels 0..99"):
        data = load_dataset("cifar100", tmp_path, val_fraction=0.01)
    assert data.class_names is None and data.num_classes == 100


def test_data_fingerprint_value_is_pinned_and_chunk_free() -> None:
    from nasforge.oneshot import checkpoint

    rng = np.random.default_rng(7)
    x, y = rng.integers(0, 256, (30, 3, 5, 4), dtype=np.uint8), np.arange(30) % 3
    arrays = (x[:20], y[:20]), (x[20:25], y[20:25]), (x[25:], y[25:])
    assert checkpoint.data_fingerprint(from_arrays("pin8", *arrays)) == "b403ca389c3e3e71e5256895fbdcb77bf6a4b5b1"
    assert checkpoint.data_fingerprint(from_arrays("pin8", *arrays), chunk=7) == \
        "b403ca389c3e3e71e5256895fbdcb77bf6a4b5b1"


def test_from_arrays_leaves_float32_images_untouched() -> None:
    x = np.random.default_rng(0).normal(size=(10, 1, 4, 4)).astype(np.float32)
    before = x.copy()
    from_arrays("f", (x, np.arange(10) % 2), (x[:2], np.arange(2)), (x[:2], np.arange(2)))
    assert np.array_equal(x, before)


def test_cifar_val_fraction_is_checked_without_the_test_fraction_it_drops(tmp_path: Path) -> None:
    from nasforge.cli import main
    from nasforge.oneshot.checks import check_data_record, check_split_options

    with pytest.raises(UsageError, match=r"val_fraction 0.9 \+ test_fraction 0.1 must be < 1"):
        check_split_options({"val_fraction": 0.9})
    check_split_options({"val_fraction": 0.9}, data="cifar10")
    check_data_record({"data": "cifar100", "data_options": {"data_dir": "/gone", "val_fraction": 0.95}})
    _cifar_batches(tmp_path / "c10" / "cifar-10-batches-py", rows=200, protocol=4)  # 0.1 of them: every class
    argv = ["oneshot", "train", "--data", "cifar10", "--data-dir", str(tmp_path / "c10"), "--val-fraction", "0.9",
            "--epochs", "1", "--C", "2", "--batch-size", "64", "--out", str(tmp_path / "net")]
    assert main(argv) == 0


def test_nan_fractions_are_refused_plainly() -> None:
    with pytest.raises(UsageError, match="need val_fraction, test_fraction >= 0 with sum < 1, got nan, 0.2"):
        load_dataset("digits", val_fraction=math.nan)


def test_too_few_images_name_the_file_and_the_fraction_that_rounds_to_no_image(tmp_path: Path) -> None:
    path = tmp_path / "tiny.npz"
    np.savez(path, x=np.zeros((4, 4, 4), np.uint8), y=np.array([0, 1, 0, 1]))
    with pytest.raises(UsageError, match=r"NPZ file '.*tiny.npz': 4 images are too few to split with val_fraction "
                                         r"0.1 and test_fraction 0.2 \(rounded, 0.1 of 4 images is 0 validation "
                                         r"images\): a split would be empty; give more images, or a larger "
                                         r"validation fraction \(val_fraction in Python; --val-fraction of oneshot "
                                         r"train\)$"):
        load_dataset("npz", path)


def test_gray_palette_gifs_load_as_rgb_as_they_always_did(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / "gif" / name).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(rng.integers(0, 256, (6, 6), dtype=np.uint8)).convert("P").save(
                tmp_path / "gif" / name / f"{i}.gif")
    assert Image.open(tmp_path / "gif" / "a" / "0.gif").mode == "P"
    data = load_dataset("folder", tmp_path / "gif")
    assert data.in_channels == 3  # a palette image counts as color (stored studies and supernets keep their data)
    raw = np.rint((data.x_train * data.x_train.new_tensor(data.std).view(1, 3, 1, 1)
                   + data.x_train.new_tensor(data.mean).view(1, 3, 1, 1)).numpy() / data.scale)
    assert np.array_equal(raw[:, 0], raw[:, 1]) and np.array_equal(raw[:, 0], raw[:, 2])  # gray in every channel
