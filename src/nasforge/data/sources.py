"""Where data sets come from: embedded digits, CIFAR python batches, NPZ files and image folders.

``load_dataset(name, data_dir=None, seed=0)`` is the one entry point; every loader returns an
:class:`ImageDataset` with a seeded train/validation/test split and its training augmentation (``augment``:
the source's own default unless given).
"""

from __future__ import annotations

import math
import os
import pickle
import struct
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..checks import check_path, check_real, check_seed
from ..exceptions import MissingFileError, UsageError, user_stacklevel
from ..oneshot.checks import check_augment
from ..registry import did_you_mean
from .dataset import (ImageDataset, check_drawn_split, check_images, check_layout, class_list, from_arrays,
                      split_indices, warn_tabular)

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

DATASETS = ("digits", "cifar10", "cifar100", "npz", "folder")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm", ".pnm")
LOOSE_SUFFIXES = IMAGE_SUFFIXES[:8]
"""The images refused outside every class folder: those read before Netpbm (.pgm, .ppm, .pbm, .pnm) was, which
such a folder may hold beside its classes (a preview) and which were skipped, as they still are."""
OS_FILES = ("thumbs.db", "desktop.ini")
"""Files an operating system leaves in image folders (lower case): skipped, like hidden files."""


def load_dataset(name: str, data_dir: str | Path | None = None, seed: int = 0, val_fraction: float | None = None,
                 test_fraction: float | None = None, augment: str | None = None) -> ImageDataset:
    """Load data set ``name``: "digits" (embedded, no download), "cifar10"/"cifar100" (a local folder in the
    python-batch format), "npz" (``data_dir`` is a .npz file) or "folder" (``data_dir`` holds class folders).

    Sources without a validation split get one: ``val_fraction`` (None: 0.1) of their training images, chosen
    with ``seed``; a single image folder or NPZ ``x, y`` pair is split ``1 - val - test : val : test``
    (``test_fraction`` None: 0.2). Digits is split 60/20/20 (None: 0.2 each) unless a fraction is given. A fraction given for a
    split the files hold themselves (CIFAR's test batch, a folder's ``val/``, an NPZ file's ``x_test``...) is a
    ``UsageError``: it would be ignored, and so is a ``data_dir`` for the built-in digits.

    ``augment``: the training augmentation, one of :data:`~nasforge.data.AUGMENTATIONS` ("none", "crop",
    "crop_flip"); None: the source's own ("crop" for digits, which must not be mirrored, "crop_flip" for data read
    from files: give "crop" or "none" for images that must not be mirrored either, such as digits, text or scans).
    """
    check_augment(augment)
    check_seed("seed", seed)  # before any file is read
    given = {k: v for k, v in (("val_fraction", val_fraction), ("test_fraction", test_fraction)) if v is not None}
    if name == "digits":
        if data_dir is not None and str(data_dir) != "":  # as TrainingEvaluator: nothing would be read from it
            raise UsageError(f"data_dir {str(data_dir)!r} applies to data read from files, not digits (built in)")
        return load_digits(seed, augment=augment, **given)
    if name not in DATASETS:
        raise UsageError(f"unknown data set {name!r}{did_you_mean(name, DATASETS)}; choose from {list(DATASETS)}")
    if data_dir is None:
        raise UsageError(f"data set {name!r} needs a data directory (--data-dir PATH)")
    path = data_path(name, data_dir)
    held = stored_splits(name, path)
    for key, value in given.items():
        split = key.removesuffix("_fraction")
        if split in held:
            raise UsageError(f"{key}={value} does not apply to data set {name!r} at {str(path)!r}: {held[split]} "
                             f"holds its {'validation' if split == 'val' else 'test'} split; leave {key} out")
    fractions = {"val_fraction": 0.1, "test_fraction": 0.2} | given
    if name in ("cifar10", "cifar100"):
        return load_cifar(path, classes=int(name.removeprefix("cifar")), seed=seed,
                          val_fraction=fractions["val_fraction"], augment=augment)
    loader = load_npz if name == "npz" else load_image_folder
    return loader(path, seed=seed, augment=augment, **fractions)


def data_path(name: str, data_dir: str | os.PathLike[str], label: str = "data_dir") -> Path:
    """``data_dir`` (the argument ``label``), where data set ``name`` is read from, as a Path (``~`` expanded): a
    ``UsageError`` when it is no path (or blank, which ``Path`` reads as the working directory), a
    :class:`~nasforge.exceptions.MissingFileError` (also a ``FileNotFoundError``) when nothing is there."""
    if not isinstance(data_dir, (str, os.PathLike)):
        raise UsageError(f"{label} must be a path (str or Path) to the files of data set {name!r}, got "
                         f"{type(data_dir).__name__} {data_dir!r}")
    check_path(label, data_dir, f"the files of data set {name!r}")  # a blank one: an unset shell variable?
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise MissingFileError(f"data path {str(path)!r} for data set {name!r} does not exist")
    return path


def data_folders(name: str, data_dir: str | Path | None) -> list[Path]:
    """The folders (resolved) in which data set ``name`` reads every file it finds: an image folder. None for
    the others: CIFAR reads its fixed batch file names only, digits and NPZ no folder at all."""
    if data_dir is None or name != "folder":
        return []
    return [Path(data_dir).expanduser().resolve()]


def files_stamp(name: str, data_dir: str | Path | None) -> str | None:
    """A cheap stamp of the files data set ``name`` reads at ``data_dir`` (CIFAR: its batch files; an image folder:
    the files of its class folders, :func:`_folder_files`): a sha1 over each one's path, size, modification time
    (ns) and inode, from ``stat`` alone (no file is read). It changes when a file is added,
    removed, replaced or rewritten, so a cache keyed on it never serves data read before; None for data read
    from no file (digits, or no ``data_dir``)."""
    import hashlib

    if data_dir is None or name not in DATASETS or name == "digits":
        return None
    path = Path(data_dir).expanduser()
    if name in ("cifar10", "cifar100"):
        classes = int(name.removeprefix("cifar"))
        folder, train, test, _ = _CIFAR_LAYOUT[classes]
        bin_folder, bin_train, bin_test, _ = _CIFAR_BINARY[classes]
        files = [str(where / f) for where in (path, path / folder) for f in (*train, test, "meta")]
        files += [str(where / f) for where in (path, path / bin_folder) for f in (*bin_train, bin_test,
                                                                                    "fine_label_names.txt")]
    elif path.is_dir():
        files = _folder_files(path)
    else:
        files = [str(path)]
    digest = hashlib.sha1()
    for file in files:
        try:
            st = os.stat(file)
        except (OSError, ValueError):  # absent, or no file (a folder's class names, its refusal): the name only
            digest.update(f"{file}\n".encode("utf-8", "surrogateescape"))
            continue
        digest.update(f"{file}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _folder_files(path: Path) -> list[str]:
    """What :func:`load_image_folder` reads in image folder ``path``: the class folders' names and the visible files
    under each (images, and files it would refuse), in every split folder, and the images beside the class folders
    that it refuses (:func:`_check_loose_images`); hidden files, :data:`OS_FILES` and other files beside the class
    folders are left out. A layout it refuses gives its refusal instead (so the stamp
    still changes with it)."""
    try:
        folders = split_folders(path) or {"all": path}
        found = [str(p) for folder in sorted({path, *folders.values()}) for p in sorted(folder.iterdir())
                 if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in LOOSE_SUFFIXES]  # refused
        for split, folder in folders.items():
            classes = _class_names(folder)
            found.append(f"{split}\0{'/'.join(classes)}")
            found += [str(file) for name in classes for file in _visible_files(folder / name)]
        return found
    except (ValueError, OSError) as exc:
        return [f"{type(exc).__name__}: {exc}"]  # no file of that name: only the text enters the stamp


def check_out_of_data(out: str | Path, what: str, name: str, data_dir: str | Path | None) -> None:
    """A UsageError when ``out`` (``what`` names it) is a folder data set ``name`` reads (:func:`data_folders`)
    or lies inside one: what a run writes there would become part of the data (a plot read as an image, a
    folder of run files refused as a class) and the data would no longer load."""
    target = Path(out).expanduser().resolve()
    for folder in data_folders(name, data_dir):
        if target == folder or folder in target.parents:
            raise UsageError(f"{what} {str(out)!r} is {'the' if target == folder else 'inside the'} folder "
                             f"{str(folder)!r} that data set {name!r} is read from: the run's files would be "
                             "mixed with the data, which would then no longer load; choose a folder outside it")


def check_storage_out_of_data(storage: str | None, what: str, name: str, data_dir: str | Path | None) -> None:
    """:func:`check_out_of_data` for SQLite storage URL ``storage``'s file (``what`` names it) when it lies in a
    class folder of the data (:func:`_read_as_class`): the database and its journal files would join a class's
    images. A file at the top of the data folder or of a split folder, or in a hidden folder, is not read as data
    and stays allowed (as before). Other storage (a server, in memory, None) writes no file."""
    from ..experiment.storage.urls import sqlite_path

    path = None if storage is None else sqlite_path(storage)
    if path and path != ":memory:":
        folder = Path(path).expanduser().resolve().parent
        if any(_read_as_class(data, folder) for data in data_folders(name, data_dir)):
            check_out_of_data(path, what, name, data_dir)


def _read_as_class(data: Path, folder: Path) -> bool:
    """Whether ``folder`` lies in a class folder of image folder ``data``: below it, not hidden, and neither
    ``data``'s top nor the top of one of its split folders (``train/``), where files are not read as images."""
    if data not in folder.parents:
        return False
    parts = folder.relative_to(data).parts
    if any(part.startswith(".") for part in parts):
        return False  # hidden folders are skipped
    return not (len(parts) == 1 and data.is_dir() and parts[0] in {p.name for p in split_folders(data).values()})


def load_digits(seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2,
                noise: float = 0.0, augment: str | None = None) -> ImageDataset:
    """scikit-learn's 1,797 8x8 handwritten digits, split 60/20/20 with ``seed`` (shift augmentation only unless
    ``augment`` says otherwise: digits must not be mirrored).

    ``noise``: the std of fixed Gaussian pixel noise (the same for every seed; 1 is the whole pixel range) added
    to every image. Raw pixels are 0..16: the data set's ``scale`` (1/16) reads noise-free digits."""
    from sklearn.datasets import load_digits as sk_digits

    check_augment(augment)
    check_real("noise", noise, lambda v: v >= 0, ">= 0 (the std of the pixel noise)")
    digits = sk_digits()
    images, labels = digits.images.astype(np.float32), digits.target.astype(np.int64)  # pixels 0..16
    if noise:  # added in 0..1 units; times 16 and back by the scale are exact (a power of two)
        images = (images / 16 + np.random.default_rng(1234).normal(0.0, noise, images.shape).astype(np.float32)) * 16
    train, val, test = split_indices(len(labels), val_fraction, test_fraction, seed, "data set 'digits'")
    return from_arrays("digits", (images[train], labels[train]), (images[val], labels[val]),
                       (images[test], labels[test]), num_classes=10, augment=augment or "crop", scale=1.0 / 16.0,
                       class_names=[str(i) for i in range(10)])


# -- CIFAR ------------------------------------------------------------------------------------------
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
_CIFAR_LAYOUT = {10: ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch", b"labels"),
                 100: ("cifar-100-python", ["train"], "test", b"fine_labels")}
_CIFAR_BINARY = {10: ("cifar-10-batches-bin", [f"data_batch_{i}.bin" for i in range(1, 6)], "test_batch.bin", 1),
                 100: ("cifar-100-binary", ["train.bin"], "test.bin", 2)}
"""The binary version of each CIFAR: folder, training and test files, label bytes before each image's 3,072 pixel
bytes (CIFAR-100: the coarse label, then the fine one, which is read)."""


class _UnsafePickle(pickle.UnpicklingError):
    """A pickle that asks for an object type or call a CIFAR file never holds: refused, whatever the file is for."""


class _ArrayUnpickler(pickle.Unpickler):
    """Reads CIFAR batches (pickled dicts of NumPy arrays and lists) and refuses every other object type,
    so a crafted file cannot run code. ``_codecs.encode``, with which Python 3 writes bytes in protocol 2,
    is answered by :func:`_latin1_bytes`, which only turns latin-1 text into bytes, and ``bytes``, with which it
    writes empty bytes (``b""``, also the data of an array of no numbers), by :func:`_empty_bytes`; NumPy's
    ``_reconstruct`` (protocol 2 arrays), ``_frombuffer`` (protocol 5 arrays) and ``scalar`` (NumPy numbers) by
    functions that only read bytes as plain numbers (:func:`_number_dtype`), whatever dtype the file asks for."""

    RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
    FROM_BUFFER = {("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}
    SCALAR = {("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar")}
    BYTES = {("__builtin__", "bytes"), ("builtins", "bytes")}

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle protocol
        if (module, name) == ("_codecs", "encode"):
            return _latin1_bytes
        if (module, name) in self.BYTES:
            return _empty_bytes
        if (module, name) in self.RECONSTRUCT:
            return _empty_array
        if (module, name) == ("numpy", "ndarray"):
            return _PickledNdarray
        if (module, name) in self.FROM_BUFFER:
            return _array_from_bytes
        if (module, name) in self.SCALAR:
            return _scalar_from_bytes
        if (module, name) == ("numpy", "dtype"):
            return _PickledDtype
        raise _UnsafePickle(f"refusing to load {module}.{name}: CIFAR batches hold only arrays")


def _number_dtype(dtype: object, what: str) -> np.dtype:
    """A fresh dtype of plain numbers or text (bool, integer, float, str or bytes: kind b, i, u, f, U or S, no
    fields, no sub-array) with the kind, size and byte order of ``dtype`` (a :class:`_PickledDtype`); an
    :class:`_UnsafePickle` for anything else. The data and labels must still be numbers (:func:`_read_cifar_batch`);
    text is read for other entries (file names, class names)."""
    if isinstance(dtype, _PickledDtype):
        dtype = dtype.dtype
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biufUS" or dtype.fields is not None \
            or dtype.subdtype is not None:
        raise _UnsafePickle(f"refusing {what}: only plain numbers (bool, integer, float) and text are read from a "
                            "CIFAR file")
    order = dtype.byteorder if dtype.byteorder in "<>" else "="
    size = dtype.itemsize // 4 if dtype.kind == "U" else dtype.itemsize
    try:
        return np.dtype(f"{order}{dtype.kind}{size}")
    except TypeError:
        raise _UnsafePickle(f"refusing {what}: no plain number type of {dtype.itemsize} bytes") from None


class _NumpyName(type):
    """The type of the stand-ins for NumPy's classes: shown as the NumPy name they stand for, in messages."""

    def __repr__(cls) -> str:
        return f"numpy.{cls.__name__.removeprefix('_Pickled').lower()}"


class _PickledDtype(metaclass=_NumpyName):
    """What a CIFAR pickle's ``numpy.dtype(spec, align, copy)`` gives: a holder of a fresh dtype of plain numbers or
    text (:func:`_number_dtype`), never NumPy's own dtype, whose ``__setstate__`` a crafted state can crash. Its
    ``__setstate__`` only takes the state a real pickle sets on that dtype (its byte order)."""

    def __init__(self, *args: object) -> None:
        if not 1 <= len(args) <= 3:
            raise _UnsafePickle(f"refusing numpy.dtype with {len(args)} arguments: not a pickled dtype")
        spec, align = args[0], args[1] if len(args) > 1 else False
        if isinstance(spec, bytes):  # a protocol-2 pickle read with encoding="bytes"
            spec = spec.decode("latin1")
        if not isinstance(spec, str) or align is not False and align != 0:
            raise _UnsafePickle(f"refusing numpy.dtype({_short(spec)}, align={_short(align)}): only the dtypes of "
                                "plain numbers and text are read from a CIFAR file")
        try:
            dtype = np.dtype(spec)
        except (TypeError, ValueError, SyntaxError) as exc:
            raise _UnsafePickle(f"refusing numpy.dtype({_short(spec)}): {exc}") from None
        self.dtype = _number_dtype(dtype, f"numpy.dtype({_short(spec)})")

    def __setstate__(self, state: object) -> None:
        if isinstance(state, tuple) and len(state) == 8 and isinstance(state[1], bytes):  # encoding="bytes"
            state = (state[0], state[1].decode("latin1"), *state[2:])
        order = state[1] if isinstance(state, tuple) and len(state) == 8 and state[1] in ("<", ">", "|", "=") else "="
        dtype = self.dtype.newbyteorder(order) if order in "<>" else self.dtype
        if state != dtype.__reduce__()[2]:
            raise _UnsafePickle(f"refusing numpy dtype state {_short(state)} for {self.dtype}: not the state of a "
                                "plain number or text dtype")
        self.dtype = dtype

    def __repr__(self) -> str:
        return repr(self.dtype)


def _short(value: object) -> str:
    """``repr(value)``, at most 60 characters, for messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _PickledNdarray(metaclass=_NumpyName):
    """What a CIFAR pickle gets for ``numpy.ndarray``: only the first argument of ``_reconstruct``
    (:func:`_empty_array`); calling it, or building one with NEWOBJ, is refused (it would build an array of any
    dtype without reading bytes)."""

    def __new__(cls, *args: object, **kwargs: object) -> None:  # type: ignore[misc]
        raise _UnsafePickle("refusing to call numpy.ndarray: CIFAR batches hold arrays rebuilt from bytes")


class _NumberArray(np.ndarray):
    """The empty array ``_reconstruct`` gives a protocol-2 pickle, whose state (``__setstate__``) may only hold
    the bytes of plain numbers (:func:`_number_dtype`)."""

    def __setstate__(self, state: tuple) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise _UnsafePickle(f"refusing numpy array state {type(state).__name__}: not an array's state")
        head, (shape, dtype, fortran, raw) = state[:-4], state[-4:]
        if not isinstance(raw, (bytes, bytearray)):  # a list: the items of an object array
            raise _UnsafePickle(f"refusing numpy array state with {type(raw).__name__} items: only bytes become "
                                "numbers in a CIFAR batch")
        number = _number_dtype(dtype, f"a numpy array of dtype {_short(dtype)}")
        super().__setstate__((*head, shape, number, fortran, raw))


def _empty_array(subtype: object, shape: object, dtype: object) -> np.ndarray:
    """NumPy's ``_reconstruct`` as a protocol-2 pickle calls it (``numpy.ndarray``, ``(0,)``, ``b"b"``): an empty
    array whose state must then be numbers (:class:`_NumberArray`); any other call is refused."""
    if subtype is not _PickledNdarray or dtype not in (b"b", "b"):
        raise _UnsafePickle(f"refusing numpy _reconstruct({_short(subtype)}, {_short(dtype)}): only an ndarray "
                            "rebuilt from bytes is read from a CIFAR batch")
    return _NumberArray((0,), dtype=np.uint8)


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """``_codecs.encode(text, "latin1")`` as a Python 3 protocol-2 pickle calls it to rebuild bytes; any other
    call is refused."""
    if not isinstance(text, str) or encoding != "latin1":
        raise _UnsafePickle(f"refusing _codecs.encode({type(text).__name__}, {encoding!r}): only "
                                     "latin1 text becomes bytes in a CIFAR batch")
    return text.encode("latin1")


def _empty_bytes(*args: object) -> bytes:
    """``bytes()`` as a Python 3 protocol-2 pickle calls it to rebuild ``b""`` (or ``bytes(b"")``): empty bytes;
    any other call (which could build bytes of any size from a number, or read any object) is refused."""
    if args and (len(args) > 1 or not isinstance(args[0], (bytes, bytearray)) or args[0]):
        raise _UnsafePickle(f"refusing bytes({', '.join(type(a).__name__ for a in args)}): only empty bytes are built "
                            "that way in a CIFAR batch")
    return b""


def _array_from_bytes(buffer: bytes | bytearray, dtype: np.dtype, shape: tuple[int, ...], order: str,
                      axis_order: tuple[int, ...] | None = None) -> np.ndarray:
    """NumPy's ``_frombuffer`` as a protocol-5 pickle calls it to rebuild an array (numbers read from ``buffer``,
    reshaped); any other call (not bytes, a dtype of no plain numbers: :func:`_number_dtype`) is refused."""
    if not isinstance(buffer, (bytes, bytearray)):
        raise _UnsafePickle(f"refusing numpy _frombuffer({type(buffer).__name__}, {_short(dtype)}): only "
                                     "bytes become numbers in a CIFAR batch")
    array = np.frombuffer(buffer, dtype=_number_dtype(dtype, f"numpy _frombuffer(bytes, {_short(dtype)})"))
    if order == "K" and axis_order is not None:
        return array.reshape(shape).transpose(axis_order)
    return array.reshape(shape, order=order)


def _scalar_from_bytes(dtype: np.dtype, buffer: bytes) -> np.generic:
    """NumPy's ``scalar`` as a pickle calls it to rebuild one number (a label of ``list(labels_array)``): the number
    read from ``buffer``; any other call (not bytes, a dtype of no plain numbers: :func:`_number_dtype`, a size that
    is not one value) is refused."""
    number = _number_dtype(dtype, f"numpy scalar({_short(dtype)}, {type(buffer).__name__})")
    if not isinstance(buffer, (bytes, bytearray)) or len(buffer) != number.itemsize:
        raise _UnsafePickle(f"refusing numpy scalar({_short(dtype)}, {type(buffer).__name__}): only the bytes of one "
                            "number become a number in a CIFAR batch")
    return np.frombuffer(buffer, dtype=number)[0]


def _too_big(exc: MemoryError | RecursionError) -> str:
    """Why a pickle could not be read with ``exc``: its sizes or its nesting (a crafted file)."""
    if isinstance(exc, MemoryError):
        return "it asks for more memory than there is (a size no CIFAR file has)"
    return "it is nested too deeply (no CIFAR file is)"


def _batch_entries_problem(data: object, labels: object) -> str | None:
    """Why a CIFAR batch's ``data`` and ``labels`` entries cannot be converted to arrays, or None: the data must be
    a NumPy array and the labels one (or a flat list of numbers), as in CIFAR's own files. Nested lists are refused
    before any conversion: sharing sub-lists, a file of a few hundred bytes would expand into gigabytes."""
    if not isinstance(data, np.ndarray):
        return f"its data is a {type(data).__name__}, not a NumPy array of pixels (as in CIFAR's own batches)"
    if isinstance(labels, np.ndarray):
        return None
    if isinstance(labels, (list, tuple)):
        nested = next((type(v).__name__ for v in labels if not np.isscalar(v)), None)
        if nested is None:
            return None
        return f"its labels are a {type(labels).__name__} holding a {nested}, not a flat list of integers"
    return f"its labels are a {type(labels).__name__}, not a list or array of integers (one per image)"


def _read_cifar_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise MissingFileError(f"CIFAR batch file {str(path)!r} is missing")
    try:
        with path.open("rb") as fh:
            batch = _ArrayUnpickler(fh, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, OverflowError) as exc:
        raise UsageError(f"{str(path)!r} is not a CIFAR python batch: {exc}") from None
    except (MemoryError, RecursionError) as exc:
        raise UsageError(f"{str(path)!r} is not a CIFAR python batch: {_too_big(exc)}") from None
    if not isinstance(batch, dict):
        raise UsageError(f"{str(path)!r} is not a CIFAR python batch: it holds a {type(batch).__name__}, not a dict")
    keys = list(batch)
    # text keys (Python 3); a lone surrogate (pickle writes one) as its UTF-8 bytes
    batch = {**{k.encode("utf-8", "surrogatepass"): v for k, v in batch.items() if isinstance(k, str)}, **batch}
    missing = [key for key in (b"data", label_key) if key not in batch]
    if missing:
        raise UsageError(f"{str(path)!r} is not a CIFAR python batch: it has no entry {missing[0]!r} (a bytes or "
                         f"text key; its keys are {', '.join(map(repr, keys)) or 'none'})")
    data, labels = batch[b"data"], batch[label_key]
    problem = _batch_entries_problem(data, labels)
    if problem:
        raise UsageError(f"{str(path)!r} is not a CIFAR python batch: {problem}")
    try:
        data, labels = np.asarray(data), np.asarray(labels)  # data: a plain ndarray (a view), not the pickle's
        if len(labels) and labels.dtype.kind not in "iu":  # as NPZ: no text ("3"), float (5.5) or bool label
            raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
        labels = labels.astype(np.int64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise UsageError(f"{str(path)!r} is not a CIFAR python batch: {exc}") from None
    except MemoryError as exc:
        raise UsageError(f"{str(path)!r} is not a CIFAR python batch: {_too_big(exc)}") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.ndim != 1 or len(labels) != len(data):
        raise UsageError(f"{str(path)!r}: expected data of shape (N, 3072) and N labels, "
                         f"got {data.shape} and {labels.shape}")
    if not np.issubdtype(data.dtype, np.integer) or (data.size and (data.min() < 0 or data.max() > 255)):
        numeric = data.size and np.issubdtype(data.dtype, np.number)
        span = f" spanning {data.min()}..{data.max()}" if numeric else " (no numbers)" if data.dtype.kind in "US" else ""
        raise UsageError(f"{str(path)!r}: pixels must be integers 0..255, got dtype {data.dtype}{span}")
    return data.astype(np.uint8).reshape(-1, 3, 32, 32), labels


def _read_cifar_binary(path: Path, label_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images and (fine) labels of a binary CIFAR batch: records of ``label_bytes`` label bytes and 3,072 pixel
    bytes (1,024 per channel, R, G, B, row by row)."""
    if not path.is_file():
        raise MissingFileError(f"CIFAR batch file {str(path)!r} is missing")
    raw = np.fromfile(path, dtype=np.uint8)
    record = label_bytes + 3 * 32 * 32
    if raw.size == 0 or raw.size % record:
        raise UsageError(f"{str(path)!r} is not a binary CIFAR batch: its {raw.size} bytes are no whole number of "
                         f"{record}-byte records ({label_bytes} label byte(s) + 3072 pixels)")
    records = raw.reshape(-1, record)
    return records[:, label_bytes:].reshape(-1, 3, 32, 32), records[:, label_bytes - 1].astype(np.int64)


def load_cifar(path: str | Path, classes: int = 10, seed: int = 0, val_fraction: float = 0.1,
               augment: str | None = None) -> ImageDataset:
    """CIFAR-10/100 from the binary or the python-batch folder (``path`` is that folder or its parent; the
    binary version, read without unpickling, where both are there); CIFAR-100's class names come from its
    ``meta`` file (``fine_label_names.txt`` for the binary version) when there is one. ``augment``: None is
    "crop_flip".

    Refused, naming the file: a label outside 0..classes-1 and an empty test batch. Warned (runs stored before
    still load): a class only the test batch holds, and a validation draw that leaves a class without training
    images (:func:`check_drawn_split`)."""
    check_augment(augment)
    path = data_path(f"cifar{classes}", path, "path")
    folder_name, train_files, test_file, _ = _CIFAR_LAYOUT[classes]
    bin_name, bin_train, bin_test, _ = _CIFAR_BINARY[classes]
    found = _cifar_folder(path, classes)
    if found is None:
        raise MissingFileError(f"no CIFAR-{classes} batches in {str(path)!r}: expected {bin_name}/{bin_test} "
                               f"and {', '.join(bin_train)} (binary version) or {folder_name}/{test_file} and "
                               f"{', '.join(train_files)} (python version)")
    folder, binary = found
    if binary:
        names = CIFAR10_CLASSES if classes == 10 else _class_names_text(folder / "fine_label_names.txt")
    else:
        names = CIFAR10_CLASSES if classes == 10 else _cifar100_class_names(folder / "meta")
    train_names, test_name = (bin_train, bin_test) if binary else (train_files, test_file)
    parts = [_read_cifar_file(folder / f, classes, binary) for f in train_names]
    x_test, y_test = _read_cifar_file(folder / test_name, classes, binary)
    if not len(y_test):  # a training batch may hold none: the others fill the training split
        raise UsageError(f"{str(folder / test_name)!r}: the test batch holds no images (every split must hold "
                         "images)")
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    name = f"cifar{classes}"
    train, val, _ = split_indices(len(y), val_fraction, 0.0, seed, f"data set {name!r} at {str(path)!r}")
    test_only = sorted(set(np.unique(y_test).tolist()) - set(np.unique(y).tolist()))
    untrained = (f"{str(folder / test_name)!r}: the test batch holds class{'es' * (len(test_only) > 1)} "
                 f"{class_list(test_only, names)} that no training batch ({', '.join(train_names)}) holds: "
                 "give it training images or drop its test images") if test_only else None
    try:
        check_drawn_split(name, y, train, seed, names)
    except UsageError as exc:
        untrained = str(exc)
    if untrained:  # warned, not refused as for other files: CIFAR's classes are fixed, and runs stored before load
        warnings.warn(f"{untrained}; loaded as it is: the network still has {classes} outputs, but no network is "
                      "trained on that class", stacklevel=user_stacklevel())
    return from_arrays(name, (x[train], y[train]), (x[val], y[val]), (x_test, y_test),
                       num_classes=classes, augment=augment, class_names=names)


def _read_cifar_file(path: Path, classes: int, binary: bool) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of CIFAR-``classes`` batch file ``path`` (binary or python version); a UsageError naming
    the file for a label outside 0..classes-1."""
    if binary:
        x, y = _read_cifar_binary(path, _CIFAR_BINARY[classes][3])
    else:
        x, y = _read_cifar_batch(path, _CIFAR_LAYOUT[classes][3])
    if len(y) and (y.min() < 0 or y.max() >= classes):
        raise UsageError(f"{str(path)!r}: labels must lie in 0..{classes - 1} (CIFAR-{classes}), found "
                         f"{y.min() if y.min() < 0 else y.max()}")
    return x, y


def _cifar_folder(path: Path, classes: int) -> tuple[Path, bool] | None:
    """The folder :func:`load_cifar` reads CIFAR-``classes`` from at ``path`` (its test batch is there) and whether
    it holds the binary version: preferred where both are there, unless it lacks a training batch and the python
    version has them all (an interrupted extraction beside a whole copy); None without a test batch where one is
    looked for."""
    folder_name, train_files, test_file, _ = _CIFAR_LAYOUT[classes]
    bin_name, bin_train, bin_test, _ = _CIFAR_BINARY[classes]
    binary = next((f for f in (path / bin_name, path) if (f / bin_test).is_file()), None)
    folder = path / folder_name if (path / folder_name).is_dir() else path
    python = folder if (folder / test_file).is_file() else None
    if python is not None and (binary is None or not _all_files(binary, bin_train) and _all_files(python, train_files)):
        return python, False
    return None if binary is None else (binary, True)


def _all_files(folder: Path, names: list[str]) -> bool:
    """Whether ``folder`` holds a file of each of ``names``."""
    return all((folder / name).is_file() for name in names)


def _class_names_text(path: Path) -> list[str] | None:
    """The 100 class names of a binary CIFAR-100's ``fine_label_names.txt`` (one a line), or None without it, or,
    with a warning naming it, when it is unusable (not UTF-8 text, not 100 names), as for the ``meta`` file
    (:func:`_cifar100_class_names`): the names are optional."""
    if not path.is_file():
        return None
    try:
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError as exc:
        problem = f"it is no UTF-8 text ({exc.reason} at byte {exc.start})"
    else:
        if len(names) == 100:
            return names
        problem = f"it holds {len(names)} class names (one a line), not 100"
    warnings.warn(f"{str(path)!r}: {problem}; CIFAR-100's classes are named by their labels 0..99", stacklevel=2)
    return None


def _cifar100_class_names(path: Path) -> list[str] | None:
    """The 100 ``fine_label_names`` (bytes or str, under a bytes or str key) of CIFAR-100's ``meta`` file, or
    None when there is no such file, or, with a warning, when it is unusable (the names are optional: the labels
    are numbers then). A pickle asking for any other object type is refused (a UsageError), as in a batch."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            meta = _ArrayUnpickler(fh, encoding="bytes").load()
    except _UnsafePickle as exc:
        raise UsageError(f"{str(path)!r} is not a CIFAR-100 meta file: {exc}") from None
    except (MemoryError, RecursionError) as exc:
        raise UsageError(f"{str(path)!r} is not a CIFAR-100 meta file: {_too_big(exc)}") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, IndexError, KeyError, TypeError, ValueError,
            OverflowError) as exc:
        problem = f"it is no readable pickle ({type(exc).__name__}: {exc})"
    else:
        keys = list(meta) if isinstance(meta, dict) else []
        names = next((meta[k] for k in (b"fine_label_names", "fine_label_names") if k in keys), None)
        if not isinstance(meta, dict):
            problem = f"it holds a {type(meta).__name__}, not a dict"
        elif names is None:
            problem = f"it has no fine_label_names entry (its keys: {', '.join(map(repr, keys[:5])) or 'none'})"
        elif not isinstance(names, list) or len(names) != 100 or not all(isinstance(n, (bytes, str)) for n in names):
            problem = "its fine_label_names is not a list of 100 names"
        else:
            return [name.decode("utf-8", "replace") if isinstance(name, bytes) else name for name in names]
    warnings.warn(f"{str(path)!r}: {problem}; CIFAR-100's classes are named by their labels 0..99", stacklevel=2)
    return None


# -- NPZ -------------------------------------------------------------------------------------------
NPZ_PAIRS = (("x_train", "y_train"), ("x_val", "y_val"), ("x_test", "y_test"), ("x", "y"))
NPZ_LAYOUT = "layout"
"""The optional NPZ array that says the layout of 4-D images, "NCHW" or "NHWC", where their shape does not."""


def load_npz(path: str | Path, seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.2,
             augment: str | None = None) -> ImageDataset:
    """Arrays ``x_train, y_train, x_test, y_test`` (optionally ``x_val, y_val``), or ``x, y`` (optionally
    with ``x_val, y_val`` and/or ``x_test, y_test``) whose missing splits are drawn from ``x, y`` with ``seed``.

    Refused: images without their labels (or labels without images), a pair of different lengths, ``x, y``
    beside ``x_train, y_train`` (two training sets) and any other array (it would be ignored) but ``layout``.
    Images: NHW, NCHW or NHWC (an array ``layout``, "NCHW" or "NHWC", says which where the shape does not);
    uint8 (scaled by 1/255) or float. ``augment``: None is "crop_flip"."""
    check_augment(augment)
    path = data_path("npz", path, "path")
    if not path.is_file() or not zipfile.is_zipfile(path):  # np.load would read .npy or pickle files too
        raise UsageError(f"{str(path)!r} is not a readable NPZ archive (a zip of arrays, as numpy.savez writes)")
    where = f"NPZ file {str(path)!r}"
    arrays = _read_npz(path, where)
    layout = _npz_layout(arrays, where)
    _check_npz_arrays(arrays, where, layout)
    pairs = {images: (arrays[images], arrays[labels]) for images, labels in NPZ_PAIRS if images in arrays}
    if "x_train" in pairs:
        if "x_test" not in pairs:
            raise UsageError(f"{where} holds 'x_train' but no 'x_test'/'y_test'; give a test set, or name the "
                             "training arrays 'x', 'y' to have one drawn from them")
        train, test = pairs["x_train"], pairs["x_test"]
    elif "x" in pairs:
        train, test = pairs["x"], pairs.get("x_test")
    else:
        raise UsageError(f"{where} must hold x_train/y_train/x_test/y_test (and optionally x_val/y_val) or x/y; "
                         f"found {sorted(arrays)}")
    val = pairs.get("x_val")
    if val is None or test is None:  # draw the missing splits from the training arrays
        x, y = train
        tr, va, te = split_indices(len(y), val_fraction if val is None else 0.0,
                                   test_fraction if test is None else 0.0, seed, where)
        drawn = [f"x_{split}/y_{split}" for split, given in (("val", val), ("test", test)) if given is None]
        check_drawn_split(path.stem, y, tr, seed, own_split=f"your own {' and '.join(drawn)} in the NPZ file")
        train = x[tr], y[tr]
        val = (x[va], y[va]) if val is None else val
        test = (x[te], y[te]) if test is None else test
    data = _classifiable(from_arrays(path.stem, train, val, test, augment=augment or "crop_flip", layout=layout),
                         where)
    if augment is None:  # as from_arrays warns, but only for a data set accepted (a refusal is one line)
        warn_tabular(data.name, tuple(data.x_train.shape[1:]))
    return data


def _classifiable(data: ImageDataset, where: str) -> ImageDataset:
    """``data``, or a UsageError when it has fewer than 2 classes (every network would score 100%)."""
    if data.num_classes < 2:
        raise UsageError(f"{where} holds {data.num_classes} class: a classifier needs at least 2 classes")
    return data


def _read_npz(path: Path, where: str) -> dict[str, np.ndarray]:
    """The arrays of NPZ file ``path`` (``where`` names it), read only once the names of all its members are known
    ones (an extra member could be a zip bomb) and each member's header declares no more bytes than its zip entry
    holds (:func:`_check_npz_member`); a file NumPy cannot read, or one asking for more memory than there is, is a
    UsageError naming it."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            unknown = sorted(set(npz.files) - {key for pair in NPZ_PAIRS for key in pair} - {NPZ_LAYOUT})
            if unknown:
                raise UsageError(f"{where} holds array(s) {unknown} that nasforge does not read; accepted: x_train, "
                                 "y_train, x_test, y_test (optionally x_val, y_val), or x, y (optionally x_val, "
                                 f"y_val, x_test, y_test), and optionally {NPZ_LAYOUT}")
            for member in npz.zip.infolist():
                _check_npz_member(npz.zip, member, where)
            return {k: npz[k] for k in npz.files}
    except UsageError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise UsageError(f"cannot read NPZ file {str(path)!r}: {exc}") from None
    except MemoryError:
        raise UsageError(f"cannot read NPZ file {str(path)!r}: it asks for more memory than there is") from None


def _check_npz_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, where: str) -> None:
    """A UsageError for an NPZ member that is no ``.npy`` array, or whose header declares more bytes (shape times
    item size) than its zip entry holds, which NumPy would allocate before reading them; only the header is
    read (an object array is left to NumPy, which refuses it without pickles)."""
    from numpy.lib import format as npy

    with archive.open(member) as fh:
        if fh.read(len(npy.MAGIC_PREFIX)) != npy.MAGIC_PREFIX:
            raise UsageError(f"{where}: member {member.filename!r} is no .npy array (as numpy.savez writes)")
        fh.seek(0)
        version = npy.read_magic(fh)
        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, _, dtype = read_header(fh)  # 3.0 is 2.0 in UTF-8: the same sizes
        declared, held = math.prod(shape) * dtype.itemsize, member.file_size - fh.tell()
    if declared > held and not dtype.hasobject:
        raise UsageError(f"{where}: member {member.filename!r} declares a {dtype} array of shape {shape} "
                         f"({declared} bytes) but holds only {held} bytes of data")


def _npz_layout(arrays: dict[str, np.ndarray], where: str) -> str | None:
    """The layout the NPZ file's array ``layout`` names (taken out of ``arrays``), None without one; a UsageError
    for one that is no single text "NCHW" or "NHWC"."""
    value = arrays.pop(NPZ_LAYOUT, None)
    if value is None:
        return None
    layout = str(value.reshape(())) if value.dtype.kind == "U" and value.size == 1 else value
    check_layout(layout, f"{where}: array {NPZ_LAYOUT!r}")
    return layout


def _check_npz_arrays(arrays: dict[str, np.ndarray], where: str, layout: str | None = None) -> None:
    """A UsageError for an NPZ file with ``x`` beside ``x_train``, an empty image array or one
    :func:`~nasforge.data.dataset.check_images` refuses (of layout ``layout``), images without labels (or labels
    without images), a pair of different lengths, or labels that are not a 1-D array of integers
    (:func:`_read_npz` refused any other array)."""
    both = [key for key in ("x", "y") if key in arrays and (key + "_train") in arrays]
    if both:
        raise UsageError(f"{where} holds both {both[0]!r} and {both[0] + '_train'!r}: which is the training set? "
                         "keep one of them")
    for images, labels in NPZ_PAIRS:
        if (images in arrays) != (labels in arrays):
            present, missing = (images, labels) if images in arrays else (labels, images)
            raise UsageError(f"{where} holds {present!r} but not {missing!r}; found {sorted(arrays)}")
        if images not in arrays:
            continue
        x, y = arrays[images], arrays[labels]
        if x.size == 0:
            raise UsageError(f"{where}, array {images!r} holds no images (shape {x.shape})")
        check_images(x, f"{where}, array {images!r}", layout)  # its UsageError (a LayoutUntold keeps its reading)
        if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
            raise UsageError(f"{where}: {images!r} holds {len(x) if x.ndim else 'no'} images but {labels!r} "
                             f"{len(y) if y.ndim else 'no'} labels; give one label per image")
        if y.ndim != 1:
            fix = f"; store {labels}.reshape(-1)" if y.size == len(y) else ""
            raise UsageError(f"{where}: labels {labels!r} must be a 1-D array (one label per image), got shape "
                             f"{y.shape}{fix}")
        if y.dtype.kind not in "iu":
            raise UsageError(f"{where}: labels {labels!r} must be integers, got dtype {y.dtype}")


# -- image folders ---------------------------------------------------------------------------------
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N")  # Pillow modes read as one channel
DEEP_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")  # those of 16-bit grayscale files (PNG, TIFF, PGM)
SPLIT_WORDS = {"train": "training", "val": "validation", "test": "testing"}  # how refusals name the splits
SPLIT_FOLDERS = {"train": ("train", "training", "train_set", "training_set"),
                 "val": ("val", "valid", "validation", "val_set", "valid_set", "validation_set"),
                 "test": ("test", "testing", "test_set", "testing_set")}
"""The names a split folder of an image folder may have, in any case (``Train/``, Kaggle's ``training_set/``)."""
EXIF_ORIENTATION = 0x0112
"""The EXIF tag of how a viewer turns an image (1: as stored); image folders read pixels as stored, and warn."""
FOLDER_RESIZE = "bicubic"
"""How an image folder resizes an image of another size to the first one's (Pillow's ``Image.resize``)."""


def load_image_folder(path: str | Path, seed: int = 0, val_fraction: float = 0.1,
                      test_fraction: float = 0.2, augment: str | None = None) -> ImageDataset:
    """Images in ``path/<class>/`` (split with ``seed``) or in ``path/{train,val,test}/<class>/`` (split folders
    named as in :data:`SPLIT_FOLDERS`, in any case, as :func:`split_folders` tells the layouts apart; without a
    validation folder it is drawn from ``train/``).

    Classes are the sorted sub-folder names (of ``train/`` in the split layout: a validation or ``test/`` class
    that ``train/`` lacks is refused); a class folder without images is refused, and so is a random split that
    leaves a class without training images. Images are read at any depth of a class folder, through symbolic
    links (:func:`_visible_files`); hidden files and folders (``.name``) are skipped; an image outside every class
    folder, or a folder beside ``train/`` that is no split, is refused (it would be ignored). Every image, in
    every split, is converted to grayscale if all of them are grayscale and to RGB otherwise, and resized (Pillow,
    bicubic) to the size of the first image (sorted by path) of the first class of ``train/`` (or of ``path``);
    16-bit grayscale images keep their depth (scale 1/65535) and cannot be mixed with 8-bit ones. Needs Pillow.
    ``augment``: None is "crop_flip".
    """
    check_augment(augment)
    path = data_path("folder", path, "path")
    if not path.is_dir():
        raise UsageError(f"image folder {str(path)!r} is not a directory")
    name = path.resolve().name  # the folder's own name, also for "." or "data/.."
    _check_loose_images(path)
    folders = split_folders(path)
    seen: dict[str, tuple[Path, Path, str, str]] = {}  # each real file in one class of one split only
    if folders:
        classes = _class_names(folders["train"], at_least=2)
        files = {split: _image_files(folder, classes, seen, split) for split, folder in folders.items()}
        with _memory_refusal(files):
            splits, scale, size = _read_images(files)
            if "val" not in splits:
                x, y = splits["train"]
                tr, va, _ = split_indices(len(y), val_fraction, 0.0, seed, f"image folder {str(path)!r}")
                check_drawn_split(name, y, tr, seed, classes, own_split="your own val/ folder")
                splits["train"], splits["val"] = (x[tr], y[tr]), (x[va], y[va])
            return from_arrays(name, splits["train"], splits["val"], splits["test"], scale=scale,
                               class_names=classes, resize=_folder_resize(size), augment=augment, layout="NCHW")
    classes = _class_names(path, at_least=2)
    files = {"all": _image_files(path, classes, seen)}
    with _memory_refusal(files):
        splits, scale, size = _read_images(files)
        x, y = splits["all"]
        tr, va, te = split_indices(len(y), val_fraction, test_fraction, seed, f"image folder {str(path)!r}")
        check_drawn_split(name, y, tr, seed, classes, own_split="your own train/ and test/ (and val/) folders")
        return from_arrays(name, (x[tr], y[tr]), (x[va], y[va]), (x[te], y[te]), scale=scale, class_names=classes,
                           resize=_folder_resize(size), augment=augment, layout="NCHW")


@contextmanager
def _memory_refusal(splits: dict[str, list[tuple[Path, int]]]) -> Iterator[None]:
    """Reading image folder ``splits`` (its (file, label) pairs by split), with a ``MemoryError`` refused as too
    large for this process (:func:`_too_large`)."""
    try:
        yield
    except MemoryError:
        first = next(file for files in splits.values() for file, _ in files)
        with _opened(first) as img:
            refusal = _too_large(first, img, sum(len(files) for files in splits.values()), None)
        raise UsageError(refusal) from None


def _too_large(first: Path, img: PillowImage, count: int, available: int | None) -> str | None:
    """The refusal of an image folder's ``count`` images when, each at the size of its first one (``img``, in file
    ``first``, as :func:`_read_images` resizes them) and copied as float32 (4 bytes a value, as :func:`from_arrays`
    makes them), they need more than ``available`` bytes (None: when they did not fit in memory): one line naming
    the first image, its size, the image count and the memory needed; None when they fit."""
    (width, height), channels = img.size, 1 if img.mode in GRAY_MODES else 3
    need = count * channels * width * height * 4
    if available is not None and need <= available:
        return None
    than = "than could be allocated" if available is None else f"than the {available / 2**30:.3g} GiB available"
    return (f"image folder: every image is read at the size of the first one, {str(first)!r}, {width}x{height} "
            f"pixels, so its {count} images need at least {need / 2**30:.3g} GiB of memory, more {than}; resize the "
            "images to one size first, or move that image out (or rename it so that an image of the size you want "
            "sorts first)")


def available_memory() -> int | None:
    """The bytes of memory available to a new allocation: Linux's MemAvailable, else the machine's physical
    memory; None where neither is known (no image folder is refused then)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            return next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def _folder_resize(size: tuple[int, int] | None) -> tuple[dict, ...]:
    """The resize step of an image folder whose images of another size were resized to (height, width) ``size``;
    none for None (every image had the first one's size)."""
    if size is None:
        return ()
    return ({"to": list(size), "method": FOLDER_RESIZE, "by": "PIL.Image.Image.resize", "on": "raw pixels"},)


def split_folders(path: Path) -> dict[str, Path]:
    """The split folders of ``path``: "train", "test" and, where there is one, "val" (named as in
    :data:`SPLIT_FOLDERS`, any case); empty when ``path`` holds class folders.

    ``path`` has the split layout when it holds a lower-case ``train/`` (as it always did), when every visible
    folder in it has a split name and one of them is a training split (``Train/`` + ``Test/``, ``training_set/`` +
    ``test_set/``), or when a training-split folder holds the same class folders as a test or validation one
    (``Training/{cat,dog}`` + ``Testing/{cat,dog}`` beside ``unlabeled/``); otherwise its folders are classes
    (``Bus/``, ``Car/``, ``Train/``). In the split layout a ValueError for a training folder without a test one,
    two folders of one split, or another visible folder beside them (its images would be ignored); a ValueError for
    a broken symbolic link in ``path`` (:func:`_folder_names`)."""
    folders = _folder_names(path)
    found = {split: [f for f in folders if f.lower() in names] for split, names in SPLIT_FOLDERS.items()}
    all_splits = sum(len(names) for names in found.values()) == len(folders)
    if "train" not in folders and not (found["train"] and all_splits) and not _same_classes(path, found):
        return {}
    where = f"image folder {str(path)!r}"
    no_split = sorted(set(folders) - {name for names in found.values() for name in names})
    as_class = (f"; a folder named train/ is read as the training split: if train/ is a class beside "
                f"{', '.join(f'{name}/' for name in no_split)}, rename it Train/ (read as a class beside other class "
                "folders)") if "train" in folders and no_split and not _same_classes(path, found) else ""
    if not found["test"]:
        raise MissingFileError(f"{where} has {found['train'][0]}/ but no test split folder "
                               f"({', '.join(SPLIT_FOLDERS['test'])}; any case){as_class}")
    twice = next(((split, names) for split, names in found.items() if len(names) > 1), None)
    if twice:
        split = {"train": "training", "val": "validation", "test": "test"}[twice[0]]
        raise UsageError(f"{where} has {len(twice[1])} {split} folders {twice[1]}; keep one")
    other = sorted(set(folders) - {names[0] for names in found.values() if names})
    if other:
        raise UsageError(f"{where} has {found['train'][0]}/ and folder(s) {other} that are no split (names, in any "
                         f"case: {', '.join(n for names in SPLIT_FOLDERS.values() for n in names)}): move their "
                         f"images into a split{as_class}")
    return {split: path / names[0] for split, names in found.items() if names}


def _same_classes(path: Path, found: dict[str, list[str]]) -> bool:
    """Whether a training-split folder of ``path`` holds the same (non-empty) class folders as one of its test or
    validation folders: a split layout, whatever else lies beside it."""
    if not found["train"]:
        return False
    train = _folder_names(path / found["train"][0])
    return bool(train) and any(_folder_names(path / name) == train for name in found["test"] + found["val"])


def stored_splits(name: str, data_dir: str | Path) -> dict[str, str]:
    """The splits ("val", "test") that data set ``name``'s files at ``data_dir`` hold themselves, each with what
    holds it (so no fraction draws it); empty where the files cannot be read (loading them says why)."""
    path = Path(data_dir).expanduser()
    if name in ("cifar10", "cifar100"):  # only where the batches are there: a folder without them is said so
        return {} if _cifar_folder(path, int(name.removeprefix("cifar"))) is None else {"test": "its own test batch"}
    if name == "npz" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            arrays = {member.removesuffix(".npy") for member in archive.namelist()}
        return {split: f"its array 'x_{split}'" for split in ("val", "test") if f"x_{split}" in arrays}
    if name == "folder" and path.is_dir():
        try:
            folders = split_folders(path)
        except (ValueError, OSError):
            return {}
        return {split: f"its folder {folder.name}/" for split, folder in folders.items() if split != "train"}
    return {}


def _check_loose_images(folder: Path) -> None:
    """A ValueError for image files directly in ``folder``, outside every class folder (they would be ignored)."""
    loose = sorted(p.name for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in LOOSE_SUFFIXES)
    if loose:
        raise UsageError(f"image folder {str(folder)!r} holds {len(loose)} image(s) outside any class folder "
                         f"({', '.join(loose[:3])}{', ...' if len(loose) > 3 else ''}), which would be ignored; "
                         "move them into a class folder")


def _folder_names(folder: Path) -> list[str]:
    """The sorted names of the visible (not ``.hidden``) sub-folders of ``folder``; a ValueError naming a visible
    broken symbolic link in it (a class or split folder whose target is missing would be skipped)."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    broken = sorted(str(p) for p in entries if p.is_symlink() and not p.exists())
    if broken:
        raise UsageError(f"image folder {str(folder)!r} holds a broken symbolic link {broken[0]!r} (its target is "
                         "missing): fix or remove it")
    return sorted(p.name for p in entries if p.is_dir())


def _class_names(folder: Path, at_least: int = 1) -> list[str]:
    """The sorted names of the visible (not ``.hidden``) sub-folders of ``folder`` (:func:`_folder_names`); a
    ValueError for fewer than ``at_least`` (a training split needs 2 classes: with one, every network scores
    100%); a warning for two names that differ only in how accents are written (:func:`_same_letters`)."""
    classes = _folder_names(folder)
    if not classes:
        raise UsageError(f"image folder {str(folder)!r} has no class sub-folders (expected {folder}/<class>/<image>)")
    if len(classes) < at_least:
        raise UsageError(f"image folder {str(folder)!r} has {len(classes)} class folder {classes}: a classifier "
                         f"needs at least {at_least} classes (one sub-folder each)")
    forms: dict[str, list[str]] = {}
    for name in classes:
        forms.setdefault(unicodedata.normalize("NFC", name), []).append(name)
    twice = next((names for names in forms.values() if len(names) > 1 and _same_letters(names)), None)
    if twice:  # e.g. 'café' copied from macOS (NFD) beside one typed on Linux (NFC): one class split in two
        warnings.warn(f"image folder {str(folder)!r} has class folders {' and '.join(map(ascii, twice))}, whose "
                      "names differ only in how their letters are written (NFC/NFD: an accent or a Korean syllable "
                      "as one character or in parts), so they load as two classes; if they are one, move the images "
                      "of one into the other (a stored run on this folder resumes as it was, on its two classes)")
    return classes


def _same_letters(names: list[str]) -> bool:
    """Whether ``names``, equal in NFC, differ by how their letters are written (one is decomposed, as macOS
    writes an accent or Korean syllables apart): not distinct characters that NFC maps onto one (CJK compatibility
    ideographs such as U+F914 and U+6A02)."""
    return any(unicodedata.is_normalized("NFD", name) and not unicodedata.is_normalized("NFC", name)
               for name in names)


def _image_files(folder: Path, classes: list[str], seen: dict[str, tuple[Path, Path, str, str]] | None = None,
                 split: str = "all") -> list[tuple[Path, int]]:
    """(image file, label) of the images at any depth of ``folder/<class>/`` for each of ``classes``; a
    ValueError for a class folder without images, or holding a file that is no image (by its suffix; hidden
    files and :data:`OS_FILES` are skipped), or not among ``classes`` (those of the training split), or for an
    image directly in ``folder``. ``seen`` (shared by every split of a data set) maps the real path of each file
    read so far to where it was read (file, split folder, split, class): a file that symbolic links make an image
    of another class or split is a ValueError (:func:`_check_linked`); None: ``folder`` (split ``split``) alone."""
    seen = {} if seen is None else seen
    _check_loose_images(folder)
    unknown = sorted(set(_class_names(folder)) - set(classes))
    if unknown:
        trained = {unicodedata.normalize("NFC", name): name for name in classes}
        alike = [f"{ascii(name)} differs from training class {ascii(trained[form])} only in Unicode form (NFC/NFD)"
                 for name in unknown if (form := unicodedata.normalize("NFC", name)) in trained
                 and _same_letters([name, trained[form]])]
        raise UsageError(f"{str(folder)!r} has class folder(s) {unknown} that the training split lacks"
                         + (f": {'; '.join(alike)}; give both folders the same name" if alike else ""))
    files: list[tuple[Path, int]] = []
    parents: dict[Path, str] = {}
    for label, name in enumerate(classes):
        if (folder / name).is_dir():
            found = _visible_files(folder / name)
            others = [str(file.relative_to(folder / name)) for file in found
                      if file.suffix.lower() not in IMAGE_SUFFIXES]
            if others:
                raise UsageError(f"class folder {str(folder / name)!r} holds {len(others)} file(s) that are no "
                                 f"image: {', '.join(others[:3])}{', ...' if len(others) > 3 else ''} (images end in "
                                 f"{', '.join(IMAGE_SUFFIXES)}; hidden files, Thumbs.db and desktop.ini are "
                                 "skipped): move them out of the class folders")
            if not found:
                raise UsageError(f"class folder {str(folder / name)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
            for file in found:
                _check_linked(file, folder, split, name, seen, parents)
            files += [(file, label) for file in found]
    return files


def _check_linked(file: Path, folder: Path, split: str, name: str, seen: dict[str, tuple[Path, Path, str, str]],
                  parents: dict[Path, str]) -> None:
    """Records image ``file`` of class ``name`` in split ``split`` (folder ``folder``) in ``seen`` by its real
    path; a ValueError naming both paths when symbolic links made that real file an image of another class or
    split already (its label would be ambiguous, or an image of one split one of another). Hard links are
    separate files, as copies are, and a file linked twice into one class is read twice, as it always was.
    ``parents``: the real path of each folder met so far."""
    first = seen.setdefault(_real_path(file, parents), (file, folder, split, name))
    if first[2:] == (split, name):
        return
    if first[2] == split:
        where = f"class {first[3]!r} and class {name!r}"
    else:
        where = (f"the split folders {first[1].name}/ and {folder.name}/ (the same images in "
                 f"{SPLIT_WORDS.get(first[2], first[2])} and {SPLIT_WORDS.get(split, split)})")
    raise UsageError(f"image folder: {str(file)!r} and {str(first[0])!r} are the same file (through a symbolic "
                     f"link), so it would be read in both {where}: remove the link, or keep one copy")


def _real_path(file: Path, parents: dict[Path, str]) -> str:
    """``os.path.realpath(file)``, resolving its folder once (kept in ``parents``) where ``file`` is no link."""
    if file.is_symlink():
        return os.path.realpath(file)
    if file.parent not in parents:
        parents[file.parent] = os.path.realpath(file.parent)
    return os.path.join(parents[file.parent], file.name)


def _visible_files(folder: Path) -> list[Path]:
    """The files at any depth under ``folder``, sorted, skipping hidden files and folders (names starting with
    '.', such as ``.ipynb_checkpoints`` or macOS ``._name`` files) and :data:`OS_FILES`.

    Symbolic links are followed, also out of ``folder``, and each real folder is read once: a link to a folder
    already read (``latest -> 2019``; real folders are read before the links beside them) is skipped. A
    ValueError for a link loop (a link to a folder that holds it) or a broken link."""
    found, read = [], {os.path.realpath(folder)}
    for root, dirs, names in os.walk(folder, followlinks=True):
        here, kept = os.path.realpath(root), []
        for name in sorted((d for d in dirs if not d.startswith(".")),
                           key=lambda d: (os.path.islink(os.path.join(root, d)), d)):
            real = os.path.realpath(os.path.join(root, name))
            if os.path.commonpath([here, real]) == real:
                raise UsageError(f"class folder {str(folder)!r}: {os.path.join(root, name)!r} is a symbolic link to "
                                 f"{real!r}, which holds it (a link loop): remove the link")
            if real not in read:
                read.add(real)
                kept.append(name)
        dirs[:] = kept
        files = [Path(root) / name for name in names if not name.startswith(".") and name.lower() not in OS_FILES]
        broken = [str(file) for file in files if not file.exists()]
        if broken:
            raise UsageError(f"class folder {str(folder)!r} holds a broken symbolic link {broken[0]!r} (its target "
                             "is missing): fix or remove it")
        found += files
    return sorted(found)


def _read_images(splits: dict[str, list[tuple[Path, int]]]) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float,
                                                                      tuple[int, int] | None]:
    """Each split's (images, labels) from its (file, label) pairs, all converted by one rule, their pixel scale
    and the (height, width) images of another size were resized to (None if there were none): 16-bit grayscale
    as uint16 (scale 1/65535; then every image must be), else uint8 (scale 1/255), grayscale if every image (of
    every split) is, else RGB, at the size of the first image of the first split (:data:`FOLDER_RESIZE`); images
    (N, 3, H, W) or, grayscale, (N, H, W). A palette image (GIF) counts as color, also one with only gray
    colors: it is read as RGB, as it always was, so studies and supernets stored on such images keep their data.

    Each file is opened once: a grayscale image is read as one channel, and repeated into three (as Pillow
    converts it to RGB) once a color image is met; an image of the first one's size is not resampled. Images that
    would need more memory than is available (:func:`_too_large`) are refused when the first one is opened."""
    total = sum(len(files) for files in splits.values())
    first: dict[str, Path] = {}  # "deep" / "8-bit": the first file of each bit depth
    size, resized, color, transparent, rotated = None, False, False, [], []
    arrays: dict[str, list[np.ndarray]] = {}
    for split, files in splits.items():
        arrays[split] = []
        for file, _ in files:
            with _opened(file) as img:
                if img.mode == "F":
                    raise UsageError(f"image {str(file)!r} holds floating-point pixels (Pillow mode F), which image "
                                     "folders do not read: save it with 8- or 16-bit integer pixels, or store the "
                                     "images as a float array in an NPZ file (--data npz)")
                first.setdefault("deep" if img.mode in DEEP_MODES else "8-bit", file)
                if len(first) > 1:
                    raise UsageError(f"images mix 16-bit grayscale ({str(first['deep'])!r}) and 8-bit pixels "
                                     f"({str(first['8-bit'])!r}); convert them to one bit depth")
                if size is None:
                    size, available = img.size, available_memory()
                    refusal = None if available is None else _too_large(file, img, total, available)
                    if refusal:
                        raise UsageError(refusal)
                resized = resized or img.size != size
                mode = "F" if img.mode in DEEP_MODES else "L" if img.mode in GRAY_MODES else "RGB"
                color = color or mode == "RGB"
                if _transparent(img):
                    transparent.append(file)
                arrays[split].append(_pixels(img, file, mode, size))
                if _orientation(img) not in (0, 1):
                    rotated.append(file)
    if rotated:
        warnings.warn(f"{len(rotated)} of {total} images carry an EXIF orientation (e.g. {str(rotated[0])!r}), which "
                      "is not applied: they are read as stored, which a viewer shows rotated or mirrored (a phone "
                      "photo sideways); rotate them first (PIL.ImageOps.exif_transpose) if that matters",
                      UserWarning, stacklevel=4)
    if transparent:
        warnings.warn(f"{len(transparent)} of {total} images have transparent pixels (e.g. {str(transparent[0])!r}): "
                      "their alpha channel is dropped and each pixel's stored color kept; if the shapes are drawn in "
                      "the alpha channel (icons), flatten the images onto a background first", UserWarning,
                      stacklevel=4)
    images = {split: [x if x.ndim == 3 or not color else np.repeat(x[..., None], 3, axis=2) for x in found]
              for split, found in arrays.items()}
    # NCHW (RGB), as the loader tells from_arrays (RGB 3x5 images, (N, 3, 3, 5), are no 3x3 images of 5 channels),
    # or NHW (grayscale)
    out = {split: (np.stack(images[split]).transpose(0, 3, 1, 2) if color else np.stack(images[split]),
                   np.asarray([label for _, label in files], dtype=np.int64)) for split, files in splits.items()}
    return out, 1.0 / 65535.0 if "deep" in first else 1.0 / 255.0, (size[1], size[0]) if resized else None


def _orientation(img: PillowImage) -> int:
    """The EXIF orientation of (loaded) ``img``: 1 (as stored) for an image without EXIF data."""
    if "exif" not in img.info and img.format != "TIFF":  # getexif() costs more than reading a small image
        return 1
    return int(img.getexif().get(EXIF_ORIENTATION, 1))


def _transparent(img: PillowImage) -> bool:
    """Whether ``img`` has an alpha channel (or a transparent palette color) that is not opaque everywhere."""
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return img.getchannel("A").getextrema()[0] < 255
    if "transparency" in img.info and img.mode in ("P", "L", "RGB"):
        return img.convert("RGBA" if img.mode != "L" else "LA").getchannel("A").getextrema()[0] < 255
    return False


def _pixels(img: PillowImage, file: Path, mode: str, size: tuple[int, int]) -> np.ndarray:
    """``img`` converted to ``mode`` and resized (:data:`FOLDER_RESIZE`) to ``size`` (width, height) unless it
    has that size: uint8, or uint16 for "F" (16-bit grayscale)."""
    from PIL import Image

    resample = getattr(Image.Resampling, FOLDER_RESIZE.upper())
    if mode != "F":
        img = img.convert(mode)
        return np.asarray(img if img.size == size else img.resize(size, resample), dtype=np.uint8)
    img = img.convert("F")  # 16-bit values are exact in float32, and resize well
    low, high = img.getextrema()
    if low < 0 or high > 65535:
        raise UsageError(f"image {str(file)!r} is not 16-bit: its pixels span {low:g}..{high:g}")
    return np.rint(np.clip(np.asarray(img if img.size == size else img.resize(size, resample)), 0,
                           65535)).astype(np.uint16)


@contextmanager
def _opened(file: Path) -> Iterator[PillowImage]:
    """The Pillow image in ``file``; a ValueError naming the file when it cannot be read (corrupt, truncated or
    not an image) while open: Pillow says so with an OSError, or, for a damaged header, with a ValueError,
    SyntaxError, EOFError or struct.error."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("reading image folders needs Pillow: pip install pillow") from None
    try:
        with Image.open(file) as img:
            yield img
    except UsageError:  # a refusal of the image while open, naming it already
        raise
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, Image.DecompressionBombError) as exc:
        raise UsageError(f"cannot read image {str(file)!r}: {exc}") from None
