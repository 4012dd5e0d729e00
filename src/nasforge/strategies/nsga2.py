"""NSGA-II (Deb et al. 2002) on architectures, steady-state for asynchronous ask/tell."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..checks import check_int, check_real
from ..pareto import rank_and_crowding
from ..spaces import Architecture, SearchSpace
from .evolution import uniform_crossover
from .base import RandomWarmUp
from .multi_objective import Member, MultiObjectiveStrategy


class NSGA2(RandomWarmUp, MultiObjectiveStrategy):
    """Non-dominated sorting genetic algorithm II.

    The first ``population_size`` architectures asked are random (:class:`RandomWarmUp`). Afterwards
    the population is steady-state (every result counts at once, which suits asynchronous workers): each successful child joins it
    and the worst member by (feasible-first) non-dominated rank, then smaller crowding distance,
    leaves. A child comes from two binary tournaments on (rank, crowding): with probability
    ``crossover_prob`` a uniform crossover of both winners in the space's categorical view, then
    ``space.mutate`` (always, so a child differs from its parents), applied ``1 + Poisson(extra_mutations)``
    times, plus one more step per 50 duplicate proposals within one ask (once the elite's
    neighbourhoods are used up, children walk further).
    """

    name = "nsga2"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 population_size: int = 20, crossover_prob: float = 0.5, extra_mutations: float = 0.0,
                 constraints: Sequence[str] | None = None, warmup: str = "asks") -> None:
        population_size = check_int("population_size", population_size, 2)  # a numpy integer: a Python int
        check_real("crossover_prob", crossover_prob, lambda v: 0 <= v <= 1, "in [0, 1]")
        check_real("extra_mutations", extra_mutations, lambda v: v >= 0, ">= 0")
        super().__init__(space, seed, dedup, constraints)
        self._start_warm_up(population_size, warmup)
        self.crossover_prob = float(crossover_prob)  # a numpy float is recorded as a plain one
        self.extra_mutations = float(extra_mutations)
        self.population: list[Member] = []
        self.n_stuck = 0  # duplicate proposals since the last accepted one
        self._ranking: tuple[np.ndarray, np.ndarray] | None = None

    def ask(self) -> Architecture:
        arch = super().ask()
        self.n_stuck = 0
        return arch

    def _child(self) -> Architecture:
        ranks, crowding = self._order()
        first = self.population[self._tournament(ranks, crowding)][0]
        child = first
        if self.rng.random() < self.crossover_prob:
            mate = self.population[self._tournament(ranks, crowding)][0]
            child = uniform_crossover(self.space, first, mate, self.rng)
        steps = 1 + self.n_stuck // 50  # walk further once the elite's neighbourhoods are used up
        if self.extra_mutations:
            steps += int(self.rng.poisson(self.extra_mutations))
        for _ in range(steps):
            child = self.space.mutate(child, self.rng)
        return child

    def _on_duplicate(self, arch: Architecture, score: object) -> None:
        self.n_stuck += 1

    def _order(self) -> tuple[np.ndarray, np.ndarray]:
        """Ranks and crowding distances of the population (cached until the next result)."""
        if self._ranking is None:
            self._ranking = rank_and_crowding(*self._points(self.population))
        return self._ranking

    def _observe_member(self, arch: Architecture, score: tuple[float, ...]) -> None:
        """Steady-state environmental selection: the child joins, the worst by (rank, crowding) leaves."""
        self.population.append((arch, score))
        self._ranking = None
        if len(self.population) > self.population_size:
            ranks, crowding = self._order()
            worst = int(np.lexsort((crowding, -ranks))[0])
            self.population.pop(worst)
            self._ranking = None

    def _tournament(self, ranks: np.ndarray, crowding: np.ndarray) -> int:
        a, b = (int(i) for i in self.rng.integers(len(ranks), size=2))
        return a if (ranks[a], -crowding[a]) <= (ranks[b], -crowding[b]) else b
