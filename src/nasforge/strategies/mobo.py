"""Multi-objective Bayesian optimization over the model-based parts (surrogate, acquisition, optimizer).

:class:`ParEGO` (Knowles 2006): each ask draws random weights, scalarizes every result with the
augmented Chebyshev function of the normalized objectives, fits the single-objective surrogate to
those values and maximizes the acquisition over the discrete space. Successive asks aim at
different parts of the front; constraints make infeasible results score below every feasible one.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from ..exceptions import UsageError
from ..spaces import Architecture, SearchSpace
from .base import Score
from .model_based import SearchContext, make_acquisition, make_optimizer, make_surrogate
from .multi_objective import MultiObjectiveStrategy


def chebyshev(points: np.ndarray, weights: np.ndarray, rho: float = 0.05) -> np.ndarray:
    """Augmented Chebyshev scalarization of higher-is-better ``points`` (normalized to [0, 1] per
    column over the given points): ``min_i w_i z_i + rho * sum_i w_i z_i``, higher is better."""
    low, span = points.min(0), np.ptp(points, axis=0)
    z = (points - low) / np.where(span > 0, span, 1.0)
    weighted = z * weights
    return weighted.min(1) + rho * weighted.sum(1)


class ParEGO(MultiObjectiveStrategy):
    """ParEGO with random Chebyshev scalarizations; any surrogate/acquisition/optimizer of
    :mod:`nasforge.strategies.model_based` (default: Hamming-kernel GP, expected improvement,
    exhaustive scoring on small spaces).

    The first ``n_initial`` proposals are random. The model is refitted at every ask (the weights
    change), on every result told; the state is the history and the random generator, so a resumed
    strategy refits the same models and continues exactly.
    """

    name = "parego"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 surrogate: str | dict[str, Any] | None = None, acquisition: str | dict[str, Any] = "ei",
                 optimizer: str | dict[str, Any] = "auto", n_initial: int = 10, rho: float = 0.05,
                 constraints: Sequence[str] | None = None) -> None:
        if n_initial < 2:
            raise UsageError(f"n_initial must be at least 2, got {n_initial}")
        super().__init__(space, seed, dedup, constraints)
        self.surrogate = surrogate or {"name": "gp", "kernel": "hamming"}
        self.acquisition, self.optimizer = acquisition, optimizer
        self.n_initial, self.rho = n_initial, rho
        self.pending: dict[Hashable, Architecture] = {}
        self.n_fits = 0
        self._parts()

    def _parts(self) -> None:
        self._surrogate = make_surrogate(self.surrogate, self.space)
        self._acquisition = make_acquisition(self.acquisition)
        self._optimizer = make_optimizer(self.optimizer)

    def ask(self) -> Architecture:
        arch = super().ask()
        self.pending[self.space.canonical_key(arch)] = arch
        return arch

    def _observe(self, arch: Architecture, score: Score) -> None:
        self.pending.pop(self.space.canonical_key(arch), None)
        super()._observe(arch, score)

    def scalarized(self, weights: np.ndarray) -> np.ndarray:
        """Chebyshev values of the archive for ``weights``; infeasible results rank below all feasible ones."""
        points, violation = self._points(self.archive)
        values = chebyshev(points, weights, self.rho)
        if violation is not None:
            values = np.where(violation > 0, values.min() - 1.0 - violation, values)
        return values

    def _propose(self) -> Architecture:
        if len(self.archive) < self.n_initial:
            return self.space.sample(self.rng)
        weights = self.rng.dirichlet(np.ones(len(self.archive[0][1])))
        values = self.scalarized(weights)
        if np.ptp(values) == 0:
            return self.space.sample(self.rng)
        archs = [a for a, _ in self.archive]
        self.n_fits += 1
        model = copy.copy(self._surrogate).fit(archs, values, seed=(self.seed or 0) * 100_003 + self.n_fits)
        pending = list(self.pending.values()) if model.supports_pending else []
        best = float(values.max())

        def score(candidates: Sequence[Architecture]) -> np.ndarray:
            return np.asarray(self._acquisition(model, candidates, best, self.rng, pending), dtype=float)

        ranked = [archs[int(i)] for i in np.argsort(-values, kind="stable")]
        candidates = self._optimizer.propose(score, SearchContext(self.space, ranked, self._scores, self.rng), 8)
        return candidates[0] if candidates else self.space.sample(self.rng)

    def state_dict(self) -> dict[str, Any]:
        transient = ("space", "_surrogate", "_acquisition", "_optimizer")
        return copy.deepcopy({k: v for k, v in vars(self).items() if k not in transient})

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._parts()
