"""One-shot NAS: weight-sharing supernets, their trainers (SPOS, DARTS, GDAS), tricks, few-shot splitting.

- ``base``: the :class:`Supernet` protocol (``activate(arch)``/``forward``; optionally ``arch_parameters``);
- ``nb201``, ``darts``, ``chain``: supernets built from ``nasforge.models.layers`` ops; ``build_supernet``;
- ``trainer``: :func:`train_supernet` with :class:`OneShotConfig` (SPOS / DARTS / GDAS and their tricks);
- ``scoring``: :class:`SubnetScorer` (BN mode, recalibration, few-batch fine-tuning);
- ``fewshot``, ``derive`` (argmax, DARTS-PT), ``progressive`` (P-DARTS), ``elastic`` (once-for-all
  supernet of MBConv chains and progressive shrinking), ``study`` (the ranking study).

Importing this package does not import torch; ``from nasforge.oneshot import X`` loads X's module lazily.
"""

from __future__ import annotations

import importlib

from .base import DifferentiableSupernet, Supernet, decisions, is_differentiable

_LAZY = {"build_supernet": "registry", "NB201Supernet": "nb201", "DartsSupernet": "darts",
         "ChainSupernet": "chain", "MixedOp": "mixed", "ArchSampler": "sampling", "OneShotConfig": "trainer",
         "OneShotRecord": "trainer", "train_supernet": "trainer", "derive_argmax": "trainer",
         "ScoreConfig": "scoring", "SubnetScorer": "scoring", "FewShotSupernet": "fewshot",
         "split_supernet": "fewshot", "train_few_shot": "fewshot", "choose_split": "fewshot",
         "gradient_similarity": "fewshot", "perturbation_select": "derive",
         "progressive_search": "progressive", "ElasticChainSupernet": "elastic",
         "progressive_shrinking": "elastic", "save_supernet": "checkpoint", "load_supernet": "checkpoint"}

_NO_TORCH = {"sampling"}
"""Modules of lazy names that work without torch."""

__all__ = ["DifferentiableSupernet", "Supernet", "decisions", "is_differentiable", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        from ..extras import require

        if _LAZY[name] not in _NO_TORCH:
            require("torch", f"nasforge.oneshot.{name}")  # without the extra: the line naming it
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
