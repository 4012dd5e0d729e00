"""Data checks of fix47: CIFAR batches with an empty test batch, classes no training batch holds, labels out of
range (named by file), and load_dataset("digits") with a data_dir."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from nasforge.data import load_dataset
from nasforge.exceptions import UsageError

TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


def _cifar10(parent: Path, rows: int = 20, binary: bool = False, **labels: list[int]) -> Path:
    """A tiny CIFAR-10 in ``parent`` (python or binary version): ``rows`` images per batch, labels 0..9 in
    turn unless ``labels`` gives a batch's own (by file name, without ``.bin``)."""
    folder = parent / ("cifar-10-batches-bin" if binary else "cifar-10-batches-py")
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [*TRAIN, "test_batch"]:
        y = labels.get(name, [i % 10 for i in range(rows)])
        x = rng.integers(0, 256, (len(y), 3072), dtype=np.uint8)
        if binary:
            records = np.concatenate([np.asarray(y, dtype=np.uint8)[:, None], x], axis=1)
            (folder / f"{name}.bin").write_bytes(records.tobytes())
        else:
            (folder / name).write_bytes(pickle.dumps({b"data": x, b"labels": list(y)}, protocol=2))
    return folder


@pytest.mark.parametrize("binary", [False, True])
def test_valid_cifar_still_loads(tmp_path: Path, binary: bool) -> None:
    _cifar10(tmp_path, binary=binary)
    data = load_dataset("cifar10", tmp_path)
    assert (len(data.y_train), len(data.y_val), len(data.y_test), data.num_classes) == (90, 10, 20, 10)


def test_an_empty_test_batch_is_refused_naming_it(tmp_path: Path) -> None:
    """Would fail without the fix: the data set loaded with test=0 and the run reported test accuracy NaN."""
    _cifar10(tmp_path, test_batch=[])
    with pytest.raises(UsageError, match=r"test_batch': the test batch holds no images"):
        load_dataset("cifar10", tmp_path)


def test_an_empty_training_batch_among_several_still_loads(tmp_path: Path) -> None:
    """The other batches fill the training split (as fix44's protocol-2 test has it)."""
    _cifar10(tmp_path, data_batch_5=[])
    assert len(load_dataset("cifar10", tmp_path).y_test) == 20


@pytest.mark.parametrize("binary", [False, True])
def test_a_class_no_training_batch_holds_is_warned(tmp_path: Path, binary: bool) -> None:
    """Would fail without the fix: class 9, in the test batch only, was accepted without a word and never learned
    (warned, not refused: runs stored on such data still load)."""
    no_nine = [i % 9 for i in range(20)]
    _cifar10(tmp_path, binary=binary, **{name: no_nine for name in TRAIN})
    with pytest.warns(UserWarning, match=r"test_batch(\.bin)?': the test batch holds class 9 \('truck'\) that no "
                                         r"training batch \(data_batch_1(\.bin)?, .*\) holds.*loaded as it is"):
        data = load_dataset("cifar10", tmp_path)
    assert data.num_classes == 10 and 9 not in data.y_train.tolist()


def test_a_rare_class_drawn_into_validation_is_warned(tmp_path: Path) -> None:
    """Would fail without the fix: the one 'truck' image went to the validation split, none to training."""
    rare = [i % 9 for i in range(20)]
    _cifar10(tmp_path, data_batch_1=[*rare[:-1], 9], **{name: rare for name in TRAIN[1:]})
    seed = next(s for s in range(50) if _drawn_out(s))
    with pytest.warns(UserWarning, match=rf"'cifar10': the random split \(seed {seed}\) left class 'truck' "
                                         r"\(1 image\) without training images"):
        load_dataset("cifar10", tmp_path, seed=seed)


def _drawn_out(seed: int) -> bool:
    """Whether ``seed``'s validation draw takes the one image of class 9 (image 19 of 100)."""
    from nasforge.data.dataset import split_indices

    return 19 in split_indices(100, 0.1, 0.0, seed)[1]


@pytest.mark.parametrize(("binary", "labels", "found"), [(False, [10] * 20, 10), (False, [-1] + [1] * 19, -1),
                                                         (True, [12] + [1] * 19, 12)])
def test_a_label_out_of_range_is_refused_naming_its_file(tmp_path: Path, binary: bool, labels: list[int],
                                                         found: int) -> None:
    """Would fail without the fix: 'data set 'cifar10': labels must lie in [0, 10), found up to 10' (no file), or
    'val labels must be >= 0' (a split the user never made)."""
    _cifar10(tmp_path, binary=binary, data_batch_3=labels)
    with pytest.raises(UsageError, match=rf"data_batch_3(\.bin)?': labels must lie in 0\.\.9 \(CIFAR-10\), "
                                         rf"found {found}$"):
        load_dataset("cifar10", tmp_path)


def test_a_data_dir_for_digits_is_refused(tmp_path: Path) -> None:
    """Would fail without the fix: the digits loaded and the folder was ignored."""
    with pytest.raises(UsageError, match=r"^data_dir .* applies to data read from files, not digits \(built in\)$"):
        load_dataset("digits", tmp_path / "cifar")
    assert load_dataset("digits", "").name == "digits"  # empty: not given, as before
