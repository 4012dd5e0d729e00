"""Data sets held in memory as tensors, their sources, and torch-only augmentation."""

from ..extras import require

# without the torch extra: one line naming it (a MissingDependencyError), not a bare ModuleNotFoundError
require("torch", "training on a data set (nasforge.data)")

from .augment import AUGMENTATIONS, augment_batch, random_crop, random_flip
from .dataset import ImageDataset, from_arrays, split_indices
from .sources import DATASETS, load_cifar, load_dataset, load_digits, load_image_folder, load_npz

__all__ = ["AUGMENTATIONS", "DATASETS", "ImageDataset", "augment_batch", "from_arrays", "load_cifar",
           "load_dataset", "load_digits", "load_image_folder", "load_npz", "random_crop", "random_flip",
           "split_indices"]
