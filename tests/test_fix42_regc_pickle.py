"""Review 42 c, item 1: the CIFAR unpickler builds only plain numeric arrays and scalars, whatever dtype a file
asks for (a crafted object dtype with its flags cleared used to crash the process)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasforge.data.sources import _read_cifar_batch

X = np.zeros((2, 3072), np.uint8)

_LOAD = """
import sys
from pathlib import Path
from nasforge.data.sources import _read_cifar_batch
from nasforge.exceptions import UsageError
try:
    _read_cifar_batch(Path(sys.argv[1]), b"labels")
except UsageError as exc:
    print("REFUSED", exc)
else:
    print("LOADED")
"""


def _crafted(labels: object, protocol: int) -> bytes:
    """A batch whose labels' int64 dtype is turned into an object dtype (its pickled flags then clear hasobject)."""
    payload = pickle.dumps({b"data": X, b"labels": labels}, protocol=protocol).replace(b"i8", b"O8")
    assert b"O8" in payload
    return payload


@pytest.mark.parametrize("labels, protocol", [([np.int64(5), np.int64(6)], 2),  # numpy scalar()
                                              (np.array([5, 6], dtype="i8"), 2),  # _reconstruct + __setstate__
                                              (np.array([5, 6], dtype="i8"), 5)],  # _frombuffer
                         ids=["scalar", "array2", "array5"])
def test_object_dtype_with_cleared_flags_is_refused(tmp_path: Path, labels: object, protocol: int) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(_crafted(labels, protocol))
    src = str(Path(__file__).resolve().parents[1] / "src")
    run = subprocess.run([sys.executable, "-c", _LOAD, str(path)], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr[-500:]  # a segfault is -11
    assert run.stdout.startswith("REFUSED") and "only plain numbers" in run.stdout


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
