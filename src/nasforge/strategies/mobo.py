"""Multi-objective Bayesian optimization over the model-based parts (surrogate, acquisition, optimizer).

:class:`ThompsonHVI`: one surrogate per objective, and the candidate whose Thompson draw adds the
most hypervolume to the observed front (a one-sample, NumPy relative of BoTorch's qNEHVI), or with
``gain="pnd"`` the candidate most likely not to be dominated by it.

:class:`ParEGO` (Knowles 2006): each ask draws random weights, scalarizes every result with the
augmented Chebyshev function of the normalized objectives (:func:`augmented_chebyshev`), fits the
single-objective surrogate to those values and maximizes the acquisition over the discrete space.
Successive asks aim at different parts of the front; constraints make infeasible results score below
every feasible one.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..checks import check_int, check_real
from ..exceptions import UsageError, user_stacklevel
from ..pareto import non_dominated_mask
from ..spaces import Architecture, SearchSpace
from .base import PendingAware
from .constraints import KnownScreen
from .model_based import SearchContext, make_acquisition, make_optimizer, make_surrogate
from .model_based.surrogates import remake_surrogate
from .model_based.strategy import warn_no_uncertainty
from .model_based.surrogates import KnownSurrogate, fit_surrogate, known_metrics, per_candidate
from .multi_objective import MultiObjectiveStrategy, checked_reference


def _normalized(points: np.ndarray) -> np.ndarray:
    """``points`` scaled to [0, 1] per column over the given points (a constant column to 0)."""
    low, span = points.min(0), np.ptp(points, axis=0)
    return (points - low) / np.where(span > 0, span, 1.0)


def chebyshev(points: np.ndarray, weights: np.ndarray, rho: float = 0.05) -> np.ndarray:
    """A Chebyshev scalarization of higher-is-better ``points`` measured from the worst point (normalized
    ``z``, see :func:`_normalized`): ``min_i w_i z_i + rho * sum_i w_i z_i``, higher is better. Any point with a
    0 component (a front's extremes) scores about 0, and a large weight aims at the end the objective is worst
    at. ``ts_hvi`` ranks with it; ``parego`` used it before 2026-12-07 (``scalarization="worst"``)."""
    weighted = _normalized(points) * weights
    return weighted.min(1) + rho * weighted.sum(1)


def augmented_chebyshev(points: np.ndarray, weights: np.ndarray, rho: float = 0.05) -> np.ndarray:
    """Knowles' (2006) augmented Chebyshev scalarization of higher-is-better ``points``: the weighted distance
    of the normalized ``z`` (:func:`_normalized`) from the ideal point, negated so that higher is better:
    ``-(max_i w_i (1 - z_i) + rho * sum_i w_i (1 - z_i))``. A large weight aims at the end the objective is
    best at."""
    gap = (1.0 - _normalized(points)) * weights
    return -(gap.max(1) + rho * gap.sum(1))


SCALARIZATIONS = {"ideal": augmented_chebyshev, "worst": chebyshev}
"""ParEGO's scalarizations: Knowles' (since 2026-12-07), and the worst-point form of the studies stored before."""


class ParEGO(PendingAware, MultiObjectiveStrategy):
    """ParEGO with random Chebyshev scalarizations; any surrogate/acquisition/optimizer of
    :mod:`nasforge.strategies.model_based` (default: Hamming-kernel GP, expected improvement,
    exhaustive scoring on small spaces).

    The first ``n_initial`` proposals are random. The model is refitted at every ask (the weights
    change), on every result told; the state is the history and the random generator, so a resumed
    strategy refits the same models and continues exactly. ``scalarization="ideal"`` is Knowles'
    (:func:`augmented_chebyshev`); ``"worst"`` (:func:`chebyshev`) is the rule before 2026-12-07, kept for the
    studies stored by it.
    """

    name = "parego"
    transient = ("_surrogate", "_acquisition", "_optimizer")
    older_rules = {"scalarization": "worst"}
    # 2026-12-07 05:00 UTC: recorded since, so a study without it was older
    rules_changed_at = {"scalarization": 1796619600.0}
    recorded_since_change = frozenset(older_rules)

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 surrogate: str | dict[str, Any] | None = None, acquisition: str | dict[str, Any] = "ei",
                 optimizer: str | dict[str, Any] = "auto", n_initial: int = 10, rho: float = 0.05,
                 constraints: Sequence[str] | None = None, scalarization: str = "ideal") -> None:
        check_int("n_initial", n_initial, 2)
        check_real("rho", rho, lambda v: v >= 0, ">= 0")
        if not isinstance(scalarization, str) or scalarization not in SCALARIZATIONS:
            raise UsageError(f"parego: scalarization must be one of {list(SCALARIZATIONS)}, got {scalarization!r}")
        super().__init__(space, seed, dedup, constraints)
        self.surrogate = surrogate or {"name": "gp", "kernel": "hamming"}
        self.acquisition, self.optimizer = acquisition, optimizer
        self.n_initial, self.rho, self.scalarization = n_initial, rho, scalarization
        self.n_fits = 0
        self._parts()
        warn_no_uncertainty(self._surrogate, self._acquisition)

    def _parts(self, remake: bool = False) -> None:
        # remake: the surrogate this strategy was built with, taken as then (see remake_surrogate)
        self._surrogate = (remake_surrogate if remake else make_surrogate)(self.surrogate, self.space)
        self._acquisition = make_acquisition(self.acquisition)
        self._optimizer = make_optimizer(self.optimizer, self.space)  # exhaustive on DARTS: refused now

    def scalarized(self, weights: np.ndarray) -> np.ndarray:
        """Chebyshev values of the archive for ``weights``; infeasible results rank below all feasible ones."""
        points, violation = self._points(self.archive)
        values = SCALARIZATIONS[self.scalarization](points, weights, self.rho)
        if violation is not None:
            finite = violation[np.isfinite(violation)]
            ceiling = (finite.max() if finite.size else 0.0) + 1.0  # an infinite violation ranks last, finitely
            values = np.where(violation > 0, values.min() - 1.0 - np.minimum(violation, ceiling), values)
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
        seed = (self.seed or 0) * 100_003 + self.n_fits
        model = fit_surrogate(copy.copy(self._surrogate), archs, values, seed=seed)
        pending = list(self.pending.values()) if model.supports_pending else []
        best = float(values.max())

        def score(candidates: Sequence[Architecture]) -> np.ndarray:
            return per_candidate(f"acquisition {type(self._acquisition).__name__}", "the scores it returned",
                                 self._acquisition(model, candidates, best, self.rng, pending), len(candidates))

        ranked = [archs[int(i)] for i in np.argsort(-values, kind="stable")]
        candidates = self._optimizer.propose(score, SearchContext(self.space, ranked, self._scores, self.rng), 8)
        return candidates[0] if candidates else self.space.sample(self.rng)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._parts(remake=True)


def probability_not_dominated(front: np.ndarray, mean: np.ndarray, std: np.ndarray,
                              df: float | None = None) -> np.ndarray:
    """P(a candidate is not weakly dominated by any point of ``front``) for 2 objectives, higher is
    better, independent normal predictions ``mean``/``std`` (n x 2; std 0: the value is known exactly).
    ``df``: Student-t predictions with ``df`` degrees of freedom instead (location ``mean``, scale
    ``std``), whose heavier tails leave a cell predicted several stds below the front a real chance.

    Exact, over the staircase: with the front sorted by the second objective (descending) and the
    running maximum ``A_k`` of the first, a candidate whose second objective falls in
    ``(b_{k+1}, b_k]`` must beat ``A_k`` on the first; above ``b_1`` it is never dominated.
    """
    from scipy.special import ndtr, stdtr

    if len(front) == 0:
        return np.ones(len(mean))
    cdf = ndtr if df is None else (lambda z: stdtr(df, z))

    def above(threshold: np.ndarray, j: int) -> np.ndarray:  # P(objective j > threshold), n x m
        mu, sd = mean[:, j:j + 1], std[:, j:j + 1]
        return np.where(sd > 0, cdf((mu - threshold[None]) / np.where(sd > 0, sd, 1.0)), mu > threshold[None])

    order = np.argsort(-front[:, 1], kind="stable")
    b, a = front[order, 1], np.maximum.accumulate(front[order, 0])
    survive_b = above(b, 1)  # P(y2 > b_k)
    # P(b_{k+1} < y2 <= b_k), with b_{m+1} = -inf
    in_segment = np.diff(np.concatenate([survive_b, np.ones((len(mean), 1))], axis=1), axis=1)
    return survive_b[:, 0] + (in_segment * above(a, 0)).sum(1)


def hypervolume_improvement(front: np.ndarray, candidates: np.ndarray, reference: Sequence[float]) -> np.ndarray:
    """Exact hypervolume each candidate would add to ``front`` (2 objectives, higher is better), vectorized."""
    ref = np.asarray(reference, dtype=float)
    front = front[(front > ref).all(1)] - ref
    cand = np.maximum(candidates - ref, 0.0)
    if len(front) == 0:
        return cand[:, 0] * cand[:, 1]
    front = front[np.argsort(-front[:, 0], kind="stable")]
    heights = np.concatenate([[0.0], np.maximum.accumulate(front[:, 1])])  # staircase height per x segment
    highs = np.concatenate([[np.inf], front[:, 0]])
    lows = np.concatenate([front[:, 0], [0.0]])
    width = np.clip(np.minimum(cand[:, :1], highs[None]) - lows[None], 0.0, None)
    return (width * np.clip(cand[:, 1:2] - heights[None], 0.0, None)).sum(1)


GAINS = ("hvi", "pnd")


class ThompsonHVI(PendingAware, MultiObjectiveStrategy):
    """Model-based multi-objective search: one surrogate per objective (default: BANANAS' LightGBM
    ensemble), one Thompson draw of every candidate's objectives per ask, and the candidate whose
    draw adds the most hypervolume to the front observed so far (pending architectures enter the
    front at their predicted means, so parallel asks spread out). Two objectives; the reference
    point is ``reference`` or, by default, 10 % of the observed span below the worst observed value
    (for a ``known`` objective, the span of the observed and candidate values: its range is known).
    ``surrogates``: one spec per objective (``None``: ``surrogate``), e.g. ``[None, {"name": "known",
    "cost": "params", "sign": -1}]`` for an exact parameter count. ``samples`` > 1 averages the
    improvement over that many draws (towards expected hypervolume improvement). A known surrogate
    with a ``metric`` (``{"name": "known", "cost": "params", "sign": -1, "metric": "params"}``) has
    constraints on that metric checked before proposing: candidates that break them rank last.
    The surrogates are refitted every ``refit_every`` results (the draws are fresh at every ask).
    ``gain="pnd"`` ranks candidates by their probability of not being dominated by the front
    (:func:`probability_not_dominated`, from the surrogates' means and stds) and the draw's
    improvement only breaks ties: the crowded parts of the front, where each new point adds little
    hypervolume, are searched as thoroughly as the open ones. On NB201 with a known cost (100 seeds)
    it finds more front points with a smaller gap; on a front of many small steps and a budget of
    30 it gains less hypervolume than ``"hvi"``, the default (docs/strategies.md).

    ``tail_df`` computes that probability with Student-t predictions of that many degrees of freedom
    instead of normal ones (:func:`probability_not_dominated`), for a model whose errors are
    heavy-tailed; on NB201 it found no more front points (docs/strategies.md; off by default).
    """

    name = "ts_hvi"
    objective_counts = (2, 2)
    transient = ("_models", "_optimizer_part", "_screen")

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True,
                 surrogate: str | dict[str, Any] | None = None, optimizer: str | dict[str, Any] = "auto",
                 n_initial: int = 10, refit_every: int = 10, reference: Sequence[float] | None = None,
                 constraints: Sequence[str] | None = None,
                 surrogates: Sequence[str | dict[str, Any] | None] | None = None, samples: int = 1,
                 gain: str = "hvi", tail_df: float | None = None) -> None:
        check_int("n_initial", n_initial, 2)
        check_int("refit_every", refit_every, 1)
        check_int("samples", samples, 1)
        if gain not in GAINS:
            raise UsageError(f"gain must be one of {', '.join(GAINS)}, got {gain!r}")
        if tail_df is not None:
            check_real("tail_df", tail_df, lambda v: v > 0, "None or a number of degrees of freedom > 0")
            if gain != "pnd":
                raise UsageError(f"tail_df needs gain='pnd' (it changes the probability of not being dominated), "
                                 f"got gain={gain!r}")
        super().__init__(space, seed, dedup, constraints)
        self.surrogate = surrogate or {"name": "ensemble", "predictor": "lgb", "n_members": 5, "n_estimators": 100,
                                       "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 2,
                                       "colsample_bytree": 0.5}
        self.surrogates = None if surrogates is None else [s or self.surrogate for s in surrogates]
        if self.surrogates is not None and len(self.surrogates) != 2:
            raise UsageError(f"strategy {self.name!r} handles 2 objectives, got {len(self.surrogates)} (surrogates= "
                             "holds one entry per objective)")
        for spec in self.surrogates or [self.surrogate]:
            built = make_surrogate(spec, self.space)  # a bad spec fails now, not at the first fit
            if getattr(built, "point_predictions", False):
                warnings.warn(f"{self.name}: surrogate predictor {built.predictor!r} gives no uncertainty (std 0), so "
                              "its Thompson draws are its means and the search is greedy on that objective; use a "
                              "predictor with uncertainty (rf, gp, ngb, mlp) or an ensemble surrogate",
                              UserWarning, stacklevel=user_stacklevel())
        self.optimizer, self.n_initial, self.refit_every = optimizer, n_initial, refit_every
        self.samples, self.gain = samples, gain
        self.tail_df = tail_df
        self.reference = checked_reference(reference, self.objective_counts)
        self.fit_size = 0
        self._models: list[Any] | None = None
        self._parts()

    def _parts(self) -> None:
        self._optimizer_part = make_optimizer(self.optimizer, self.space)  # exhaustive on DARTS: refused now
        self._screen = KnownScreen(self.constraints, known_metrics(self.surrogates, self.space))

    def models(self) -> list[Any]:
        """One fitted surrogate per objective, refitted once ``refit_every`` results arrived."""
        n = len(self.archive)
        if self.fit_size == 0 or n - self.fit_size >= self.refit_every:
            self.fit_size, self._models = n, None
        if self._models is None:  # also after load_state_dict: the same data and seed give the same fit
            archs = [a for a, _ in self.archive[: self.fit_size]]
            points = np.array([s for _, s in self.archive[: self.fit_size]], dtype=float)
            specs = self.surrogates or [self.surrogate] * points.shape[1]
            seed = (self.seed or 0) * 1009 + self.fit_size
            self._models = [fit_surrogate(remake_surrogate(spec, self.space), archs, points[:, j], seed=seed + j)
                            for j, spec in enumerate(specs)]
        return self._models

    def _propose(self) -> Architecture:
        if len(self.archive) < self.n_initial:
            return self._screen.sample(self.space, self.rng)
        points, violation = self._points(self.archive)
        if points.shape[1] != 2:
            raise UsageError(f"{self.name} handles 2 objectives, got {points.shape[1]}")
        feasible = points if violation is None else points[violation <= 0]
        if len(feasible):
            feasible = feasible[non_dominated_mask(feasible)]  # the staircase only: improvements are cheaper
        if self.reference is not None:
            self.warn_unreached_reference(points)
            ref = np.array(self.reference)
        else:
            ref = points.min(0) - 0.1 * np.maximum(np.ptp(points, axis=0), 1e-9)
        models = self.models()
        front = feasible
        if self.pending:
            pend = list(self.pending.values())
            front = np.vstack([front, np.column_stack([m.predict(pend)[0] for m in models])]) if len(front) else \
                np.column_stack([m.predict(pend)[0] for m in models])
        weights = self.rng.dirichlet(np.ones(2))

        known = [j for j, m in enumerate(models) if isinstance(m, KnownSurrogate)] if self.reference is None else []

        def score(candidates: Sequence[Architecture]) -> np.ndarray:
            gain = np.zeros(len(candidates))
            for _ in range(self.samples):
                draws = np.column_stack([m.sample(candidates, self.rng) for m in models])
                low = ref.copy()
                for j in known:  # a known objective's whole range is known: the reference covers it
                    lo, hi = min(points[:, j].min(), draws[:, j].min()), max(points[:, j].max(), draws[:, j].max())
                    low[j] = min(low[j], lo - 0.1 * max(hi - lo, 1e-9))
                gain += hypervolume_improvement(front, draws, low) / self.samples
            if self.gain == "pnd":  # the improvement only breaks ties between equally likely candidates
                mean, std = (np.column_stack(part) for part in zip(*(m.predict(candidates) for m in models)))
                gain = probability_not_dominated(front, mean, std, self.tail_df) + 1e-3 * gain / max(gain.max(), 1e-300)
            return gain + 1e-9 * chebyshev(np.vstack([draws, ref[None]]), weights)[:-1]

        archs = [a for a, _ in self.archive]
        ranked = [archs[int(i)] for i in np.argsort(-chebyshev(points, weights), kind="stable")]
        context = SearchContext(self.space, ranked, self._scores, self.rng)
        candidates = self._optimizer_part.propose(self._screen.wrap(score), context, 8)
        return candidates[0] if candidates else self._screen.sample(self.space, self.rng)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._models = None
        self._parts()
