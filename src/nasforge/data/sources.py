"""Where data sets come from: embedded digits, CIFAR python batches, NPZ files and image folders.

``load_dataset(name, data_dir=None, seed=0)`` is the one entry point; every loader returns an
:class:`ImageDataset` with a seeded train/validation/test split.
"""

from __future__ import annotations

import os
import pickle
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..exceptions import UsageError
from .dataset import ImageDataset, check_finite, from_arrays, split_indices

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

DATASETS = ("digits", "cifar10", "cifar100", "npz", "folder")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
OS_FILES = ("thumbs.db", "desktop.ini")
"""Files an operating system leaves in image folders (lower case): skipped, like hidden files."""


def load_dataset(name: str, data_dir: str | Path | None = None, seed: int = 0,
                 val_fraction: float = 0.1, test_fraction: float = 0.2) -> ImageDataset:
    """Load data set ``name``: "digits" (embedded, no download), "cifar10"/"cifar100" (a local folder in the
    python-batch format), "npz" (``data_dir`` is a .npz file) or "folder" (``data_dir`` holds class folders).

    Sources without a validation split get one: ``val_fraction`` of their training images, chosen with
    ``seed``; a single image folder or NPZ ``x, y`` pair is split ``1 - val - test : val : test``.
    Digits always uses its fixed 60/20/20 split.
    """
    if name == "digits":
        return load_digits(seed)
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose from {list(DATASETS)}")
    if data_dir is None:
        raise ValueError(f"data set {name!r} needs a data directory (--data-dir PATH)")
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"data path {str(path)!r} for data set {name!r} does not exist")
    if name in ("cifar10", "cifar100"):
        return load_cifar(path, classes=int(name.removeprefix("cifar")), seed=seed, val_fraction=val_fraction)
    if name == "npz":
        return load_npz(path, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
    return load_image_folder(path, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)


def load_digits(seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2,
                noise: float = 0.0) -> ImageDataset:
    """scikit-learn's 1,797 8x8 handwritten digits, split 60/20/20 with ``seed`` (shift augmentation only).

    ``noise``: the std of fixed Gaussian pixel noise (the same for every seed; 1 is the whole pixel range) added
    to every image. Raw pixels are 0..16: the data set's ``scale`` (1/16) reads noise-free digits."""
    from sklearn.datasets import load_digits as sk_digits

    digits = sk_digits()
    images, labels = digits.images.astype(np.float32), digits.target.astype(np.int64)  # pixels 0..16
    if noise:  # added in 0..1 units; times 16 and back by the scale are exact (a power of two)
        images = (images / 16 + np.random.default_rng(1234).normal(0.0, noise, images.shape).astype(np.float32)) * 16
    train, val, test = split_indices(len(labels), val_fraction, test_fraction, seed)
    return from_arrays("digits", (images[train], labels[train]), (images[val], labels[val]),
                       (images[test], labels[test]), num_classes=10, augment="crop", scale=1.0 / 16.0,
                       class_names=[str(i) for i in range(10)])


# -- CIFAR ------------------------------------------------------------------------------------------
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
_CIFAR_LAYOUT = {10: ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch", b"labels"),
                 100: ("cifar-100-python", ["train"], "test", b"fine_labels")}


class _ArrayUnpickler(pickle.Unpickler):
    """Reads CIFAR batches (pickled dicts of NumPy arrays and lists) and refuses every other object type,
    so a crafted file cannot run code. ``_codecs.encode``, with which Python 3 writes bytes in protocol 2,
    is answered by :func:`_latin1_bytes`, which only turns latin-1 text into bytes."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle protocol
        if (module, name) == ("_codecs", "encode"):
            return _latin1_bytes
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: CIFAR batches hold only arrays")
        return super().find_class(module, name)


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """``_codecs.encode(text, "latin1")`` as a Python 3 protocol-2 pickle calls it to rebuild bytes; any other
    call is refused."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError(f"refusing _codecs.encode({type(text).__name__}, {encoding!r}): only "
                                     "latin1 text becomes bytes in a CIFAR batch")
    return text.encode("latin1")


def _read_cifar_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR batch file {str(path)!r} is missing")
    try:
        with path.open("rb") as fh:
            batch = _ArrayUnpickler(fh, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} is not a CIFAR python batch: {exc}") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{str(path)!r} is not a CIFAR python batch: it holds a {type(batch).__name__}, not a dict")
    missing = [key for key in (b"data", label_key) if key not in batch]
    if missing:
        raise ValueError(f"{str(path)!r} is not a CIFAR python batch: it has no entry {missing[0]!r} (a bytes key; "
                         f"its keys are {', '.join(map(repr, batch)) or 'none'})")
    try:
        data, labels = np.asarray(batch[b"data"]), np.asarray(batch[label_key], dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} is not a CIFAR python batch: {exc}") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(f"{str(path)!r}: expected data of shape (N, 3072) and N labels, "
                         f"got {data.shape} and {labels.shape}")
    if not np.issubdtype(data.dtype, np.integer) or (data.size and (data.min() < 0 or data.max() > 255)):
        span = f"{data.min()}..{data.max()}" if data.size and np.issubdtype(data.dtype, np.number) else "none"
        raise ValueError(f"{str(path)!r}: pixels must be integers 0..255, got dtype {data.dtype} spanning {span}")
    return data.astype(np.uint8).reshape(-1, 3, 32, 32), labels


def load_cifar(path: Path, classes: int = 10, seed: int = 0, val_fraction: float = 0.1) -> ImageDataset:
    """CIFAR-10/100 from the python-batch folder (``path`` is that folder or its parent); CIFAR-100's class
    names come from its ``meta`` file when there is one."""
    folder_name, train_files, test_file, label_key = _CIFAR_LAYOUT[classes]
    folder = path / folder_name if (path / folder_name).is_dir() else path
    if not (folder / test_file).is_file():
        raise FileNotFoundError(f"no CIFAR-{classes} python batches in {str(path)!r}: expected "
                                f"{folder_name}/{test_file} and {', '.join(train_files)}")
    parts = [_read_cifar_batch(folder / f, label_key) for f in train_files]
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    x_test, y_test = _read_cifar_batch(folder / test_file, label_key)
    train, val, _ = split_indices(len(y), val_fraction, 0.0, seed)
    names = CIFAR10_CLASSES if classes == 10 else _cifar100_class_names(folder / "meta")
    return from_arrays(f"cifar{classes}", (x[train], y[train]), (x[val], y[val]), (x_test, y_test),
                       num_classes=classes, augment="crop_flip", class_names=names)


def _cifar100_class_names(path: Path) -> list[str] | None:
    """The 100 ``fine_label_names`` of CIFAR-100's ``meta`` file, or None when there is no such file."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            names = _ArrayUnpickler(fh, encoding="bytes").load()[b"fine_label_names"]
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} is not a CIFAR-100 meta file: {exc}") from None
    if not isinstance(names, list) or len(names) != 100 or not all(isinstance(n, (bytes, str)) for n in names):
        raise ValueError(f"{str(path)!r}: fine_label_names must be a list of 100 names")
    return [name.decode("utf-8") if isinstance(name, bytes) else name for name in names]


# -- NPZ -------------------------------------------------------------------------------------------
NPZ_PAIRS = (("x_train", "y_train"), ("x_val", "y_val"), ("x_test", "y_test"), ("x", "y"))


def load_npz(path: Path, seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.2) -> ImageDataset:
    """Arrays ``x_train, y_train, x_test, y_test`` (optionally ``x_val, y_val``), or ``x, y`` (optionally
    with ``x_val, y_val`` and/or ``x_test, y_test``) whose missing splits are drawn from ``x, y`` with ``seed``.

    Refused: images without their labels (or labels without images), a pair of different lengths, ``x, y``
    beside ``x_train, y_train`` (two training sets) and any other array (it would be ignored).
    Images: NHW, NCHW or NHWC; uint8 (scaled by 1/255) or float."""
    if not path.is_file() or not zipfile.is_zipfile(path):  # np.load would read .npy or pickle files too
        raise UsageError(f"{str(path)!r} is not a readable NPZ archive (a zip of arrays, as numpy.savez writes)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise UsageError(f"cannot read NPZ file {str(path)!r}: {exc}") from None
    where = f"NPZ file {str(path)!r}"
    _check_npz_arrays(arrays, where)
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
                                   test_fraction if test is None else 0.0, seed)
        train = x[tr], y[tr]
        val = (x[va], y[va]) if val is None else val
        test = (x[te], y[te]) if test is None else test
    return _classifiable(from_arrays(path.stem, train, val, test), where)


def _classifiable(data: ImageDataset, where: str) -> ImageDataset:
    """``data``, or a UsageError when it has fewer than 2 classes (every network would score 100%)."""
    if data.num_classes < 2:
        raise UsageError(f"{where} holds {data.num_classes} class: a classifier needs at least 2 classes")
    return data


def _check_npz_arrays(arrays: dict[str, np.ndarray], where: str) -> None:
    """A UsageError for an NPZ file with unknown arrays, ``x`` beside ``x_train``, an empty or non-finite image
    array, images without labels (or labels without images) or a pair of different lengths."""
    known = {key for pair in NPZ_PAIRS for key in pair}
    unknown = sorted(set(arrays) - known)
    if unknown:
        raise UsageError(f"{where} holds array(s) {unknown} that nasforge does not read; accepted: x_train, "
                         "y_train, x_test, y_test (optionally x_val, y_val), or x, y (optionally x_val, y_val, "
                         "x_test, y_test)")
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
        check_finite(x, f"{where}, array {images!r}")
        if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
            raise UsageError(f"{where}: {images!r} holds {len(x) if x.ndim else 'no'} images but {labels!r} "
                             f"{len(y) if y.ndim else 'no'} labels; give one label per image")


# -- image folders ---------------------------------------------------------------------------------
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N")  # Pillow modes read as one channel
DEEP_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")  # those of 16-bit grayscale files (PNG, TIFF, PGM)
VAL_FOLDERS = ("val", "valid", "validation")  # the names the validation split's folder may have


def load_image_folder(path: Path, seed: int = 0, val_fraction: float = 0.1,
                      test_fraction: float = 0.2) -> ImageDataset:
    """Images in ``path/<class>/`` (split with ``seed``) or in ``path/{train,val,test}/<class>/`` (the validation
    folder may also be named ``valid/`` or ``validation/``; without one it is drawn from ``train/``).

    Classes are the sorted sub-folder names (of ``train/`` in the split layout: a validation or ``test/`` class
    that ``train/`` lacks is refused); a class folder without images is refused, and so is a random split that
    leaves a class without training images. Images are read at any depth of a class folder; hidden files and
    folders (``.name``) are skipped; an image outside every class folder, or a folder beside ``train/`` that
    is no split, is refused (it would be ignored). Every image, in every split, is converted to grayscale if
    all of them are grayscale and to RGB otherwise, and resized to the first training image's size; 16-bit
    grayscale images keep their depth (scale 1/65535) and cannot be mixed with 8-bit ones. Needs Pillow.
    """
    if not path.is_dir():
        raise ValueError(f"image folder {str(path)!r} is not a directory")
    name = path.resolve().name  # the folder's own name, also for "." or "data/.."
    if (path / "train").is_dir():
        _check_loose_images(path)
        classes = _class_names(path / "train", at_least=2)
        splits, scale = _read_images({split: _image_files(folder, classes)
                                      for split, folder in _split_folders(path).items()})
        if "val" not in splits:
            x, y = splits["train"]
            tr, va, _ = split_indices(len(y), val_fraction, 0.0, seed)
            splits["train"], splits["val"] = (x[tr], y[tr]), (x[va], y[va])
        return from_arrays(name, splits["train"], splits["val"], splits["test"], scale=scale, class_names=classes)
    classes = _class_names(path, at_least=2)
    splits, scale = _read_images({"all": _image_files(path, classes)})
    x, y = splits["all"]
    tr, va, te = split_indices(len(y), val_fraction, test_fraction, seed)
    return from_arrays(name, (x[tr], y[tr]), (x[va], y[va]), (x[te], y[te]), scale=scale, class_names=classes)


def _split_folders(path: Path) -> dict[str, Path]:
    """The split folders of ``path/{train,val,test}/``: train, test and, where there is one, the validation folder
    (``val/``, ``valid/`` or ``validation/``); a ValueError for no ``test/``, two validation folders or
    another visible folder (its images would be ignored)."""
    folders = {p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")}
    if "test" not in folders:
        raise FileNotFoundError(f"image folder {str(path)!r} has train/ but no test/ split")
    val = sorted(folders & set(VAL_FOLDERS))
    if len(val) > 1:
        raise ValueError(f"image folder {str(path)!r} has {len(val)} validation folders {val}; keep one")
    other = sorted(folders - {"train", "test", *VAL_FOLDERS})
    if other:
        raise ValueError(f"image folder {str(path)!r} has train/ and folder(s) {other} that are no split (train, "
                         f"test, and {', '.join(VAL_FOLDERS)} for validation): move their images into a split")
    return {"train": path / "train", **{"val": path / v for v in val}, "test": path / "test"}


def _check_loose_images(folder: Path) -> None:
    """A ValueError for image files directly in ``folder``, outside every class folder (they would be ignored)."""
    loose = sorted(p.name for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)
    if loose:
        raise ValueError(f"image folder {str(folder)!r} holds {len(loose)} image(s) outside any class folder "
                         f"({', '.join(loose[:3])}{', ...' if len(loose) > 3 else ''}), which would be ignored; "
                         "move them into a class folder")


def _class_names(folder: Path, at_least: int = 1) -> list[str]:
    """The sorted names of the visible (not ``.hidden``) sub-folders of ``folder``; a ValueError for fewer than
    ``at_least`` (a training split needs 2 classes: with one, every network scores 100%)."""
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ValueError(f"image folder {str(folder)!r} has no class sub-folders (expected {folder}/<class>/<image>)")
    if len(classes) < at_least:
        raise ValueError(f"image folder {str(folder)!r} has {len(classes)} class folder {classes}: a classifier "
                         f"needs at least {at_least} classes (one sub-folder each)")
    return classes


def _image_files(folder: Path, classes: list[str]) -> list[tuple[Path, int]]:
    """(image file, label) of the images at any depth of ``folder/<class>/`` for each of ``classes``; a
    ValueError for a class folder without images, or holding a file that is no image (by its suffix; hidden
    files and :data:`OS_FILES` are skipped), or not among ``classes`` (those of the training split), or for an
    image directly in ``folder``."""
    _check_loose_images(folder)
    unknown = sorted(set(_class_names(folder)) - set(classes))
    if unknown:
        raise ValueError(f"{str(folder)!r} has class folder(s) {unknown} that the training split lacks")
    files = []
    for label, name in enumerate(classes):
        if (folder / name).is_dir():
            found = _visible_files(folder / name)
            others = [str(file.relative_to(folder / name)) for file in found
                      if file.suffix.lower() not in IMAGE_SUFFIXES]
            if others:
                raise ValueError(f"class folder {str(folder / name)!r} holds {len(others)} file(s) that are no "
                                 f"image: {', '.join(others[:3])}{', ...' if len(others) > 3 else ''} (images end in "
                                 f"{', '.join(IMAGE_SUFFIXES)}; hidden files, Thumbs.db and desktop.ini are "
                                 "skipped): move them out of the class folders")
            if not found:
                raise ValueError(f"class folder {str(folder / name)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
            files += [(file, label) for file in found]
    return files


def _visible_files(folder: Path) -> list[Path]:
    """The files at any depth under ``folder``, sorted, skipping hidden files and folders (names starting with
    '.', such as ``.ipynb_checkpoints`` or macOS ``._name`` files) and :data:`OS_FILES`."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        found += [Path(root) / name for name in names if not name.startswith(".") and name.lower() not in OS_FILES]
    return sorted(found)


def _read_images(splits: dict[str, list[tuple[Path, int]]]) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float]:
    """Each split's (images, labels) from its (file, label) pairs, all converted by one rule, and their pixel
    scale: 16-bit grayscale as uint16 (scale 1/65535; then every image must be), else uint8 (scale 1/255),
    grayscale if every image (of every split) is, else RGB, at the size of the first image of the first split."""
    headers = {}  # file: (mode, size), of every image; opening reads the header only
    for files in splits.values():
        for file, _ in files:
            with _opened(file) as img:
                headers[file] = img.mode, img.size
            if img.mode == "F":
                raise ValueError(f"image {str(file)!r} holds floating-point pixels (Pillow mode F), which image "
                                 "folders do not read: save it with 8- or 16-bit integer pixels, or store the "
                                 "images as a float array in an NPZ file (--data npz)")
    deep = [file for file, (image_mode, _) in headers.items() if image_mode in DEEP_MODES]
    if deep and len(deep) < len(headers):
        other = next(file for file, (image_mode, _) in headers.items() if image_mode not in DEEP_MODES)
        raise ValueError(f"images mix 16-bit grayscale ({str(deep[0])!r}) and 8-bit pixels ({str(other)!r}); "
                         "convert them to one bit depth")
    mode = "F" if deep else "L" if all(image_mode in GRAY_MODES for image_mode, _ in headers.values()) else "RGB"
    size = next(iter(headers.values()))[1]
    arrays = {}
    for split, files in splits.items():
        images = []
        for file, _ in files:
            with _opened(file) as img:
                images.append(_pixels(img, file, mode, size))
        arrays[split] = np.stack(images), np.asarray([label for _, label in files], dtype=np.int64)
    return arrays, 1.0 / 65535.0 if deep else 1.0 / 255.0


def _pixels(img: PillowImage, file: Path, mode: str, size: tuple[int, int]) -> np.ndarray:
    """``img`` converted to ``mode`` and resized to ``size``: uint8, or uint16 for "F" (16-bit grayscale)."""
    if mode != "F":
        return np.asarray(img.convert(mode).resize(size), dtype=np.uint8)
    img = img.convert("F")  # 16-bit values are exact in float32, and resize well
    low, high = img.getextrema()
    if low < 0 or high > 65535:
        raise ValueError(f"image {str(file)!r} is not 16-bit: its pixels span {low:g}..{high:g}")
    return np.rint(np.clip(np.asarray(img.resize(size)), 0, 65535)).astype(np.uint16)


@contextmanager
def _opened(file: Path) -> Iterator[PillowImage]:
    """The Pillow image in ``file``; a ValueError naming the file when it cannot be read (corrupt, truncated or
    not an image) while open."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("reading image folders needs Pillow: pip install pillow") from None
    try:
        with Image.open(file) as img:
            yield img
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"cannot read image {str(file)!r}: {exc}") from None
