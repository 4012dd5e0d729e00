"""Argument checks of the one-shot API: each raises :class:`~nasforge.exceptions.UsageError` naming the
argument and its value, before any work starts. Importing this module does not import torch."""

from __future__ import annotations

import reprlib
from collections.abc import Callable
from typing import Any

from ..exceptions import UsageError

BN_MODES = ("inherited", "batch", "recalibrate")
"""The BatchNorm statistics a sub-network can be scored with (:class:`~nasforge.oneshot.ScoreConfig`'s ``bn_mode``)."""
SEARCH_BN_MODE = "recalibrate"
"""The ``bn_mode`` every supernet search scores with unless told otherwise (``SupernetEvaluator``, ``nasforge oneshot
search``, ``nasforge search --evaluator supernet``): recalibrated statistics rank sub-networks far better than
inherited ones (Kendall tau 0.54 vs 0.05 in the ranking study). ``ScoreConfig``'s own default stays "inherited",
the study's baseline row."""
SUPERNET_SIZES = {"nb201": {"C": 8, "N": 1}, "darts": {"C": 4, "N": 1}, "chain": {"C": 8}}
"""``build_supernet``'s default size of each built-in supernet (``C`` base channels, ``N`` cells per stage; chain
also for proxylessnas): the DARTS cell supernet, 14 edges x 8 operations per cell, is the heaviest per channel."""
DATA_OPTIONS = ("data_dir", "noise", "val_fraction", "test_fraction", "seed", "augment")
"""The data options of a supernet's data record (``supernet.json``'s ``data.data_options``) and of
``SupernetEvaluator``'s ``data_options``: the split, and the training augmentation (unrecorded: the data set's own)."""
AUGMENTATIONS = ("none", "crop", "crop_flip")
"""The training augmentations (:func:`nasforge.data.augment_batch`): none, random shifted crops, crops and left-right
mirror flips. Every data set has its own default (``ImageDataset.augment``: digits "crop", files "crop_flip")."""


def check_augment(value: Any, label: str = "augment") -> str | None:
    """``value`` if it is one of :data:`AUGMENTATIONS` or None (the data set's own); else a ``UsageError`` naming
    ``label`` and the valid choices."""
    if value is not None and (not isinstance(value, str) or value not in AUGMENTATIONS):
        raise UsageError(f"{label} {value!r}: unknown augmentation; choose from {', '.join(AUGMENTATIONS)} (or "
                         "leave it out: the data set's own)")
    return value


def check_data_record(record: Any) -> None:
    """``UsageError`` unless ``record`` is None or the data record ``nasforge oneshot train`` writes into
    ``supernet.json``: ``{"data": NAME, "data_options": {...}, "fingerprint": SHA1}`` (all but ``data``
    optional), with :data:`DATA_OPTIONS` of the types ``study_data`` takes."""
    if record is None:
        return
    if not isinstance(record, dict) or not isinstance(record.get("data"), str):
        raise UsageError(f'data must be a record {{"data": NAME, "data_options": {{...}}}}, got {record!r}')
    options = record.get("data_options") or {}
    if not isinstance(options, dict) or set(options) - set(DATA_OPTIONS):
        raise UsageError(f"data_options must be a dict with keys from {list(DATA_OPTIONS)}, got {options!r}")
    if not isinstance(options.get("data_dir", ""), (str, type(None))):
        raise UsageError(f"data_options.data_dir must be a path or null, got {options['data_dir']!r}")
    check_split_options(options, lambda name: f"data_options.{name}", data=record["data"])
    if not isinstance(record.get("fingerprint", ""), (str, type(None))):
        raise UsageError(f"data.fingerprint must be a string or null, got {record['fingerprint']!r}")


def check_split_options(options: dict[str, Any], label: Callable[[str], str] = str, empty_val: bool = False,
                        data: str | None = None) -> None:
    """``UsageError`` (naming an option as ``label(name)``) unless the data options among ``options`` are
    values ``study_data`` takes: ``augment`` one of :data:`AUGMENTATIONS` (or None), ``noise`` >= 0,
    ``val_fraction`` in (0, 1) (networks are scored on the validation images; [0, 1) with ``empty_val``, for a
    caller that never validates), ``test_fraction`` in [0, 1), ``seed`` a seed, and ``val_fraction`` +
    ``test_fraction`` (each left out: ``study_data``'s default) below 1, so images are left to train on; for data
    set ``data`` (a name) at ``options["data_dir"]``, a fraction of a split its files hold (CIFAR's test batch, a
    folder's ``val/``), which ``study_data`` drops, counts as 0. Other keys are left alone."""
    from ..checks import check_real, check_seed
    from .study import split_defaults

    val_bounds = (lambda v: 0 <= v < 1, "in [0, 1)") if empty_val else \
        (lambda v: 0 < v < 1, "in (0, 1) (networks are scored on the validation images)")
    bounds = {"noise": (lambda v: v >= 0, ">= 0"), "val_fraction": val_bounds,
              "test_fraction": (lambda v: 0 <= v < 1, "in [0, 1)")}
    for name, (ok, want) in bounds.items():
        if name in options:
            check_real(label(name), options[name], ok, want)
    if "seed" in options:
        check_seed(label("seed"), options["seed"])
    check_augment(options.get("augment"), label("augment"))
    void: set[str] = set()
    if data is not None:
        from ..evaluators.training import held_fractions

        void = set(held_fractions(data, options.get("data_dir")))
        if data in ("cifar10", "cifar100"):  # its own test batch, also where its files are gone
            void.add("test_fraction")
    defaults = split_defaults()
    val, test = (0.0 if name in void else options.get(name, defaults[name])
                 for name in ("val_fraction", "test_fraction"))
    if val + test >= 1:
        raise UsageError(f"{label('val_fraction')} {val} + {label('test_fraction')} {test} must be < 1 (images must "
                         "be left to train on)")


def check_supernet(supernet: Any, what: str) -> None:
    """``supernet`` must be a supernet (:class:`~nasforge.oneshot.base.Supernet`): an ``nn.Module`` with a search
    ``space`` and ``activate(arch)``; ``what`` names the caller."""
    from torch import nn

    from ..spaces import SearchSpace

    if not (isinstance(supernet, nn.Module) and isinstance(getattr(supernet, "space", None), SearchSpace)
            and callable(getattr(supernet, "activate", None))):
        raise UsageError(f"{what}: supernet must be a supernet, an nn.Module with a space and activate(arch) (e.g. "
                         f"build_supernet(space)), got {type(supernet).__name__} {reprlib.repr(supernet)}")


def check_data(supernet: Any, data: Any, what: str, training: bool = False) -> None:
    """``data`` must be an :class:`~nasforge.data.ImageDataset` whose images and labels fit ``supernet`` (its
    ``config``'s ``in_channels`` and exactly its ``num_classes``: scores of a supernet on data of other classes
    mean nothing; or a model space's shapes); ``what`` names the caller, ``training``: it trains the supernet."""
    from ..data import ImageDataset

    if not isinstance(data, ImageDataset):
        raise UsageError(f"{what}: data must be an ImageDataset (e.g. nasforge.data.load_digits()), "
                         f"got {type(data).__name__}")
    config = getattr(supernet, "config", None) or {}
    channels, classes = config.get("in_channels"), config.get("num_classes")
    if channels is not None and channels != data.in_channels:
        advice = (f"train it on data with {channels} channel(s), or build the supernet with "
                  f"in_channels={data.in_channels}" if training else
                  f"score it on data with {channels} channel(s), or train a supernet on data with "
                  f"{data.in_channels} channel(s) to score this data")
        raise UsageError(f"{what}: data {data.name!r} has {data.in_channels} input channel(s), the supernet was "
                         f"built for in_channels={channels}: {advice}")
    if classes is not None and classes != data.num_classes:  # its outputs are the classes it was built for
        advice = (f"train it on data of {classes} classes, or build the supernet with "
                  f"num_classes={data.num_classes}" if training else
                  f"use it on data of its {classes} classes, or a supernet built for {data.num_classes}")
        raise UsageError(f"{what}: data {data.name!r} has {data.num_classes} classes, the supernet was built for "
                         f"num_classes={classes}: {advice}")
    if channels is None and hasattr(getattr(supernet, "space", None), "input_shape"):
        from ..spaces.model_space.space import check_data as check_model_space

        check_model_space(supernet.space, data.num_classes, data.in_channels)
