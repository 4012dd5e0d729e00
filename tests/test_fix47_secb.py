"""Security review 47, items 3 and 4: a tiny CIFAR batch of shared nested lists is refused before it is converted
(it expanded into gigabytes), and an NPZ file's member names and declared sizes are checked before any member is
read (a huge declared shape was a MemoryError traceback, an unread extra member was decompressed in full)."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy

from nasforge.data import sources
from nasforge.data.sources import _read_cifar_batch, load_npz
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


def _member(shape: tuple[int, ...], dtype: str, data: bytes = b"") -> bytes:
    """A .npy member: a header declaring ``shape`` and ``dtype``, then ``data``."""
    out = io.BytesIO()
    npy.write_array_header_1_0(out, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
    return out.getvalue() + data


def _npz(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


Y = np.arange(20) % 2


def test_npz_member_declaring_a_huge_shape_is_refused_unread(tmp_path: Path) -> None:
    """Would fail without the fix: NumPy allocated the declared 10**12 bytes first (a MemoryError traceback)."""
    path = _npz(tmp_path / "huge.npz", {"x.npy": _member((10 ** 12,), "u1"), "y.npy": _member((2,), "<i8")})
    with pytest.raises(UsageError, match=r"huge.npz': member 'x.npy' declares a uint8 array of shape "
                                         r"\(1000000000000,\) \(1000000000000 bytes\) but holds only 0 bytes"):
        load_npz(path)


def test_npz_unknown_member_is_refused_before_any_member_is_read(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Would fail without the fix: every member was decompressed (a 3 MB file held 3 GiB of zeros) before the
    names were checked; here reading the junk member is a MemoryError traceback."""
    x = np.zeros((20, 8, 8), np.uint8)
    path = _npz(tmp_path / "bomb.npz", {"x.npy": _member(x.shape, "u1", x.tobytes()),
                                        "y.npy": _member(Y.shape, "<i8", Y.astype("<i8").tobytes()),
                                        "junk.npy": _member((10 ** 12,), "u1")}, zipfile.ZIP_DEFLATED)
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, name: object, *args: object, **kwargs: object) -> object:
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    with pytest.raises(UsageError, match=r"bomb.npz' holds array\(s\) \['junk'\] that nasforge does not read"):
        load_npz(path)
    assert opened == []


def test_npz_member_that_is_no_npy_array_is_refused(tmp_path: Path) -> None:
    """Would fail without the fix: NumPy gave the member's bytes, and reading them was an AttributeError."""
    path = _npz(tmp_path / "raw.npz", {"x": b"hello", "y.npy": _member((2,), "<i8", bytes(16))})
    with pytest.raises(UsageError, match=r"raw.npz': member 'x' is no .npy array"):
        load_npz(path)


def test_npz_out_of_memory_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Would fail without the fix: a MemoryError reading a member was a traceback."""
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((20, 8, 8), np.uint8), y=Y)

    def check(*args: object) -> None:
        raise MemoryError

    monkeypatch.setattr(sources, "_check_npz_member", check)
    with pytest.raises(UsageError, match=r"cannot read NPZ file .*d.npz': it asks for more memory than there is"):
        load_npz(path)


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_valid_npz_files_still_load(tmp_path: Path, save: object) -> None:
    rng = np.random.default_rng(0)
    save(tmp_path / "d.npz", x=rng.random((20, 1, 8, 8), np.float32), y=Y, x_test=rng.random((10, 1, 8, 8)),
         y_test=np.arange(10, dtype=np.uint8) % 2)
    arrays, stored = sources._read_npz(tmp_path / "d.npz", "d"), dict(np.load(tmp_path / "d.npz"))
    assert arrays.keys() == stored.keys()
    assert all(arrays[k].dtype == stored[k].dtype and np.array_equal(arrays[k], stored[k]) for k in stored)
    data = load_npz(tmp_path / "d.npz", val_fraction=0.25)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (15, 5, 10)


def test_npz_member_with_bytes_after_its_data_still_loads(tmp_path: Path) -> None:
    """Only a member declaring more bytes than it holds is refused; trailing bytes are ignored, as before."""
    x = np.random.default_rng(0).integers(0, 256, (20, 8, 8), dtype=np.uint8)
    path = _npz(tmp_path / "t.npz", {"x.npy": _member(x.shape, "u1", x.tobytes() + b"extra"),
                                     "y.npy": _member(Y.shape, "<i8", Y.astype("<i8").tobytes())})
    assert np.array_equal(sources._read_npz(path, "t")["x"], x)
    assert load_npz(path, val_fraction=0.2, test_fraction=0.2).num_classes == 2
