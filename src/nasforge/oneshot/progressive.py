"""P-DARTS-style progressive search: train relaxed supernets of growing depth, pruning each decision to its
best options between stages."""

from __future__ import annotations

from ..extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..data import ImageDataset
from ..exceptions import UsageError
from ..spaces import Architecture
from .base import DifferentiableSupernet
from .trainer import OneShotConfig, OneShotRecord, arch_decisions, derive_argmax, option_masks, train_supernet


def progressive_search(build: Callable[[int], DifferentiableSupernet], data: ImageDataset, config: OneShotConfig,
                       depths: Sequence[int] = (1, 2), keep: Sequence[int] = (3, 2)
                       ) -> tuple[Architecture, list[OneShotRecord]]:
    """Stage ``i`` builds ``build(depths[i])`` (cells per stage), trains it with ``config`` on the options
    still allowed, then keeps each decision's ``keep[i]`` highest-weighted options. The result is the argmax
    of the last stage; each stage's record lists the options it searched over. A supernet whose derivation
    never picks some options (DARTS: ``none``, its ``NOT_OPS``) keeps at least one other option per decision."""
    def counts(values: Any) -> bool:
        return isinstance(values, Sequence) and not isinstance(values, str) and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values)

    if not counts(depths) or not counts(keep) or len(depths) != len(keep) or not depths:
        raise UsageError(f"need one keep count per depth, each an integer >= 1, got depths={depths!r}, keep={keep!r}")
    if config.method == "spos":
        raise UsageError("progressive search prunes by architecture weights: use method darts or gdas")
    allowed: dict[str, list[str]] | None = None
    records = []
    supernet = None
    for stage, (depth, k) in enumerate(zip(depths, keep)):
        supernet = build(depth)
        record = train_supernet(supernet, data, replace(config, seed=config.seed + stage), allowed=allowed)
        record.tricks.append(f"p-darts stage {stage}: depth {depth}, then keep {k} options per decision")
        records.append(record)
        masks = option_masks(supernet, allowed)
        not_ops = getattr(supernet, "NOT_OPS", ())
        allowed = {}
        for (name, options), a, m in zip(arch_decisions(supernet), supernet.arch_parameters(), masks):
            order = a.detach().masked_fill(~m, -math.inf).argsort(descending=True)[:int(m.sum())].tolist()
            top = order[:k]
            real = [i for i in order if options[i] not in not_ops]
            if real and all(options[i] in not_ops for i in top):  # e.g. keep=1 and `none` strongest
                top = top[:-1] + real[:1]
            allowed[name] = [options[i] for i in sorted(top)]
    return derive_argmax(supernet, allowed), records
