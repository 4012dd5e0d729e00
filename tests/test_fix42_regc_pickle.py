"""Review 42 c, item 1: the CIFAR unpickler builds only plain numeric arrays and scalars, whatever dtype a file
asks for (a crafted object dtype with its flags cleared used to crash the process)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from nasforge.data.sources import _read_cifar_batch

X = np.zeros((2, 3072), np.uint8)

def _crafted(labels: object, protocol: int) -> bytes:
    """A batch whose labels' int64 dtype is turned into an object dtype (its pickled flags then clear hasobject)."""
    payload = pickle.dumps({b"data": X, b"labels": labels}, protocol=protocol).replace(b"i8", b"O8")
    assert b"O8" in payload
    return payload


CRAFTED = {"scalar": ([np.int64(5), np.int64(6)], 2),  # numpy scalar()
           "array2": (np.array([5, 6], dtype="i8"), 2),  # _reconstruct + __setstate__
           "array5": (np.array([5, 6], dtype="i8"), 5)}  # _frombuffer


@pytest.fixture(scope="module")
def crafted_reads(tmp_path_factory: pytest.TempPathFactory, read_cifar_batches_in_a_child) -> dict[str, str]:
    """What one child process said reading each CRAFTED batch file, by case."""
    paths = {}
    for case, (labels, protocol) in CRAFTED.items():
        paths[case] = tmp_path_factory.mktemp(case) / "data_batch_1"
        paths[case].write_bytes(_crafted(labels, protocol))
    said = read_cifar_batches_in_a_child(list(paths.values()))
    return {case: said[str(path)] for case, path in paths.items()}


@pytest.mark.parametrize("case", CRAFTED)
def test_object_dtype_with_cleared_flags_is_refused(crafted_reads: dict[str, str], case: str) -> None:
    said = crafted_reads[case]  # CRASHED (exit -11): a segfault
    assert said.startswith("REFUSED") and "only plain numbers" in said, said


def test_ndarray_called_directly_is_refused(tmp_path: Path) -> None:
    class Direct:  # pickles as numpy.ndarray((2,), dtype): memory not read from the file
        def __reduce__(self) -> tuple:
            return np.ndarray, ((2,), np.dtype("i8"))

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": X, b"labels": Direct()}, protocol=2))
    from nasforge.exceptions import UsageError

    with pytest.raises(UsageError, match="refusing to call numpy.ndarray"):
        _read_cifar_batch(path, b"labels")


@pytest.mark.parametrize("protocol", [2, 5])
@pytest.mark.parametrize("labels", [np.array([3, 4], dtype=">i4"), np.array([3, 4], dtype="u1"),
                                    np.array([3, 4], dtype="<i8"), [np.int32(3), np.uint8(4)]])
def test_plain_numbers_still_load(tmp_path: Path, labels: object, protocol: int) -> None:
    path = tmp_path / "data_batch_1"
    data = np.arange(2 * 3072).reshape(2, 3072) % 256
    path.write_bytes(pickle.dumps({b"data": data.astype(np.uint8), b"labels": labels}, protocol=protocol))
    images, read = _read_cifar_batch(path, b"labels")
    assert type(images) is np.ndarray and np.array_equal(images.reshape(2, -1), data)
    assert read.tolist() == [int(v) for v in labels]
