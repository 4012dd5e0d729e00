"""Regularized (aging) evolution, Real et al. 2019."""

from __future__ import annotations

import numpy as np

from ..checks import check_int, check_real
from ..exceptions import UsageError
from ..spaces import Architecture, SearchSpace
from .base import RandomWarmUp, Score


def uniform_crossover(space: SearchSpace, a: Architecture, b: Architecture, rng: np.random.Generator) -> Architecture:
    """Uniform crossover in the space's categorical view; ``a`` when the child would be invalid."""
    pa, pb = space.to_params(a), space.to_params(b)
    child = {k: (pa[k] if rng.random() < 0.5 else pb[k]) for k in pa}
    try:
        return space.from_params(child)
    except ValueError:
        return a


def check_population(population_size: int, sample_size: int) -> tuple[int, int]:
    """Integers with ``1 <= sample_size <= population_size`` (a tournament within the population), else a UsageError;
    returned as Python ints (a numpy integer converted), so a study records them like any other setting."""
    population_size = check_int("population_size", population_size, 1)
    sample_size = check_int("sample_size", sample_size, 1)
    if sample_size > population_size:
        raise UsageError(f"need 1 <= sample_size ({sample_size}) <= population_size ({population_size})")
    return population_size, sample_size


class RegularizedEvolution(RandomWarmUp):
    """Aging evolution: tournament selection over the ``population_size`` most recent members.

    The first ``population_size`` architectures asked are random samples (:class:`RandomWarmUp`).
    Afterwards each child is a mutation of the best of ``sample_size`` random population members (with probability ``crossover_prob``
    it is first a uniform crossover of the two best of the tournament). The oldest member dies when
    a child joins. Failed evaluations never join the population.
    """

    name = "evolution"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 population_size: int = 20, sample_size: int = 5, crossover_prob: float = 0.0,
                 warmup: str = "asks") -> None:
        population_size, sample_size = check_population(population_size, sample_size)
        check_real("crossover_prob", crossover_prob, lambda v: 0 <= v <= 1, "in [0, 1]")
        super().__init__(space, seed, dedup)
        self._start_warm_up(population_size, warmup)
        self.sample_size = sample_size
        self.crossover_prob = float(crossover_prob)  # a numpy float is recorded as a plain one
        self.population: list[tuple[Architecture, Score]] = []

    def _child(self) -> Architecture:
        picks = self.rng.permutation(len(self.population))[: self.sample_size]
        ranked = sorted((self.population[int(i)] for i in picks), key=lambda m: m[1], reverse=True)
        parent = ranked[0][0]
        if self.crossover_prob and len(ranked) > 1 and self.rng.random() < self.crossover_prob:
            parent = uniform_crossover(self.space, parent, ranked[1][0], self.rng)
        return self.space.mutate(parent, self.rng)

    def _observe(self, arch: Architecture, score: Score) -> None:
        if score is None:
            return
        self.population.append((arch, score))
        if len(self.population) > self.population_size:
            self.population.pop(0)
