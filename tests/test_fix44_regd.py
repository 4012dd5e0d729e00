"""Regression review 44 (data): a CIFAR supernet trained with a large val fraction is usable by nasforge search,
gray GIFs, hard and symbolic links and the split messages read as before review 44 where stored data depends on it."""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from nasforge.data import load_dataset
from nasforge.exceptions import UsageError


def _cifar10(folder: Path, rows: int = 20) -> None:
    """A tiny python-version CIFAR-10 in ``folder/cifar-10-batches-py``: ``rows`` images per batch."""
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (rows, 3072), dtype=np.uint8), b"labels": list(range(10)) * (rows // 10)}
        (batches / name).write_bytes(pickle.dumps(batch, protocol=4))


def test_training_evaluator_counts_cifar_test_fraction_as_held_by_its_test_batch(tmp_path: Path) -> None:
    from nasforge.evaluators.training import TrainingEvaluator

    _cifar10(tmp_path / "c10", rows=200)  # 0.1 of them, 100, train on every class
    evaluator = TrainingEvaluator("cifar10", tmp_path / "c10", data_options={"val_fraction": 0.9})
    assert len(evaluator.dataset().y_val) == 900  # 0.9 of the 1,000 training images; the test batch is its own
    with pytest.raises(UsageError, match=r"data_options val_fraction 0.9 \+ data_options test_fraction 0.1 must be"):
        TrainingEvaluator("digits", data_options={"val_fraction": 0.9})


def test_search_scores_a_cifar_supernet_trained_with_val_fraction_0_9(tmp_path: Path) -> None:
    from nasforge.cli import main

    _cifar10(tmp_path / "c10", rows=200)  # 0.1 of them, 100, train on every class
    assert main(["oneshot", "train", "--data", "cifar10", "--data-dir", str(tmp_path / "c10"), "--val-fraction",
                 "0.9", "--epochs", "1", "--C", "2", "--N", "1", "--batch-size", "64", "--out",
                 str(tmp_path / "net")]) == 0
    assert main(["search", "--evaluator", "supernet", "--supernet", str(tmp_path / "net"), "--trials", "2",
                 "--retrain", "0", "--no-progress", "--out", str(tmp_path / "run")]) == 0


def _classes(root: Path, per_class: int = 10) -> None:
    """Class folders a/ and b/ of random 8x8 RGB PNGs."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(root / name / f"{i:02d}.png")


def _count(root: Path, split_layout: bool = False) -> int:
    """How many images image folder ``root`` loads (in the class layout no split drawn; warnings ignored)."""
    fractions = {} if split_layout else {"val_fraction": 0.0, "test_fraction": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_dataset("folder", root, **fractions)
    return len(data.y_train) + len(data.y_val) + len(data.y_test)


def test_hard_links_are_separate_files_as_copies_are(tmp_path: Path) -> None:
    same, cross, split = tmp_path / "same", tmp_path / "cross", tmp_path / "split"
    for root in (same, cross):
        _classes(root)
    os.link(same / "a" / "00.png", same / "a" / "zz_dup.png")  # as rdfind -makehardlinks or jdupes -L leave them
    os.link(cross / "a" / "00.png", cross / "b" / "zz_dup.png")
    _classes(split / "train")
    _classes(split / "test", per_class=2)
    os.link(split / "train" / "a" / "00.png", split / "test" / "a" / "zz_dup.png")
    assert (_count(same), _count(cross), _count(split, split_layout=True)) == (21, 21, 25)


def test_a_file_symlinked_twice_into_one_class_is_read_twice_as_before(tmp_path: Path) -> None:
    _classes(tmp_path / "imgs")
    (tmp_path / "imgs" / "a" / "zz_dup.png").symlink_to("00.png")
    assert _count(tmp_path / "imgs") == 21


def test_a_file_symlinked_into_another_class_is_refused_naming_both(tmp_path: Path) -> None:
    _classes(tmp_path / "imgs")
    (tmp_path / "imgs" / "b" / "zz_dup.png").symlink_to("../a/00.png")
    with pytest.raises(UsageError, match=r"'.*/b/zz_dup.png' and '.*/a/00.png' are the same file \(through a symbolic "
                                         r"link\), so it would be read in both class 'a' and class 'b'"):
        _count(tmp_path / "imgs")


def test_a_validation_split_linked_to_the_test_split_names_those_two_splits(tmp_path: Path) -> None:
    _classes(tmp_path / "imgs" / "train")
    _classes(tmp_path / "imgs" / "test", per_class=2)
    (tmp_path / "imgs" / "val").symlink_to("test", target_is_directory=True)
    with pytest.raises(UsageError, match=r"split folders val/ and test/ \(the same images in validation and testing\)"):
        _count(tmp_path / "imgs", split_layout=True)


def test_too_few_images_for_a_drawn_validation_split_ask_for_more_images_or_a_larger_fraction(tmp_path: Path) -> None:
    _classes(tmp_path / "few" / "train", per_class=1)
    _classes(tmp_path / "few" / "test", per_class=1)
    with pytest.raises(UsageError, match=r"few': 2 images are too few to split with val_fraction 0.1 \(rounded, 0.1 "
                                         r"of 2 images is 0 validation images\): a split would be empty; give more "
                                         r"images, or a larger validation fraction \(val_fraction in Python; "
                                         r"--val-fraction of oneshot train\)$"):
        load_dataset("folder", tmp_path / "few")  # the test fraction, 0 for the folder's test/, is not named
    with pytest.raises(UsageError, match=r"3 images are too few to split with val_fraction 0.5 and test_fraction 0.3 "
                                         r"\(2 validation and 1 test images leave none to train on\): a split would "
                                         r"be empty; give more images, or smaller fractions \(val_fraction and "
                                         r"test_fraction in Python; --val-fraction of oneshot train\)$"):
        load_dataset("npz", _npz(tmp_path / "three.npz", 3), val_fraction=0.5, test_fraction=0.3)


def _npz(path: Path, n: int) -> Path:
    np.savez(path, x=np.zeros((n, 4, 4), np.uint8), y=np.arange(n) % 2)
    return path
