"""The ``Supernet`` protocol every one-shot trainer, scorer and few-shot splitter works against.

A supernet is an ``nn.Module`` built for one :class:`~nasforge.spaces.SearchSpace` that holds the weights
of every candidate operation of the space. Two ways to run it:

- **single path** (SPOS, few-shot, scoring): ``activate(arch)`` selects the sub-network of ``arch``;
  ``forward(x)`` then runs only that sub-network, with the shared weights (nothing is copied);
- **relaxed** (DARTS, GDAS; optional): ``arch_parameters()`` returns one logit vector per decision of the
  space, in the order of ``space.categorical_params()`` and with one entry per option of that decision;
  ``activate_weights(weights)`` makes ``forward`` mix every option of decision ``d`` with ``weights[d]``
  (an option whose weight is exactly zero is skipped: a GDAS hard sample or a pruned op). A supernet whose
  relaxation is not the space's categorical view (DARTS: one decision per edge) lists its own decisions in
  ``arch_decisions()`` and derives architectures with ``derive(allowed)``.

Decisions are the space's own categorical view (``categorical_params`` / ``from_params``), so fair
sampling, few-shot splitting and argmax derivation need nothing space-specific: a user-defined model
space whose supernet exposes its choices the same way plugs into every trainer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..exceptions import UsageError
from ..spaces import Architecture, SearchSpace

if TYPE_CHECKING:
    import torch

__all__ = ["DifferentiableSupernet", "Supernet", "check_splittable", "decisions", "is_differentiable"]


@runtime_checkable
class Supernet(Protocol):
    """An ``nn.Module`` for ``space`` whose ``forward`` runs the sub-network chosen by ``activate``."""

    space: SearchSpace

    def activate(self, arch: Architecture) -> None:
        """Route ``forward`` through the sub-network of ``arch`` (shared weights, no copy)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class DifferentiableSupernet(Supernet, Protocol):
    """A supernet that also supports the continuous relaxation of DARTS-like trainers."""

    def arch_parameters(self) -> list[torch.nn.Parameter]:
        """One logit vector per decision of ``space.categorical_params()`` (same order, one entry per option)."""

    def activate_weights(self, weights: Sequence[torch.Tensor]) -> None:
        """Route ``forward`` through every option, decision ``d``'s options mixed by ``weights[d]``."""


def decisions(space: SearchSpace) -> list[tuple[str, list[str]]]:
    """The space's decisions as ``(name, options)`` pairs, in ``categorical_params`` order."""
    return [(name, list(options)) for name, options in space.categorical_params().items()]


MAX_PARTS = 64
"""The most sub-supernets a few-shot split makes: each is a full copy of the supernet, trained on its own."""


def check_part_count(parts: int, on: Sequence[str], what: str, size: str = "") -> None:
    """``UsageError`` (starting with ``what``) when a split on ``on`` makes more than :data:`MAX_PARTS`
    sub-supernets (``size``: what their copies would take, said where known)."""
    if parts > MAX_PARTS:
        raise UsageError(f"{what}: splitting on {', '.join(on)} makes {parts} sub-supernets (the product of their "
                         f"option counts{size}), over the limit of {MAX_PARTS}: each is a full copy of the supernet, "
                         "trained on its own; split on fewer decisions")


def check_splittable(space: SearchSpace, on: Sequence[str], what: str, exhaustive: bool = True) -> None:
    """``UsageError`` (starting with ``what``) if a known decision of ``on`` has a single option: splitting on
    it would make one part, the unsplit supernet (unknown names are left to the caller's own check); with
    ``exhaustive`` (one part per option), also if the split makes over :data:`MAX_PARTS` parts."""
    options = dict(decisions(space))
    single = [f"{name} has one option ({options[name][0]})" for name in on if len(options.get(name, ())) == 1]
    if single:
        raise UsageError(f"{what}: {'; '.join(single)}: splitting on it would make one part; split on a decision "
                         "with several options")
    if exhaustive:
        check_part_count(math.prod(len(options.get(name, (1,))) for name in on), on, what)


def is_differentiable(supernet: object) -> bool:
    """Whether ``supernet`` supports the relaxed (DARTS/GDAS) mode."""
    return callable(getattr(supernet, "arch_parameters", None)) and callable(getattr(supernet, "activate_weights", None))
