"""Security review 47, item 3: a tiny CIFAR batch of shared nested lists is refused before it is converted (it
expanded into gigabytes)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from nasforge.data import sources
from nasforge.data.sources import _read_cifar_batch
from nasforge.exceptions import UsageError

X = np.zeros((2, 3072), np.uint8)


def _shared(width: int, depth: int) -> list:
    """``depth`` levels of lists of ``width`` items, each level ``width`` references to one list of the next."""
    nested: list = [0] * width
    for _ in range(depth - 1):
        nested = [nested] * width
    return nested


def _batch(tmp_path: Path, data: object, labels: object) -> Path:
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": data, b"labels": labels}, protocol=2))
    return path


def test_cifar_data_of_nested_lists_is_refused_before_converting(tmp_path: Path) -> None:
    """Would fail without the fix: np.asarray expanded the lists (here only 4**3 numbers; a 1.1 KB file of width
    100 and depth 5 asked for 74.5 GiB after 200 s) and then said "expected data of shape (N, 3072)"."""
    with pytest.raises(UsageError, match=r"data_batch_1' is not a CIFAR python batch: its data is a list, not a "
                                         r"NumPy array"):
        _read_cifar_batch(_batch(tmp_path, _shared(4, 3), [0, 1, 2, 3]), b"labels")


@pytest.mark.parametrize(("labels", "says"), [(_shared(2, 3), "its labels are a list holding a list"),
                                              ({b"a": 1, b"b": 2}, "its labels are a dict")])
def test_cifar_labels_must_be_a_flat_list_or_an_array(tmp_path: Path, labels: object, says: str) -> None:
    """Would fail without the fix: nested labels were converted first and refused by shape, a dict by len()."""
    with pytest.raises(UsageError, match=f"data_batch_1' is not a CIFAR python batch: {says}"):
        _read_cifar_batch(_batch(tmp_path, X, labels), b"labels")


@pytest.mark.parametrize("labels", [[3, 4], (3, 4), [np.int64(3), np.uint8(4)], np.array([3, 4], dtype="u1")])
@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_real_cifar_batches_still_load(tmp_path: Path, labels: object, protocol: int) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({"data": X + 7, "labels": labels, "filenames": ["a.png", "b.png"]},
                                  protocol=protocol))
    images, read = _read_cifar_batch(path, b"labels")
    assert images.shape == (2, 3, 32, 32) and (images == 7).all() and read.tolist() == [3, 4]


def test_cifar_labels_of_two_dimensions_are_refused_naming_the_file(tmp_path: Path) -> None:
    """Would fail without the fix: refused later, when the splits were built, without naming the file."""
    with pytest.raises(UsageError, match=r"data_batch_1': expected data of shape \(N, 3072\) and N labels, got "
                                         r"\(2, 3072\) and \(2, 1\)"):
        _read_cifar_batch(_batch(tmp_path, X, np.array([[3], [4]])), b"labels")


def test_cifar_labels_out_of_memory_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Would fail without the fix: a MemoryError converting the labels was a traceback."""
    path = _batch(tmp_path, X, [3, 4])

    def asarray(value: object, *args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(sources.np, "asarray", asarray)
    with pytest.raises(UsageError, match="data_batch_1' is not a CIFAR python batch: it asks for more memory"):
        _read_cifar_batch(path, b"labels")
