"""Acquisition optimizers over a discrete space: which candidates the acquisition is computed on.

``propose(score, context)`` returns unseen candidates, best acquisition first; ``score`` maps a list
of architectures to acquisition values (vectorized), ``context`` holds the space, the observed
architectures best-first, the canonical keys already proposed, and the random generator.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...checks import check_int
from ...exceptions import UsageError
from ...registry import Registry
from ...spaces import Architecture, SearchSpace
from ..base import unique_architectures

OPTIMIZERS: Registry[type[AcquisitionOptimizer]] = Registry("acquisition optimizer")
ScoreFn = Callable[[Sequence[Architecture]], np.ndarray]

@dataclass
class SearchContext:
    """What an optimizer may look at."""

    space: SearchSpace
    ranked: list[Architecture]  # observed architectures, best score first
    seen: set[Hashable] | dict[Hashable, Any]  # canonical keys already proposed (observed or pending)
    rng: np.random.Generator


class AcquisitionOptimizer(ABC):
    name = "optimizer"

    @abstractmethod
    def propose(self, score: ScoreFn, ctx: SearchContext, k: int = 8) -> list[Architecture]:
        """Up to ``k`` unseen candidates, highest acquisition first."""

    def check_space(self, space: SearchSpace) -> None:
        """A UsageError if this optimizer cannot search ``space`` (checked before any evaluation)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


def _top_unseen(candidates: list[Architecture], values: np.ndarray, ctx: SearchContext, k: int) -> list[Architecture]:
    out: list[Architecture] = []
    for i in np.argsort(-values, kind="stable"):
        arch = candidates[int(i)]
        if ctx.space.canonical_key(arch) not in ctx.seen:
            out.append(arch)
            if len(out) == k:
                break
    return out


def _fresh(archs: Sequence[Architecture], ctx: SearchContext) -> list[Architecture]:
    """Unseen, canonically distinct architectures, in order."""
    keys, out = set(), []
    for arch in archs:
        key = ctx.space.canonical_key(arch)
        if key not in ctx.seen and key not in keys:
            keys.add(key)
            out.append(arch)
    return out


@OPTIMIZERS.register("exhaustive", builtin=True)
class Exhaustive(AcquisitionOptimizer):
    """Score every canonical form of an enumerable space (NB201: 5,260 of 15,625), vectorized.

    The candidate list is built once per space and is the same object every ask, so surrogates
    can cache its encodings and, between refits, its predictions.
    """

    name = "exhaustive"

    def check_space(self, space: SearchSpace) -> None:
        if not space.is_enumerable:
            raise UsageError(f"optimizer 'exhaustive' needs an enumerable space; {type(space).__name__} is not "
                             "(use 'auto', 'mutation' or 'local')")

    def propose(self, score, ctx, k=8):
        archs, index = unique_architectures(ctx.space)
        values = np.asarray(score(archs), dtype=float).copy()
        rows = [index[key] for key in ctx.seen if key in index]
        values[rows] = -np.inf
        order = np.argsort(-values, kind="stable")[:k]
        return [archs[int(i)] for i in order if np.isfinite(values[i])]


@OPTIMIZERS.register("mutation", builtin=True)
class MutationPool(AcquisitionOptimizer):
    """Mutations of the ``n_parents`` best architectures (1 to ``max_edits`` edits) plus
    ``n_random`` random samples (BANANAS/NPENAS candidate generation)."""

    name = "mutation"

    def __init__(self, n_parents: int = 10, n_mutations: int = 20, max_edits: int = 2, n_random: int = 50) -> None:
        for name, value, low in (("n_parents", n_parents, 1), ("n_mutations", n_mutations, 1),
                                 ("max_edits", max_edits, 1), ("n_random", n_random, 0)):
            check_int(f"optimizer 'mutation': {name}", value, low)
        self.n_parents, self.n_mutations, self.max_edits, self.n_random = n_parents, n_mutations, max_edits, n_random

    def candidates(self, ctx: SearchContext) -> list[Architecture]:
        pool: list[Architecture] = []
        for parent in ctx.ranked[: self.n_parents]:
            for _ in range(self.n_mutations):
                child = parent
                for _ in range(int(ctx.rng.integers(1, self.max_edits + 1))):
                    child = ctx.space.mutate(child, ctx.rng)
                pool.append(child)
        pool += [ctx.space.sample(ctx.rng) for _ in range(self.n_random)]
        return _fresh(pool, ctx)

    def propose(self, score, ctx, k=8):
        pool = self.candidates(ctx)
        return _top_unseen(pool, np.asarray(score(pool), dtype=float), ctx, k) if pool else []


@OPTIMIZERS.register("local", builtin=True)
class LocalSearchOnAcquisition(AcquisitionOptimizer):
    """SMAC-style: hill-climb the acquisition over one-edit neighbourhoods from the ``n_starts`` best
    observed architectures (at most ``max_steps`` moves each); ``n_random`` random architectures are
    scored once as further candidates, not climbed. Every unseen architecture scored is a candidate."""

    name = "local"

    def __init__(self, n_starts: int = 5, n_random: int = 20, max_steps: int = 10) -> None:
        for name, value in (("n_starts", n_starts), ("n_random", n_random), ("max_steps", max_steps)):
            check_int(f"optimizer 'local': {name}", value, 0)
        if n_starts + n_random == 0:
            raise UsageError("optimizer 'local': needs n_starts + n_random >= 1, got 0 and 0")
        self.n_starts, self.n_random, self.max_steps = n_starts, n_random, max_steps

    def propose(self, score, ctx, k=8):
        starts = list(ctx.ranked[: self.n_starts]) + [ctx.space.sample(ctx.rng) for _ in range(self.n_random)]
        start_values = np.asarray(score(starts), dtype=float)
        scored: dict[Hashable, tuple[float, Architecture]] = {}
        for arch, value in zip(starts, start_values):
            scored[ctx.space.canonical_key(arch)] = (float(value), arch)
        for arch, value in zip(starts[: self.n_starts], start_values[: self.n_starts]):
            current, current_value = arch, float(value)
            for _ in range(self.max_steps):
                neighbors = _fresh(ctx.space.neighbors(current), ctx)
                if not neighbors:
                    break
                values = np.asarray(score(neighbors), dtype=float)
                for n, v in zip(neighbors, values):
                    scored[ctx.space.canonical_key(n)] = (float(v), n)
                best = int(np.argmax(values))
                if values[best] <= current_value:
                    break
                current, current_value = neighbors[best], float(values[best])
        pool = [arch for _, arch in scored.values()]
        return _top_unseen(pool, np.array([v for v, _ in scored.values()]), ctx, k)


@OPTIMIZERS.register("auto", builtin=True)
class Auto(AcquisitionOptimizer):
    """Exhaustive on enumerable spaces up to ``max_size`` architectures, else mutations + local search."""

    name = "auto"

    def __init__(self, max_size: int = 50_000) -> None:
        check_int("optimizer 'auto': max_size", max_size, 0)
        self.max_size = max_size

    def propose(self, score, ctx, k=8):
        if ctx.space.is_enumerable and ctx.space.size <= self.max_size:
            return Exhaustive().propose(score, ctx, k)
        mutation = MutationPool()
        pool = mutation.candidates(ctx)
        if not pool:
            return []
        values = np.asarray(score(pool), dtype=float)
        ranked = [pool[int(i)] for i in np.argsort(-values, kind="stable")]
        refined = LocalSearchOnAcquisition(n_starts=1, n_random=0)
        # one hill climb from the best pool member refines it on the acquisition
        climb = refined.propose(score, SearchContext(ctx.space, ranked[:1], ctx.seen, ctx.rng), k)
        pairs = {ctx.space.canonical_key(a): a for a in climb + ranked[:k]}
        merged = list(pairs.values())
        return _top_unseen(merged, np.asarray(score(merged), dtype=float), ctx, k)


def make_optimizer(spec: str | dict[str, Any] | AcquisitionOptimizer,
                   space: SearchSpace | None = None) -> AcquisitionOptimizer:
    """An optimizer from a name, ``{"name": ..., **params}``, or an instance; checked against ``space`` if given."""
    optimizer = spec if isinstance(spec, AcquisitionOptimizer) else OPTIMIZERS.build(spec)
    if space is not None:
        optimizer.check_space(space)
    return optimizer
