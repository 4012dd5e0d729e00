"""Review 42 h: CIFAR files with text arrays or surrogate keys load again, crafted pickles are refused cleanly (no
crash, no internal names), the tabular warning survives the shared data cache, scale 0 and loose images."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from nasforge.data.sources import _cifar100_class_names, _read_cifar_batch, files_stamp
from nasforge.evaluators import TrainingEvaluator, training
from nasforge.exceptions import UsageError

X = np.zeros((2, 3072), np.uint8)
Y = [3, 4]


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "_DATA_CACHE", {})


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("names", [np.array(["a.png", "bb.png"]), np.array([b"a.png", b"bb.png"])], ids=["U", "S"])
def test_batch_with_text_array_loads(tmp_path: Path, protocol: int, names: np.ndarray) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": X, b"labels": Y, b"filenames": names,
                                   b"label": np.str_("x")}, protocol=protocol))
    x, y = _read_cifar_batch(path, b"labels")
    assert x.shape == (2, 3, 32, 32) and y.tolist() == Y


@pytest.mark.parametrize("key, value", [(b"labels", np.array(["3", "4"])), (b"data", np.full((2, 3072), "1"))])
def test_text_data_or_labels_are_still_refused(tmp_path: Path, key: bytes, value: np.ndarray) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": X, b"labels": Y, key: value}, protocol=2))
    with pytest.raises(UsageError, match="data_batch_1"):
        _read_cifar_batch(path, b"labels")


def test_meta_with_text_array_keeps_its_class_names(tmp_path: Path) -> None:
    path = tmp_path / "meta"
    names = [f"c{i}" for i in range(100)]
    path.write_bytes(pickle.dumps({"fine_label_names": names, "coarse_label_names": np.array(["x", "yy"])}))
    assert _cifar100_class_names(path) == names


@pytest.mark.parametrize("keys", [{"\udc80": 1}, {}], ids=["extra", "only"])
def test_lone_surrogate_key_is_no_crash(tmp_path: Path, keys: dict) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({**({"data": X, "labels": Y} if keys else {"\udc80": 1}), **keys}, protocol=2))
    if keys:
        assert _read_cifar_batch(path, b"labels")[1].tolist() == Y
    else:
        with pytest.raises(UsageError, match="no entry b'data'"):
            _read_cifar_batch(path, b"labels")


_DTYPE = b"cnumpy\ndtype\n"
_DATA = pickle.dumps(X, protocol=2)


def _batch(value: bytes) -> bytes:
    """A protocol-2 pickle of {b"data": X, b"labels": <value>} (``value``: raw pickle opcodes)."""
    return b"\x80\x02}q\x00(C\x04data" + _DATA[2:-1] + b"C\x06labels" + value + b"u."


CRAFTED = [
    (_DTYPE + b"X\x02\x00\x00\x00M8K\x00K\x01\x87R(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb",
     "numpy.dtype('M8')"),  # NumPy's own BUILD crashes on this state (SIGSEGV)
    (_DTYPE + b"X\x02\x00\x00\x00u1K\x00K\x01\x87R(K\x03X\x01\x00\x00\x00|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb",
     "not the state of a plain number"),  # object flags on uint8
    (b"\x8e" + (2 ** 62).to_bytes(8, "little"), "more memory"),  # BINBYTES8 of 2**62 bytes: MemoryError
    (_DTYPE + b"(]tR", "numpy.dtype([], align=False)"),  # a list: a structured dtype, nested at will
    (b"cnumpy\nndarray\n)\x81", "refusing to call numpy.ndarray"),  # NEWOBJ
    (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01O\x87R", "_reconstruct(numpy.ndarray"),
]


@pytest.fixture(scope="module")
def crafted_reads(tmp_path_factory: pytest.TempPathFactory, read_cifar_batches_in_a_child) -> tuple[Path, dict]:
    """The folder of the CRAFTED batch files (``<i>/data_batch_1``) and what one child process said reading each."""
    folder = tmp_path_factory.mktemp("crafted")
    paths = []
    for i, (value, _) in enumerate(CRAFTED):
        (folder / str(i)).mkdir()
        paths.append(folder / str(i) / "data_batch_1")
        paths[-1].write_bytes(_batch(value))
    return folder, read_cifar_batches_in_a_child(paths)


@pytest.mark.parametrize("value, says", CRAFTED)
def test_crafted_pickles_are_refused_cleanly(crafted_reads: tuple[Path, dict], value: bytes, says: str) -> None:
    folder, reads = crafted_reads
    path = folder / str([v for v, _ in CRAFTED].index(value)) / "data_batch_1"
    said = reads[str(path)]  # CRASHED (exit -11): a segfault
    assert said.startswith("REFUSED") and str(path) in said and says in said, said
    assert "nasforge" not in said.replace(str(folder), "") and "_Pickled" not in said


@pytest.mark.parametrize("error", [MemoryError, RecursionError, OverflowError])
def test_exhausting_pickle_is_refused_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      error: type[Exception]) -> None:
    from nasforge.data import sources

    def load(self: object) -> None:
        raise error("x")

    monkeypatch.setattr(sources._ArrayUnpickler, "load", load)
    readers = [(tmp_path / "data_batch_1", lambda p: _read_cifar_batch(p, b"labels"))]
    if error is not OverflowError:  # a meta file's OverflowError is a warning, as before (its names are optional)
        readers.append((tmp_path / "meta", _cifar100_class_names))
    for path, read in readers:
        path.write_bytes(b"x")
        with pytest.raises(UsageError, match=f"{path.name}' is not a CIFAR"):
            read(path)


def test_tabular_warning_survives_an_earlier_read_with_augment_none(tmp_path: Path) -> None:
    path = tmp_path / "tab.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.normal(size=(40, 1, 1, 6)).astype(np.float32), y=np.arange(40) % 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TrainingEvaluator("npz", data_dir=path, augment="none").dataset()
        assert not [w for w in caught if "tabular" in str(w.message)]
        data = TrainingEvaluator("npz", data_dir=path).dataset()
    assert data.augment == "crop_flip"
    assert ["'tab'" in str(w.message) for w in caught if "tabular" in str(w.message)] == [True]


def test_scale_zero_on_blank_images_is_no_division_error() -> None:
    from nasforge.data.dataset import from_arrays

    x, y = np.full((20, 3, 8, 8), 128, np.uint8), np.arange(20) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert from_arrays("t", (x, y), (x[:4], y[:4]), (x[:4], y[:4]), scale=0.0).scale == 0.0


@pytest.mark.parametrize("where", ["root", "split"])
def test_stamp_sees_a_loose_image_the_loader_refuses(tmp_path: Path, where: str) -> None:
    from PIL import Image

    root = tmp_path / "imgs"
    for split in ("train", "test"):
        for name in ("a", "b"):
            (root / split / name).mkdir(parents=True)
            for i in range(4):
                Image.fromarray(np.full((8, 8, 3), i * 40 + len(name), np.uint8)).save(root / split / name / f"{i}.png")
    assert TrainingEvaluator("folder", data_dir=root).dataset() is not None
    stamp = files_stamp("folder", root)
    (root / "loose.png" if where == "root" else root / "test" / "loose.png").write_bytes(b"x")
    assert files_stamp("folder", root) != stamp
    with pytest.raises(UsageError, match="outside any class folder"):
        TrainingEvaluator("folder", data_dir=root).dataset()
