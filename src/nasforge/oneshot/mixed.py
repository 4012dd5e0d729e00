"""``MixedOp``: one decision of a supernet, holding a module per option (the unit every supernet is built of)."""

from __future__ import annotations

from ..extras import require

require("torch", __name__)  # without the torch extra: one line naming it, not a bare ModuleNotFoundError

from collections.abc import Mapping

import torch
from torch import nn

from ..models.layers import DropPath


class MixedOp(nn.Module):
    """Every option of one decision, each with its own weights.

    Single-path: ``active`` (an option index) picks the one option ``forward`` runs (``None``: the decision
    is switched off and contributes nothing). Relaxed: ``weights``
    (one per option) makes ``forward`` return the weighted sum of the options whose weight is not
    exactly zero. An option given as ``None`` is the zero operation: it adds nothing, and ``forward``
    returns ``None`` when nothing was added (callers treat that as zeros without computing them).
    ``drop_path`` drops each non-identity option's output per sample while training (stochastic depth).
    """

    def __init__(self, options: Mapping[str, nn.Module | None], drop_path: float = 0.0) -> None:
        super().__init__()
        self.names = list(options)
        self.ops = nn.ModuleDict({name: op for name, op in options.items() if op is not None})
        self.drop = DropPath(drop_path)
        self.active: int | None = 0
        self.weights: torch.Tensor | None = None

    def _run(self, name: str, x: torch.Tensor) -> torch.Tensor | None:
        if name not in self.ops:
            return None
        op = self.ops[name]
        out = op(x)
        return out if isinstance(op, nn.Identity) else self.drop(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor | None:
        if self.weights is None:
            return None if self.active is None else self._run(self.names[self.active], x)
        total = None
        for name, w, keep in zip(self.names, self.weights, (self.weights != 0).tolist()):
            if not keep:
                continue
            out = self._run(name, x)
            if out is not None:
                total = w * out if total is None else total + w * out
        return total


def add(total: torch.Tensor | None, out: torch.Tensor | None) -> torch.Tensor | None:
    """Sum where ``None`` means zero."""
    if out is None:
        return total
    return out if total is None else total + out
