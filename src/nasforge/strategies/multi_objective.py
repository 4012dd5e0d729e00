"""Multi-objective strategies: told a tuple of higher-is-better scores, they keep a Pareto archive.

Every multi-objective strategy takes ``constraints`` (strings such as ``"params <= 1.5"``, see
:mod:`.constraints`); the study then tells scores carrying their violation and the archive's front,
hypervolume and rankings are feasible-first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..checks import is_real
from ..exceptions import UsageError, user_stacklevel
from ..pareto import hypervolume, non_dominated_mask, rank_and_crowding
from ..spaces import Architecture, SearchSpace
from .base import RandomWarmUp, Score, Strategy
from .constraints import ConstrainedScore, checked_violation, parse_constraints, violation_of
from .evolution import check_population

Member = tuple[Architecture, tuple[float, ...]]


def as_tuple(score: Score) -> tuple[float, ...]:
    """A told score as a tuple of floats (a ConstrainedScore keeps its violation)."""
    if isinstance(score, ConstrainedScore):
        return score
    return tuple(float(s) for s in score) if isinstance(score, tuple) else (float(score),)


def checked_reference(reference: Any, counts: tuple[int, int | None]) -> list[float] | None:
    """A strategy's ``reference`` point as floats (None stays None): finite numbers, as many as the objective
    ``counts`` (least, most; None: any) allow; anything else is a UsageError."""
    if reference is None:
        return None
    if hasattr(reference, "tolist"):  # a numpy array or torch tensor: its items as Python numbers
        reference = reference.tolist()
    try:
        values = [] if isinstance(reference, str) else list(reference)
    except TypeError:
        values = []
    if not values or not all(is_real(v) for v in values):
        raise UsageError(f"reference must be a list of finite numbers (one per objective), got {reference!r:.100}")
    low, high = counts
    if len(values) < low or (high is not None and len(values) > high):
        wanted = f"{low}" if low == high else f"at least {low}" if high is None else f"{low} to {high}"
        raise UsageError(f"reference must have {wanted} values (one per objective), got {len(values)}: "
                         f"{reference!r:.100}")
    return [float(v) for v in values]


class MultiObjectiveStrategy(Strategy):
    """Base of multi-objective strategies: the archive of every successful (architecture, score) told.
    A subclass that takes a ``reference`` point refuses scores with another number of objectives."""

    objective_counts: tuple[int, int | None] = (1, None)
    reference: list[float] | None = None

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 constraints: Sequence[str] | str | None = None) -> None:
        super().__init__(space, seed, dedup)
        parse_constraints(constraints)  # validate early: a bad spec is a usage error at construction
        if isinstance(constraints, str):  # one string may hold several, comma-separated
            constraints = [spec.strip() for spec in constraints.split(",") if spec.strip()]
        self.constraints = list(constraints or [])
        self.archive: list[Member] = []

    def checked_score(self, score: Any) -> Score:
        """As :meth:`Strategy.checked_score`; with ``constraints`` set, a score must also carry its violation
        (a :class:`ConstrainedScore`, e.g. from :func:`~.constraints.constrain`): a plain tuple would count as
        feasible. A violation must be a number >= 0 (inf, an infinite constrained metric, ranks last; NaN is
        refused)."""
        score = super().checked_score(score)
        if isinstance(score, ConstrainedScore):
            checked_violation(self.name, score)
        elif score is not None and self.constraints:
            raise UsageError(f"{self.name}: the strategy has constraints {self.constraints}, so a score must carry "
                             f"its violation, got the plain {score!r:.100}; tell constrain(score, metrics, "
                             "strategy.constraints) (nasforge.strategies.constraints) or ConstrainedScore(values, "
                             "violation)")
        if score is not None and self.reference is not None and len(score) != len(self.reference):
            raise UsageError(f"{self.name}: the reference point has {len(self.reference)} values but the score has "
                             f"{len(score)} objectives: {score!r:.100}; give one reference value per objective")
        return score

    def _observe(self, arch: Architecture, score: Score) -> None:
        if score is not None:
            self.archive.append((arch, as_tuple(score)))
            self._observe_member(arch, self.archive[-1][1])

    def _observe_member(self, arch: Architecture, score: tuple[float, ...]) -> None:
        """Learn from a successful result (default: the archive is all there is)."""

    def _points(self, members: Sequence[Member]) -> tuple[np.ndarray, np.ndarray | None]:
        points = np.array([s for _, s in members], dtype=float)
        if not self.constraints:
            return points, None
        return points, np.array([violation_of(s) for _, s in members])

    def pareto_front(self) -> list[Member]:
        """Non-dominated (architecture, score) pairs told so far (feasible-first), in the order told."""
        if not self.archive:
            return []
        points, violation = self._points(self.archive)
        mask = non_dominated_mask(points, violation=violation)
        return [member for member, keep in zip(self.archive, mask) if keep]

    def warn_unreached_reference(self, points: np.ndarray) -> None:
        """Warn once when the given ``reference`` is no worse than every told result (``points``, higher-is-better)
        on some objective: no result adds hypervolume, so the search is steered by ties alone; usually a
        reference in the objective's own units where the strategy negates a minimized one."""
        if self.reference is None or getattr(self, "_reference_warned", False) or not len(points):
            return
        best = points.max(0)
        unreached = [k for k, (r, b) in enumerate(zip(self.reference, best)) if r >= b]
        if unreached:
            import warnings

            self._reference_warned = True
            k = unreached[0]
            warnings.warn(f"{self.name}: reference {self.reference} is not improved on by any of the {len(points)} "
                          f"results told on objective {k + 1} (best {best[k]:g}), so no candidate adds hypervolume; "
                          "the reference is in the strategy's higher-is-better units, with minimized objectives "
                          f"negated (a cost bounded by 55 is -55)", UserWarning, stacklevel=user_stacklevel())

    def hypervolume(self, reference: Sequence[float]) -> float:
        """Hypervolume of the feasible scores told against ``reference`` (higher-is-better units: minimized
        objectives negated); 0.0 while none is feasible (or none told). ``reference`` is checked always: finite
        numbers, one per objective of the scores told (before any, as many as the strategy handles)."""
        width = len(self.archive[0][1]) if self.archive else None
        checked = checked_reference(reference, self.objective_counts if width is None else (width, width))
        if checked is None:
            raise UsageError("reference must be a list of finite numbers (one per objective), got None")
        feasible = [m for m in self.archive if violation_of(m[1]) <= 0]
        if not feasible:
            return 0.0
        return hypervolume(np.array([s for _, s in feasible], dtype=float), checked)


class MultiObjectiveRandomSearch(MultiObjectiveStrategy):
    """Uniform random sampling that keeps the Pareto front of what it was told."""

    name = "mo_random"

    def _propose(self) -> Architecture:
        return self.space.sample(self.rng)


class MultiObjectiveEvolution(RandomWarmUp, MultiObjectiveStrategy):
    """Regularized (aging) evolution with Pareto tournaments.

    The first ``population_size`` architectures asked are random (:class:`RandomWarmUp`). Afterwards
    ``sample_size`` members of the population (its ``population_size`` most recent successful members) are drawn; the parent is the
    one with the best non-dominated rank within the population, ties broken by larger crowding
    distance (NSGA-II's order), so the search spreads along the whole front. The child is a mutation
    of the parent; the oldest member dies when the child joins.
    """

    name = "mo_evolution"
    transient = ("_ranking",)

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 population_size: int = 20, sample_size: int = 5, constraints: Sequence[str] | None = None,
                 warmup: str = "asks") -> None:
        population_size, sample_size = check_population(population_size, sample_size)
        super().__init__(space, seed, dedup, constraints)
        self._start_warm_up(population_size, warmup)
        self.sample_size = sample_size
        self.population: list[Member] = []
        self._ranking: tuple[np.ndarray, np.ndarray] | None = None  # of the population, until it changes

    def _child(self) -> Architecture:
        if self._ranking is None:  # an ask's retried proposals share it
            self._ranking = rank_and_crowding(*self._points(self.population))
        ranks, crowding = self._ranking
        picks = self.rng.choice(len(self.population), size=min(self.sample_size, len(self.population)), replace=False)
        parent = min(picks, key=lambda i: (ranks[i], -crowding[i]))
        return self.space.mutate(self.population[int(parent)][0], self.rng)

    def _observe_member(self, arch: Architecture, score: tuple[float, ...]) -> None:
        self.population.append((arch, score))
        self._ranking = None
        if len(self.population) > self.population_size:
            self.population.pop(0)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._ranking = None  # of the population before
