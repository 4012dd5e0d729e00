"""An in-memory image classification data set: normalized train/validation/test tensors."""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import islice

import numpy as np
import torch
from torch.nn import functional as F

from ..checks import check_int, check_real, check_seed, is_number
from ..exceptions import UsageError, user_stacklevel
from ..oneshot.checks import AUGMENTATIONS, check_augment

LAYOUTS = ("NCHW", "NHWC")
"""The layouts of 4-D images one can give (``from_arrays(layout=...)``, an NPZ file's ``layout`` array) where the
shape alone does not tell them (:func:`_channels_last`)."""


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Three splits of NCHW float32 images (normalized with the training split's statistics) and int64 labels.

    ``augment`` names the training augmentation suited to the data: "crop_flip" (natural images),
    "crop" (shift only, e.g. digits or text, which must not be mirrored) or "none" (a ``UsageError`` for any
    other); ``load_dataset(..., augment=...)`` or ``dataclasses.replace(data, augment=...)`` choose another.
    ``scale``, ``mean`` and ``std`` record how raw pixels became these tensors (``(raw * scale - mean[c]) /
    std[c]``), ``resize`` how images were resized on the way, in order (each step a dict: ``to`` [height, width],
    ``method``, ``by``, ``on``), and ``class_names`` what each label means; :meth:`preprocessing` hands them to a
    saved model.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    augment: str = "crop_flip"
    scale: float = 1.0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    class_names: tuple[str, ...] | None = None
    resize: tuple[dict, ...] = ()

    def __post_init__(self) -> None:
        if self.augment not in AUGMENTATIONS:  # else the first training batch would fail
            raise UsageError(f"augment {self.augment!r}: unknown augmentation; choose from {', '.join(AUGMENTATIONS)}")

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    def __repr__(self) -> str:
        return (f"ImageDataset({self.name!r}, train={len(self.y_train)}, val={len(self.y_val)}, "
                f"test={len(self.y_test)}, shape={tuple(self.x_train.shape[1:])}, classes={self.num_classes})")

    def preprocessing(self) -> dict:
        """What a deployed network needs to turn raw images into its inputs, as JSON: input shape
        (C, H, W), pixel ``scale``, per-channel ``mean``/``std``, the class names and the ``resize`` steps."""
        channels = self.in_channels
        return {"input_shape": list(self.x_train.shape[1:]), "scale": self.scale,
                "mean": list(self.mean) if self.mean is not None else [0.0] * channels,
                "std": list(self.std) if self.std is not None else [1.0] * channels,
                "class_names": list(self.class_names or (str(i) for i in range(self.num_classes))),
                "resize": [dict(step) for step in self.resize],
                "formula": "x = (raw_pixels * scale - mean[c]) / std[c], NCHW float32, resized to input_shape "
                           "as the resize steps say, in order (none: the images had that size)"}

    def subset(self, fraction: float, seed: int = 0) -> ImageDataset:
        """Keep a seeded random ``fraction`` of the training split (validation and test stay whole), at least
        ``num_classes`` images and one of each class: the first ``n`` of a random order, where one of them gives
        way, from the end, to the first image of each class they lack."""
        check_real("data fraction", fraction, lambda v: 0.0 < v <= 1.0, "in (0, 1]")
        seed = check_seed("seed", seed)  # a Python int (a NumPy one too), as torch's generator takes
        if fraction == 1.0:
            return self
        n = max(self.num_classes, int(round(fraction * len(self.y_train))))
        order = torch.randperm(len(self.y_train), generator=torch.Generator().manual_seed(seed))
        labels = self.y_train[order].tolist()
        firsts = {label: position for position, label in reversed(list(enumerate(labels)))}
        others = [position for position, label in enumerate(labels) if firsts[label] != position]
        keep = order[sorted([*firsts.values(), *others[:max(0, n - len(firsts))]])]
        return replace(self, x_train=self.x_train[keep], y_train=self.y_train[keep])

    def resized(self, resolution: int) -> ImageDataset:
        """All splits resampled (bilinear, antialiased) to ``resolution`` x ``resolution`` pixels; the step is
        added to ``resize``."""
        resolution = check_int("resolution", resolution, 1)  # pixels: a Python int (a NumPy one too)
        if tuple(self.x_train.shape[-2:]) == (resolution, resolution):
            return self

        def resize(x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)

        step = {"to": [resolution, resolution], "method": "bilinear, antialias=True, align_corners=False",
                "by": "torch.nn.functional.interpolate", "on": "normalized tensors"}
        return replace(self, x_train=resize(self.x_train), x_val=resize(self.x_val), x_test=resize(self.x_test),
                       resize=(*self.resize, step))


def split_indices(n: int, val_fraction: float, test_fraction: float, seed: int,
                  what: str | None = None) -> tuple[np.ndarray, ...]:
    """Seeded random train/validation/test index split of ``n`` samples; a UsageError (naming ``what``, the data
    set and its file, where given) for an ``n`` or ``seed`` that is no integer >= 0, fractions that are not numbers
    >= 0 with a sum below 1 (NaN included), or when a split with a positive fraction (or the training split) would be
    empty."""
    where = f"{what}: " if what else ""
    check_int(f"{where}n", n)
    check_seed(f"{where}seed", seed)
    for name, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not is_number(fraction):
            raise UsageError(f"{where}{name} must be a number, got {type(fraction).__name__} {fraction!r}")
    if not (val_fraction >= 0 and test_fraction >= 0 and val_fraction + test_fraction < 1):  # NaN fails too
        raise UsageError(f"{where}need val_fraction, test_fraction >= 0 with sum < 1, got {val_fraction}, "
                         f"{test_fraction}")
    order = np.random.default_rng(seed).permutation(n)
    n_test, n_val = int(round(test_fraction * n)), int(round(val_fraction * n))
    asked = [(name, fraction, count, split) for name, fraction, count, split in
             (("val_fraction", val_fraction, n_val, "validation"), ("test_fraction", test_fraction, n_test, "test"))
             if fraction > 0]  # a fraction of 0 (also one a loader passes for a split its files hold) draws nothing
    fractions = " and ".join(f"{name} {fraction}" for name, fraction, _, _ in asked)
    rounded = [f"{fraction} of {n} images is 0 {split} images" for _, fraction, count, split in asked if count == 0]
    if rounded:  # more images, or a larger fraction, give that split an image; a smaller one cannot
        empty = [(name, split) for name, _, count, split in asked if count == 0]  # the CLI may have no such option
        raise UsageError(f"{where}{n} images are too few to split with {fractions} (rounded, {', '.join(rounded)}): "
                         f"a split would be empty; give more images, or a larger "
                         f"{' or '.join(split for _, split in empty)} fraction "
                         f"({_fraction_settings([name for name, _ in empty], ' or ')})")
    if n_test + n_val >= n:
        taken = " and ".join(f"{count} {split}" for _, _, count, split in asked)
        detail = f" with {fractions} ({taken} images leave none to train on)" if asked else ""
        smaller = f", or smaller fractions ({_fraction_settings([n for n, *_ in asked], ' and ')})" if asked else ""
        raise UsageError(f"{where}{n} images are too few to split{detail}: a split would be empty; give more images"
                         f"{smaller}")
    return order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test]


def _fraction_settings(names: list[str], joined: str) -> str:
    """Where the split fractions ``names`` are set: in Python, and ``oneshot train --val-fraction`` (``nasforge
    search`` takes neither)."""
    where = f"{joined.join(names)} in Python"
    return where + ("; --val-fraction of oneshot train" if "val_fraction" in names else "")


def check_drawn_split(name: str, labels: np.ndarray, train: np.ndarray, seed: int,
                      class_names: list[str] | None = None, own_split: str = "") -> None:
    """A UsageError when the seeded random split that drew ``train`` (indices) from ``labels`` left a class
    that ``labels`` holds without training images, naming the class (by ``class_names`` where given), its image
    count, the seed and the ways out: more images of that class, or another seed where one could give every class
    a training image (there are no more classes than training images), else more images or the drawn splits given
    as the source holds them (``own_split``, e.g. "your own val/ folder")."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":  # from_arrays refuses such labels, naming them
        return
    values, counts = np.unique(labels, return_counts=True)
    held = dict(zip(values.tolist(), counts.tolist()))
    left_out = sorted(set(held) - set(np.unique(labels[train]).tolist()))
    if not left_out:
        return
    named = [repr(class_names[c]) if class_names is not None and 0 <= c < len(class_names) else str(c)
             for c in left_out]
    which = ", ".join(f"{label} ({held[c]} image{'s' * (held[c] != 1)})" for label, c in zip(named, left_out))
    these = "that class" if len(left_out) == 1 else "those classes"
    way_out = (f"give {these} more images, or pick another seed (--seed)" if len(held) <= len(train) else
               f"its {len(train)} training image{'s' * (len(train) != 1)} cannot hold all {len(held)} classes "
               f"whatever the seed: give more images{f', or {own_split}' if own_split else ''}")
    raise UsageError(f"data set {name!r}: the random split (seed {seed}) left class{'es' * (len(left_out) > 1)} "
                     f"{which} without training images (all drawn into validation or test): {way_out}")


def from_arrays(name: str, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray],
                test: tuple[np.ndarray, np.ndarray], num_classes: int | None = None,
                augment: str | None = None, scale: float | None = None,
                class_names: list[str] | None = None, resize: tuple[dict, ...] = (),
                layout: str | None = None) -> ImageDataset:
    """Build a data set from (images, labels) array pairs; images are NHW, NCHW or NHWC (<= 4 channels, the
    layout told by which axis can hold channels, see :func:`_channels_last`; ``layout``, one of :data:`LAYOUTS`,
    says it for 4-D images instead).

    Images are multiplied by ``scale`` (default: 1/255 for uint8, else 1; every split must then be uint8 or
    none) and normalized per channel with the training split's mean and std; labels must be integers in
    ``[0, num_classes)`` or, without ``num_classes``, 0..K-1 with every one of them in the training split.
    ``resize``: the steps that resized the images before (:attr:`ImageDataset.resize`). ``augment``: the
    training augmentation (:attr:`ImageDataset.augment`; None: "crop_flip").
    """
    check_augment(augment)
    check_layout(layout, "layout")
    if scale is None:
        scale = _default_scale(name, {"train": train[0], "val": val[0], "test": test[0]})
    xs = [_as_nchw(x, split, scale, layout)
          for x, split in zip((train[0], val[0], test[0]), ("train", "val", "test"))]
    ys = [_as_labels(y, len(x), split)
          for x, y, split in zip(xs, (train[1], val[1], test[1]), ("train", "val", "test"))]
    if len(ys[0]) == 0:
        raise UsageError(f"data set {name!r} has an empty training split")
    shapes = {tuple(x.shape[1:]) for x in xs if len(x)}
    if len(shapes) != 1:
        raise UsageError(f"data set {name!r}: splits have different image shapes {sorted(shapes)}")
    num_classes = _num_classes(name, dict(zip(("train", "val", "test"), ys)), num_classes, class_names)
    mean = xs[0].mean(dim=(0, 2, 3), keepdim=True)
    std = xs[0].std(dim=(0, 2, 3), keepdim=True)
    if len(ys[0]) > 1 and bool((std <= 1e-6).all()):
        import warnings

        value = float(xs[0].flatten()[0]) / scale if scale else 0.0  # as stored (128, not 0.501961)
        warnings.warn(f"data set {name!r}: its training images are blank (every pixel has the value {value:g}): "
                      "networks can only guess; check how the images were stored", UserWarning,
                      stacklevel=user_stacklevel())
    std = std.clamp_min(1e-6)
    xs = [x.sub_(mean).div_(std) for x in xs]  # in place: each is a fresh float32 copy (_as_nchw)
    if class_names is not None and len(class_names) != num_classes:
        raise UsageError(f"data set {name!r}: {len(class_names)} class names for {num_classes} classes")
    if augment is None:
        warn_tabular(name, tuple(xs[0].shape[1:]), stacklevel=3)
    return ImageDataset(name, xs[0], ys[0], xs[1], ys[1], xs[2], ys[2], num_classes, augment or "crop_flip",
                        float(scale),
                        tuple(mean.flatten().tolist()), tuple(std.flatten().tolist()),
                        None if class_names is None else tuple(str(c) for c in class_names), tuple(resize))


def warn_tabular(name: str, shape: tuple[int, ...], stacklevel: int = 2) -> None:
    """Warn that data set ``name``'s images of ``shape`` (C, H, W) are one pixel high or one pixel wide (tabular
    features?, such as ``(N, 1, F)`` or ``(N, F, 1, 1)``), which its default augmentation crop_flip shifts along
    their length; nothing for images of another shape."""
    if 1 in shape[1:] and max(shape[1:]) > 1:
        import warnings

        side, way = ("high", "sideways") if shape[1] == 1 else ("wide", "up and down")
        warnings.warn(f"data set {name!r} holds one-pixel-{side} inputs {shape} (tabular features?): "
                      f"its default augmentation crop_flip shifts them {way}; give augment='none' "
                      "(--augment none) for features", UserWarning, stacklevel=stacklevel + 1)


def _default_scale(name: str, images: dict[str, np.ndarray]) -> float:
    """1/255 when the images are uint8, else 1; a ValueError when only some (non-empty) splits are uint8."""
    dtypes = {split: np.asarray(x).dtype for split, x in images.items() if np.asarray(x).size}
    uint8 = [split for split, dtype in dtypes.items() if dtype == np.uint8]
    other = [split for split, dtype in dtypes.items() if dtype != np.uint8]
    if uint8 and other:
        raise UsageError(f"data set {name!r}: {uint8[0]} images are uint8 (scaled by 1/255) but {other[0]} images "
                         f"are {dtypes[other[0]]} (not scaled); store every split with the same dtype")
    return 1.0 / 255.0 if uint8 else 1.0


def _as_nchw(x: np.ndarray, split: str, scale: float, layout: str | None = None) -> torch.Tensor:
    """Images as a float32 NCHW tensor times ``scale``; a ValueError for images :func:`check_images` refuses.
    ``layout``: that of 4-D images (None: told by their shape)."""
    x = np.asarray(x)
    check_images(x, f"{split} images", layout)
    if x.ndim == 3:
        x = x[:, None]
    elif layout == "NHWC" or layout is None and _channels_last(x.shape, f"{split} images"):
        x = x.transpose(0, 3, 1, 2)
    out = np.array(x, dtype=np.float32, order="C")  # a fresh copy (from_arrays normalizes it in place)
    if scale != 1:
        out *= np.float32(scale)  # in place: no second copy of the images
    return torch.from_numpy(out)


def check_images(x: np.ndarray, what: str, layout: str | None = None) -> None:
    """A ValueError naming ``what`` for images that are no real numbers (complex, dates, text, records), not of
    shape (N, H, W), (N, C, H, W) or (N, H, W, C) (a 2-D array: with how tabular features go in), of a layout
    :func:`_channels_last` cannot tell (where no ``layout`` tells it), or not finite."""
    if x.dtype.kind not in "biuf":
        raise UsageError(f"{what}: pixels must be real numbers (integers or floats), got dtype {x.dtype}")
    if x.ndim not in (3, 4):
        tabular = ("; tabular features (N, F) go in as one-pixel-wide columns of shape (N, F, 1, 1): "
                   "x.reshape(len(x), -1, 1, 1), trained with augment 'none'") if x.ndim == 2 else ""
        raise UsageError(f"{what}: expected an array of shape (N, H, W), (N, C, H, W) or (N, H, W, C), got "
                         f"shape {x.shape}{tabular}")
    if x.ndim == 4 and layout is None:
        _channels_last(x.shape, what)
    check_finite(x, what)


def check_layout(layout: object, what: str) -> None:
    """A UsageError naming ``what`` for a ``layout`` that is neither None nor one of :data:`LAYOUTS`."""
    if layout is not None and (not isinstance(layout, str) or layout not in LAYOUTS):
        raise UsageError(f"{what} must be {' or '.join(repr(name) for name in LAYOUTS)}, got {layout!r}")


class LayoutUntold(UsageError):
    """The refusal of 4-D images whose shape does not tell their layout (:func:`_channels_last`). ``read_as``: the
    layout nasforge read that shape in before it refused it (every release that took the shape read it so), which the trials of a run made then trained on; ``reading``: those images in words."""

    def __init__(self, message: str, read_as: str, reading: str) -> None:
        super().__init__(message)
        self.read_as, self.reading = read_as, reading

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:  # raised in a worker process, read in its parent
        return type(self), (str(self.args[0]), self.read_as, self.reading)


def _channels_last(shape: tuple[int, ...], what: str) -> bool:
    """Whether 4-D images are NHWC: their last axis could be channels (<= 4) and their second could not, or
    both could and only the last holds 1 or 3 (grayscale, RGB), as in 4 x 4 RGB images (N, 4, 4, 3).
    Otherwise they are NCHW: (N, 3, 3, 3) or (N, 4, 4, 4) cannot be told apart and stay channels-first.
    A shape read so as images that are not square, but the other way as square images (more than one pixel) of
    more than 4 channels, such as (N, 16, 16, 8), (N, 8, 4, 4) or (N, 4, 4, 8), is a :class:`LayoutUntold` naming
    ``what`` and both readings: no guess (a ``layout`` tells it, :data:`LAYOUTS`). One-pixel images of F channels,
    (N, F, 1, 1), stay one-pixel-wide columns (1, F, 1), as they always were."""
    second, last = shape[1], shape[-1]
    nhwc = last <= 4 if (second <= 4) != (last <= 4) else last in (1, 3) and second not in (1, 3)
    nchw_reading, nhwc_reading = (second, shape[2], last), (last, second, shape[2])
    read, other = (nhwc_reading, nchw_reading) if nhwc else (nchw_reading, nhwc_reading)
    if other[0] > 4 and other[1] == other[2] > 1 and read[1] != read[2]:
        raise LayoutUntold(f"{what}: shape {tuple(shape)} holds {_reading(nchw_reading)} (NCHW) or "
                           f"{_reading(nhwc_reading)} (NHWC), and nasforge does not guess: say which, in the NPZ "
                           "file with an array layout='NCHW' or 'NHWC' (numpy.savez(..., layout='NCHW')), in Python "
                           "with from_arrays(..., layout=...)", "NHWC" if nhwc else "NCHW", _reading(read))
    return nhwc


def _reading(chw: tuple[int, int, int]) -> str:
    """Images of shape ``chw`` (C, H, W) in words: ``8 channels of 4x4 pixels``."""
    return f"{chw[0]} channel{'s' * (chw[0] != 1)} of {chw[1]}x{chw[2]} pixels"


def check_finite(x: np.ndarray, what: str) -> None:
    """A ValueError naming ``what`` when the array ``x`` holds NaN or infinite values, or values too large for
    float32 (the images' type in training, where they would become infinite): training would diverge."""
    if np.issubdtype(x.dtype, np.inexact):
        bad = x.size - int(np.count_nonzero(np.isfinite(x)))
        if bad:
            raise UsageError(f"{what}: {bad} of its {x.size} values are NaN or infinite; fix or drop those images")
        limit = np.finfo(np.float32).max
        big = int(np.count_nonzero(np.abs(x) > limit)) if x.dtype.itemsize > 4 else 0
        if big:
            raise UsageError(f"{what}: {big} of its {x.size} values are out of float32 range (beyond +-{limit:.3g}); "
                             "rescale those images")


def _num_classes(name: str, labels: dict[str, torch.Tensor], num_classes: int | None,
                 class_names: list[str] | None = None) -> int:
    """``num_classes`` after checking every label lies in ``[0, num_classes)``; when it is None, K for labels
    0..K-1, each of which the training split must hold (a gap would be a class that is never learned); a
    missing class is named by ``class_names`` where given."""
    for split, y in labels.items():
        if len(y) and int(y.min()) < 0:
            raise UsageError(f"data set {name!r}: {split} labels must be >= 0, found {int(y.min())}")
    found = max(int(y.max()) for y in labels.values() if len(y)) + 1
    if num_classes is not None:
        if found > num_classes:
            raise UsageError(f"data set {name!r}: labels must lie in [0, {num_classes}), found up to {found - 1}")
        return num_classes
    present = set(torch.unique(labels["train"]).tolist())
    if len(present) < found:  # labels such as IDs or dates reach billions: name the first gaps, count the others
        first = list(islice((label for label in range(found) if label not in present), 6))
        named = class_list(first, class_names if class_names is not None and len(class_names) == found else None)
        raise UsageError(f"data set {name!r}: labels must be 0..K-1 with every class in the training split, but "
                         f"labels reach {found - 1} and the training split has none of {named} "
                         f"({found - len(present)} of {found} missing)")
    return found


def class_list(labels: list[int], class_names: list[str] | None = None) -> str:
    """The classes ``labels`` for a message: the first five (each with its name from ``class_names`` where
    given: ``9 ('truck')``), then ``...`` for the others."""
    named = [f"{label} ({class_names[label]!r})" if class_names is not None else str(label) for label in labels[:5]]
    return ", ".join(named) + (", ..." if len(labels) > 5 else "")


def _as_labels(y: np.ndarray, n: int, split: str) -> torch.Tensor:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise UsageError(f"{split} labels must be a 1-D array with one label per image ({n}), got shape {y.shape}")
    if len(y) and y.dtype.kind not in "iu":
        raise UsageError(f"{split} labels must be integers, got dtype {y.dtype}")
    return torch.from_numpy(y.astype(np.int64))
