"""Tree-structured Parzen estimator of our own, on the space's categorical view."""

from __future__ import annotations

import math

import numpy as np

from ..checks import check_int, check_real
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
    ``sum log l - log g``. Failed results count among the rest.
    """

    name = "tpe"
    transient = ("_choices",)

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True, n_initial: int = 10,
                 gamma: float = 0.1, max_good: int = 25, prior_weight: float = 1.0, n_candidates: int = 24,
                 rank_power: float = 1.0) -> None:
        check_int("n_initial", n_initial, 1)
        check_real("gamma", gamma, lambda v: 0 < v < 1, "in (0, 1)")
        check_int("max_good", max_good, 1)
        check_real("prior_weight", prior_weight, lambda v: v > 0, "> 0")
        check_int("n_candidates", n_candidates, 1)
        check_real("rank_power", rank_power, lambda v: v >= 0, ">= 0")
        super().__init__(space, seed, dedup)
        self.n_initial, self.gamma, self.max_good = n_initial, gamma, max_good
        self.prior_weight, self.n_candidates, self.rank_power = prior_weight, n_candidates, rank_power
        self._choices = list(space.categorical_params().items())
        self.codes: list[list[int]] = []  # categorical codes of each told architecture
        self.values: list[float] = []  # their scores (-inf for failures)

    def _densities(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        values = np.array(self.values)
        n_ok = int(np.isfinite(values).sum())  # the good set holds successes only; failures go to the rest
        n_good = min(n_ok, max(1, min(self.max_good, math.ceil(self.gamma * n_ok))))
        order = np.argsort(-values, kind="stable")
        codes = np.array(self.codes)
        good, bad = codes[order[:n_good]], codes[order[n_good:]]
        good_weights = (1.0 + np.arange(n_good)) ** -self.rank_power
        good_weights *= n_good / max(good_weights.sum(), 1.0)
        l_dens, g_dens = [], []
        for d, (_, choices) in enumerate(self._choices):
            k = len(choices)
            for rows, weights, out in ((good, good_weights, l_dens), (bad, None, g_dens)):
                counts = np.bincount(rows[:, d], weights=weights, minlength=k).astype(float) + self.prior_weight / k
                out.append(counts / counts.sum())
        return l_dens, g_dens

    def _propose(self) -> Architecture:
        if len(self.values) < self.n_initial:
            return self.space.sample(self.rng)
        l_dens, g_dens = self._densities()
        best, best_score = None, -np.inf
        for _ in range(self.n_candidates):
            draw = [int(self.rng.choice(len(p), p=p)) for p in l_dens]
            try:
                arch = self.space.from_params({name: choices[c] for (name, choices), c in zip(self._choices, draw)})
            except ValueError:
                continue
            if self.space.canonical_key(arch) in self._scores:
                continue
            score = sum(np.log(l[c]) - np.log(g[c]) for l, g, c in zip(l_dens, g_dens, draw))
            if score > best_score:
                best, best_score = arch, score
        return best if best is not None else self.space.sample(self.rng)

    def _observe(self, arch: Architecture, score: Score) -> None:
        self.codes.append(categorical_codes(self.space, [arch])[0].tolist())
        self.values.append(-np.inf if score is None else float(score))
