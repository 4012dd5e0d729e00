"""Tree-structured Parzen estimator of our own, on the space's categorical view."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import check_int, check_real
from ..exceptions import UsageError
from ..spaces import Architecture, SearchSpace
from .base import Score, Strategy
from .model_based.surrogates import categorical_codes


class TPE(Strategy):
    """TPE (Bergstra et al. 2011) over ``space.categorical_params()`` of canonical forms.

    After ``n_initial`` random proposals the results are split into the best ``gamma`` fraction of
    the successful ones (at least one, at most ``max_good``) and the rest; each parameter gets two
    smoothed categorical densities ``l`` (good) and ``g`` (rest), with ``prior_weight`` pseudo-counts
    spread uniformly. In ``l`` the
    good result of rank ``r`` (0 = best) counts ``(1 + r) ** -rank_power``, rescaled so the good
    results weigh ``n_good`` in all (``rank_power=0``: equal counts, classic TPE). Each ask draws
    ``n_candidates`` assignments from ``l`` and proposes the unseen valid one with the highest
    ``sum log l - log g``. Failed results count among the rest (``good_set="successes"``); ``good_set="all"`` takes
    the best ``gamma`` fraction of all results, failures ranked last (at least one), the rule before 2026-12-06.

    The defaults of before 2026-12-05 (``gamma=0.15``, ``rank_power=0``) and that rule are :attr:`older_rules`: a study
    records them, and one stored before that does not is replayed by those of its time (:attr:`rules_changed_at`).

    The densities are computed once per told state and reused by every retry of an ask (``ask`` calls
    :meth:`_propose` again while it proposes known architectures, which late in a search is most of them).
    """

    name = "tpe"
    transient = ("_choices", "_fitted", "_counted")
    GOOD_SETS = ("successes", "all")  # what the good set is the best gamma fraction of: see _densities()
    older_rules = {"gamma": 0.15, "rank_power": 0.0, "good_set": "all"}
    # the commits that changed them: 2026-12-05 02:18:15 and 03:49:59 UTC, 2026-12-06 06:28:31 UTC
    rules_changed_at = {"gamma": 1796437095.0, "rank_power": 1796442599.0, "good_set": 1796538511.0}
    states_without = {"good_set": "successes"}  # states name no good_set; those since it changed followed this

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True, n_initial: int = 10,
                 gamma: float = 0.1, max_good: int = 25, prior_weight: float = 1.0, n_candidates: int = 24,
                 rank_power: float = 1.0, good_set: str = "successes") -> None:
        check_int("n_initial", n_initial, 1)
        check_real("gamma", gamma, lambda v: 0 < v < 1, "in (0, 1)")
        check_int("max_good", max_good, 1)
        check_real("prior_weight", prior_weight, lambda v: v > 0, "> 0")
        check_int("n_candidates", n_candidates, 1)
        check_real("rank_power", rank_power, lambda v: v >= 0, ">= 0")
        if not isinstance(good_set, str) or good_set not in self.GOOD_SETS:
            raise UsageError(f"tpe: good_set must be one of {list(self.GOOD_SETS)}, got {good_set!r}")
        super().__init__(space, seed, dedup)
        self.n_initial, self.gamma, self.max_good = n_initial, gamma, max_good
        self.prior_weight, self.n_candidates, self.rank_power = prior_weight, n_candidates, rank_power
        self.good_set = good_set
        self._choices = list(self.space.categorical_params().items())
        self.codes: list[list[int]] = []  # categorical codes of each told architecture
        self.values: list[float] = []  # their scores (-inf for failures)
        self._fitted: tuple[list[float], int, list[np.ndarray], list[np.ndarray]] | None = None  # see _model
        self._counted: tuple[list[list[int]], int, list[np.ndarray]] | None = None  # see _told_counts

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """As :meth:`Strategy.load_state_dict`; the densities are recomputed from the loaded results."""
        super().load_state_dict(state)
        self._fitted = self._counted = None

    def _densities(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        values = np.array(self.values)
        if self.good_set == "successes":  # the good set holds successes only; failures go to the rest
            n_ok = int(np.isfinite(values).sum())
            n_good = min(n_ok, max(1, min(self.max_good, math.ceil(self.gamma * n_ok))))
        else:  # "all": the best of all results, a failure among them where few succeeded
            n_good = max(1, min(self.max_good, math.ceil(self.gamma * len(values))))
        order = np.argsort(-values, kind="stable")
        good = self._code_array([self.codes[i] for i in order[:n_good]])
        good_weights = (1.0 + np.arange(n_good)) ** -self.rank_power
        good_weights *= n_good / max(good_weights.sum(), 1.0)
        l_dens, g_dens = [], []
        for d, ((_, choices), told) in enumerate(zip(self._choices, self._told_counts())):
            k = len(choices)
            l_counts = np.bincount(good[:, d], weights=good_weights, minlength=k) + self.prior_weight / k
            rest = told - np.bincount(good[:, d], minlength=k)  # all told results but the good ones
            g_counts = rest.astype(float) + self.prior_weight / k
            l_dens.append(l_counts / l_counts.sum())
            g_dens.append(g_counts / g_counts.sum())
        return l_dens, g_dens

    def _code_array(self, codes: list[list[int]]) -> np.ndarray:
        """``codes`` as an integer array of one row per architecture, one column per parameter."""
        return np.array(codes, dtype=np.intp).reshape(len(codes), len(self._choices))

    def _told_counts(self) -> list[np.ndarray]:
        """Per parameter, how often each choice occurs in ``codes``: counted once per told result, not per ask
        (``codes`` only grows; :meth:`load_state_dict` or another list handed over starts the count again). The
        cache holds the list it counted, compared by identity: an ``id`` alone could be that of a new list made where
        a freed one was."""
        if self._counted is None or self._counted[0] is not self.codes or self._counted[1] > len(self.codes):
            zeros = [np.zeros(len(choices), dtype=np.intp) for _, choices in self._choices]
            self._counted = (self.codes, 0, zeros)
        _, start, counts = self._counted
        new = self._code_array(self.codes[start:])
        for d, told in enumerate(counts):
            told += np.bincount(new[:, d], minlength=len(told))
        self._counted = (self.codes, len(self.codes), counts)
        return counts

    def _model(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per parameter, the cumulative distribution of ``l`` and the table of ``log l - log g`` by choice, kept
        until one more result is told. The distribution is built as ``Generator.choice(k, p=l)`` builds it and each
        ratio as the per-draw sum took it before 2026-12-06, so draws, scores and seeded searches are unchanged."""
        # another list handed over (as BOHB does) is fitted anew; the fitted one is held, so no new list takes its id
        if self._fitted is None or self._fitted[0] is not self.values or self._fitted[1] != len(self.values):
            l_dens, g_dens = self._densities()
            cdfs, ratios = [], []
            for l, g in zip(l_dens, g_dens):
                cdf = l.cumsum()
                cdf /= cdf[-1]
                cdfs.append(cdf)
                ratios.append(np.array([np.log(l[c]) - np.log(g[c]) for c in range(len(l))]))
            self._fitted = (self.values, len(self.values), cdfs, ratios)
        return self._fitted[2], self._fitted[3]

    def _propose(self) -> Architecture:
        if len(self.values) < self.n_initial:
            return self.space.sample(self.rng)
        cdfs, ratios = self._model()
        uniform = self.rng.random((self.n_candidates, len(cdfs)))  # one number per draw, as rng.choice takes them
        draws = np.empty(uniform.shape, dtype=np.intp)
        scores = np.zeros(self.n_candidates)
        for d, (cdf, ratio) in enumerate(zip(cdfs, ratios)):
            draws[:, d] = cdf.searchsorted(uniform[:, d], side="right")
            scores += ratio[draws[:, d]]  # summed parameter by parameter, in the order of the old per-draw sum
        tried: set[tuple[int, ...]] = set()
        for i in np.argsort(-scores, kind="stable"):  # the best score first; among equal ones the earliest draw
            draw = tuple(draws[i].tolist())
            if draw in tried:
                continue
            tried.add(draw)
            try:
                arch = self.space.from_params({name: choices[c] for (name, choices), c in zip(self._choices, draw)})
            except ValueError:
                continue
            if self.space.canonical_key(arch) not in self._scores:
                return arch
        return self.space.sample(self.rng)

    def _observe(self, arch: Architecture, score: Score) -> None:
        self.codes.append(categorical_codes(self.space, [arch])[0].tolist())
        self.values.append(-np.inf if score is None else float(score))
