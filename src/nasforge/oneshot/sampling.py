"""Which sub-network a single-path step trains: uniform (SPOS), fair or strict-fair (FairNAS), or uniform
over functionally distinct architectures (de-isomorphic sampling), optionally restricted to a part of the
space (few-shot sub-supernets, pruned spaces)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from ..exceptions import UsageError
from ..spaces import Architecture, SearchSpace
from .base import decisions

SAMPLINGS = ("uniform", "fair", "strict_fair", "unique")
MAX_ENUMERATED = 200_000


class ArchSampler:
    """Draws architectures decision by decision from ``space.categorical_params()``.

    ``allowed`` maps a decision to the options it may take (others keep all their options).
    - ``uniform``: each decision independently uniform over its allowed options (SPOS);
    - ``fair``: each decision walks through a fresh random permutation of its options, so over every
      window of ``m`` draws (``m`` = most options of any decision) each option of a decision with ``m`` options is
      trained once; a smaller decision's options are repeated to fill the window and cut at random, so they are
      trained about, not exactly, equally often;
    - ``strict_fair``: ``group()`` returns ``m`` architectures covering every option of the widest decisions
      exactly once (a smaller decision's options as in ``fair``); a trainer accumulates their gradients into one
      step;
    - ``unique``: de-isomorphic sampling (Ning et al., NeurIPS 2021): a class of functionally identical
      architectures (``space.canonical_key``) uniformly, then one of its members; classes whose output does
      not depend on the input (key ``()``) are never drawn. Uniform sampling over-trains the many
      isomorphs of simple cells (e.g. cells with dead edges). Enumerates the (allowed) space once, so only
      for spaces of at most 200,000 architectures.
    """

    def __init__(self, space: SearchSpace, rng: np.random.Generator, mode: str = "uniform",
                 allowed: Mapping[str, Sequence[str]] | None = None) -> None:
        if mode not in SAMPLINGS:
            raise ValueError(f"unknown sampling {mode!r}; choose from {list(SAMPLINGS)}")
        self.space, self.rng, self.mode = space, rng, mode
        allowed = dict(allowed or {})
        self.decisions = []
        for name, options in decisions(space):
            keep = list(allowed.pop(name, options))
            bad = [o for o in keep if o not in options]
            if bad or not keep:
                raise ValueError(f"decision {name!r}: allowed options {keep} must be a non-empty subset of {options}")
            self.decisions.append((name, keep))
        if allowed:
            raise ValueError(f"unknown decision(s) {sorted(allowed)}; the space has {[n for n, _ in self.decisions]}")
        self.width = max(len(options) for _, options in self.decisions)
        self._queue: list[Architecture] = []
        self._classes = self._enumerate_classes() if mode == "unique" else []

    def _enumerate_classes(self) -> list[list[tuple[str, ...]]]:
        size = int(np.prod([len(options) for _, options in self.decisions], dtype=float))
        if size > MAX_ENUMERATED:
            raise UsageError(f"sampling 'unique' enumerates the space: {size} architectures is more than {MAX_ENUMERATED}")
        classes: dict = {}
        for choice in itertools.product(*(options for _, options in self.decisions)):
            key = self.space.canonical_key(self._build(choice))
            if key != ():
                classes.setdefault(key, []).append(choice)
        if not classes:
            raise UsageError("sampling 'unique': every architecture of the (allowed) space ignores its input")
        return list(classes.values())

    def _build(self, choice: Sequence[str]) -> Architecture:
        return self.space.from_params({name: c for (name, _), c in zip(self.decisions, choice)})

    def group(self) -> list[Architecture]:
        """``width`` architectures in which each allowed option of each decision appears (fairly)."""
        columns = []
        for _, options in self.decisions:
            reps = -(-self.width // len(options))
            columns.append([options[i] for i in self.rng.permutation(np.tile(np.arange(len(options)), reps))[:self.width]])
        return [self._build([col[i] for col in columns]) for i in range(self.width)]

    def sample(self) -> Architecture:
        if self.mode == "unique":
            members = self._classes[int(self.rng.integers(len(self._classes)))]
            return self._build(members[int(self.rng.integers(len(members)))])
        if self.mode == "uniform":
            return self._build([options[int(self.rng.integers(len(options)))] for _, options in self.decisions])
        if not self._queue:
            self._queue = self.group()
        return self._queue.pop()
