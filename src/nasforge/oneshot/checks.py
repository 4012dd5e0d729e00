"""Argument checks of the one-shot API: each raises :class:`~nasforge.exceptions.UsageError` naming the
argument and its value, before any work starts. Importing this module does not import torch."""

from __future__ import annotations

from typing import Any

from ..exceptions import UsageError

BN_MODES = ("inherited", "batch", "recalibrate")
"""The BatchNorm statistics a sub-network can be scored with (:class:`~nasforge.oneshot.ScoreConfig`'s ``bn_mode``)."""
SEARCH_BN_MODE = "recalibrate"
"""The ``bn_mode`` every supernet search scores with unless told otherwise (``SupernetEvaluator``, ``nasforge oneshot
search``, ``nasforge search --evaluator supernet``): recalibrated statistics rank sub-networks far better than
inherited ones (Kendall tau 0.54 vs 0.05 in the ranking study). ``ScoreConfig``'s own default stays "inherited",
the study's baseline row."""


def check_data(supernet: Any, data: Any, what: str) -> None:
    """``data`` must be an :class:`~nasforge.data.ImageDataset` whose images and labels fit ``supernet`` (its
    ``config``'s ``in_channels`` and ``num_classes``, or a model space's shapes); ``what`` names the caller."""
    from ..data import ImageDataset

    if not isinstance(data, ImageDataset):
        raise UsageError(f"{what}: data must be an ImageDataset (e.g. nasforge.data.load_digits()), "
                         f"got {type(data).__name__}")
    config = getattr(supernet, "config", None) or {}
    channels, classes = config.get("in_channels"), config.get("num_classes")
    if channels is not None and channels != data.in_channels:
        raise UsageError(f"{what}: data {data.name!r} has {data.in_channels} input channel(s), the supernet was "
                         f"built for in_channels={channels}")
    if classes is not None and classes < data.num_classes:
        raise UsageError(f"{what}: data {data.name!r} has {data.num_classes} classes, the supernet was built for "
                         f"num_classes={classes}")
    if channels is None and hasattr(getattr(supernet, "space", None), "input_shape"):
        from ..spaces.model_space.space import check_data as check_model_space

        check_model_space(supernet.space, data.num_classes, data.in_channels)
