"""Multi-objective strategies: told a tuple of higher-is-better scores, they keep a Pareto archive."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..pareto import crowding_distance, hypervolume, non_dominated_mask, non_dominated_sort
from ..spaces import Architecture, SearchSpace
from .base import Score, Strategy
from .random_search import RandomSearch


def _as_tuple(score: Score) -> tuple[float, ...]:
    return tuple(float(s) for s in score) if isinstance(score, tuple) else (float(score),)


class ParetoArchive:
    """Mixin: every successful (architecture, score tuple) told, and the non-dominated ones among them."""

    def _archive_add(self, arch: Architecture, score: Score) -> None:
        if score is not None:
            self.archive.append((arch, _as_tuple(score)))

    def pareto_front(self) -> list[tuple[Architecture, tuple[float, ...]]]:
        """Non-dominated (architecture, score) pairs told so far, in the order they were told."""
        if not self.archive:
            return []
        mask = non_dominated_mask(np.array([s for _, s in self.archive]))
        return [member for member, keep in zip(self.archive, mask) if keep]

    def hypervolume(self, reference: Sequence[float]) -> float:
        """Hypervolume of the archive's scores against ``reference`` (higher-is-better units)."""
        if not self.archive:
            return 0.0
        return hypervolume(np.array([s for _, s in self.archive]), reference)


class MultiObjectiveRandomSearch(ParetoArchive, RandomSearch):
    """Uniform random sampling that keeps the Pareto front of what it was told."""

    name = "mo_random"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True) -> None:
        super().__init__(space, seed, dedup)
        self.archive: list[tuple[Architecture, tuple[float, ...]]] = []

    def _observe(self, arch: Architecture, score: Score) -> None:
        self._archive_add(arch, score)


class MultiObjectiveEvolution(ParetoArchive, Strategy):
    """Regularized (aging) evolution with Pareto tournaments.

    The first ``population_size`` proposals are random. Afterwards ``sample_size`` members of the
    population (its ``population_size`` most recent successful members) are drawn; the parent is the
    one with the best non-dominated rank within the population, ties broken by larger crowding
    distance (NSGA-II's order), so the search spreads along the whole front. The child is a mutation
    of the parent; the oldest member dies when the child joins.
    """

    name = "mo_evolution"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 population_size: int = 20, sample_size: int = 5) -> None:
        if population_size < 1 or not 1 <= sample_size <= population_size:
            raise ValueError(f"need 1 <= sample_size ({sample_size}) <= population_size ({population_size})")
        super().__init__(space, seed, dedup)
        self.population_size = population_size
        self.sample_size = sample_size
        self.population: list[tuple[Architecture, tuple[float, ...]]] = []
        self.archive: list[tuple[Architecture, tuple[float, ...]]] = []
        self.n_random = 0

    def _propose(self) -> Architecture:
        if not self.population or (len(self.population) < self.population_size
                                   and self.n_random < self.population_size):
            self.n_random += 1
            return self.space.sample(self.rng)
        scores = np.array([s for _, s in self.population])
        ranks = non_dominated_sort(scores)
        crowding = np.zeros(len(scores))
        for rank in np.unique(ranks):
            members = np.flatnonzero(ranks == rank)
            crowding[members] = crowding_distance(scores[members])
        picks = self.rng.choice(len(self.population), size=min(self.sample_size, len(self.population)), replace=False)
        parent = min(picks, key=lambda i: (ranks[i], -crowding[i]))
        return self.space.mutate(self.population[int(parent)][0], self.rng)

    def _observe(self, arch: Architecture, score: Score) -> None:
        if score is None:
            return
        self._archive_add(arch, score)
        self.population.append((arch, _as_tuple(score)))
        if len(self.population) > self.population_size:
            self.population.pop(0)
