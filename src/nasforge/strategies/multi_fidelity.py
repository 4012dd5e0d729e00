"""Multi-fidelity strategies: Hyperband, ASHA and BOHB propose (architecture, budget) pairs.

Each ask returns an architecture and sets :attr:`MultiFidelityStrategy.asked_fidelity`, e.g.
``{"epochs": 4}``, the budget to evaluate it at (the study passes it to ``evaluate(arch, fidelity)``;
:mod:`nasforge.analysis.simulate` charges simulated time for it). Promotions ask again for an
architecture already evaluated at a lower budget, so these strategies keep their own bookkeeping:
a new configuration is never a duplicate, and each result is matched to the budget it was asked at.

Budgets ("rungs") are ``max_budget * eta**-k`` for ``k = 0..s_max`` with
``s_max = floor(log_eta(max_budget / min_budget))``, rounded to integers when both ends are
integers (NB201's 12 epochs, eta 3: 1, 4, 12).
"""

from __future__ import annotations

import bisect
import math
import warnings
from abc import abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from ..checks import check_int, check_real, is_real
from ..exceptions import SpaceExhausted, UsageError, WaitingForResults, user_stacklevel
from ..spaces import Architecture, SearchSpace
from .base import Score, Strategy


REPEAT_TRIES = 100
"""Draws a multi-fidelity strategy with ``dedup=False`` makes for a configuration not in flight now."""

MAX_RUNGS = 20
"""The most budgets (rungs) a multi-fidelity strategy takes: Hyperband's first bracket alone starts about
``eta**(rungs - 1)`` configurations, so more rungs would never finish one bracket."""


def budget_rule(strategy: str, config: dict[str, Any] | None) -> tuple[str, float] | None:
    """(fidelity name, full budget) of the registered strategy ``strategy`` built with the recorded keyword
    arguments ``config``, when it is multi-fidelity; else None (also for a name or values that are not usable)."""
    import inspect

    from . import STRATEGIES

    if strategy not in STRATEGIES or not STRATEGIES.tags(strategy)["multi_fidelity"]:
        return None
    try:
        defaults = {n: p.default for n, p in inspect.signature(STRATEGIES.get(strategy)).parameters.items()}
    except (TypeError, ValueError):  # a registered factory without a signature
        defaults = {}
    given = {**defaults, **(config or {})}
    key, full = given.get("fidelity"), given.get("max_budget")
    return (key, float(full)) if isinstance(key, str) and is_real(full) else None


def at_highest_budget(trials: list[Any], fidelity: str, full_budget: float) -> list[Any]:
    """The ``trials`` evaluated at the highest budget any of them reached (the incumbent of a multi-fidelity
    search is ranked there: a noisy 1-epoch result does not beat 12-epoch ones); a trial without ``fidelity`` in
    its fidelity counts as at ``full_budget``."""
    def budget(trial: Any) -> float:
        value = (trial.fidelity or {}).get(fidelity)
        return float(value) if is_real(value) else full_budget

    top = max(map(budget, trials), default=None)
    return [t for t in trials if budget(t) == top]


def rung_budgets(min_budget: float, max_budget: float, eta: int) -> list[float]:
    """Ascending budgets of successive halving between ``min_budget`` and ``max_budget`` (an integer ``eta`` >= 2:
    the fraction of each rung that is promoted is 1/eta): ``max_budget / eta**k`` for ``k = 0..floor(log_eta(max /
    min))``, rounded to whole numbers, halves to even as Python's ``round`` (never below ``min_budget``) when both bounds are
    whole, so the lowest budget may lie above ``min_budget`` (1, 3 and eta 2: 1.5 gives 2 and 3); equal budgets merge. Bad settings (or
    more than :data:`MAX_RUNGS` rungs) are UsageErrors, and settings that leave a single rung although
    ``min_budget < max_budget`` warn."""
    check_int("eta", eta, 2)
    for name, value in (("min_budget", min_budget), ("max_budget", max_budget)):
        check_real(name, value, lambda v: v > 0, "> 0")
    if min_budget > max_budget:
        raise UsageError(f"need min_budget <= max_budget, got {min_budget} and {max_budget}")
    ratio = max_budget / min_budget
    s_max = int(math.floor(math.log(ratio) / math.log(eta) + 1e-9)) if math.isfinite(ratio) else None
    if s_max is None or s_max + 1 > MAX_RUNGS:
        made = "max_budget / min_budget overflows" if s_max is None else f"that gives {s_max + 1} rungs"
        raise UsageError(f"min_budget={min_budget:g}, max_budget={max_budget:g}, eta={eta}: {made}; at most "
                         f"{MAX_RUNGS} rungs are supported (a Hyperband bracket would start eta**(rungs - 1) "
                         "configurations): raise min_budget or eta, or lower max_budget")
    budgets = [max_budget / eta ** k for k in range(s_max, -1, -1)]  # eta**k <= the ratio: a float
    if float(min_budget).is_integer() and float(max_budget).is_integer():  # halves to even: stored studies rely on it
        budgets = [float(max(min_budget, round(b))) for b in budgets]
    out: list[float] = []
    for b in budgets:
        if not out or b > out[-1]:
            out.append(b)
    if len(out) == 1 and min_budget < max_budget:
        warnings.warn(f"min_budget={min_budget:g} and max_budget={max_budget:g} with eta={eta} give one budget "
                      f"({out[0]:g}): max_budget / min_budget is below eta, so every evaluation runs at the full "
                      "budget (no successive halving); lower eta or min_budget for several budgets",
                      RuntimeWarning, stacklevel=user_stacklevel())
    return out


def _value(score: Score) -> float:
    if score is None:
        return -math.inf
    return float(score)


class MultiFidelityStrategy(Strategy):
    """Base of strategies that choose the budget of each evaluation (see the module docstring).

    Subclasses implement ``_next_job() -> (architecture, rung)`` (a new configuration comes from
    ``_fresh_config``) and ``_on_result(key, rung, value)``. Once an enumerable space has no new
    configuration left, the results there are still get promoted: Hyperband's brackets shrink to the
    configurations they got, ASHA promotes the best ``max(1, n // eta)`` of a rung nothing can still enter.
    """

    multi_fidelity = True

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True, fidelity: str = "epochs",
                 min_budget: float = 1, max_budget: float = 12, eta: int = 3) -> None:
        if not isinstance(fidelity, str) or not fidelity:
            raise UsageError(f"fidelity must be the name of the budget (a non-empty string, e.g. 'epochs'), got "
                             f"{fidelity!r}")
        super().__init__(space, seed, dedup)
        self.fidelity, self.min_budget, self.max_budget, self.eta = fidelity, min_budget, max_budget, eta
        self.budgets = rung_budgets(min_budget, max_budget, eta)
        self.archs: dict[Hashable, Architecture] = {}
        self.pending: dict[Hashable, int] = {}  # key -> rung it is being evaluated at
        self.rung_results: list[dict[Hashable, float]] = [{} for _ in self.budgets]
        self.asked_fidelity: dict[str, Any] | None = None

    @property
    def top(self) -> int:
        return len(self.budgets) - 1

    def budget(self, rung: int) -> int | float:
        b = self.budgets[rung]
        return int(b) if float(b).is_integer() else b

    # -- ask / tell ------------------------------------------------------------------------------
    def ask(self) -> Architecture:
        arch, rung = self._next_job()
        key = self.space.canonical_key(arch)
        self.archs.setdefault(key, arch)
        self._scores.setdefault(key, None)
        self.pending[key] = rung
        self.n_asked += 1
        self.asked_fidelity = {self.fidelity: self.budget(rung)}
        return arch

    def _fresh_config(self) -> Architecture | None:
        """A configuration not proposed before (with ``dedup``); None when an enumerable space has none left
        (the base class's check: at once on small spaces, else after ``own_tries`` repeats); after
        ``max_dedup_tries`` repeats, one the base class's :meth:`~Strategy._unproposed` draws. Without ``dedup`` a
        configuration may repeat, but not while it is being evaluated: each result is matched to its one budget
        (:class:`WaitingForResults` when the draws of :data:`REPEAT_TRIES` asks are all in flight)."""
        if self.dedup and self._used_up(known_only=True):
            return None
        for attempt in range(self.max_dedup_tries if self.dedup else REPEAT_TRIES):
            if attempt == self.own_tries and self.dedup and self._used_up(known_only=False):
                return None
            arch = self._new_config()
            key = self.space.canonical_key(arch)
            if not self.dedup:
                if key not in self.pending:
                    return arch
                continue
            if key not in self._scores:
                return arch
            self._on_duplicate(arch, self._scores[key])
        if not self.dedup:
            raise WaitingForResults(f"{self.name}: the last {REPEAT_TRIES} configurations drawn are all being "
                                    "evaluated now (with dedup=False one repeats only once its result is told)")
        return self._unproposed()

    def _exhausted(self) -> SpaceExhausted:
        """The error of an ask that has no new configuration and nothing to promote."""
        error = self._used_up_error()
        if self.pending:
            return WaitingForResults(f"{error}; nothing to promote until the {len(self.pending)} running "
                                     "evaluation(s) finish")
        return error

    def _propose(self) -> Architecture:
        return self._new_config()

    def _new_config(self) -> Architecture:
        """A candidate new configuration (default: uniform random)."""
        return self.space.sample(self.rng)

    def _observe(self, arch: Architecture, score: Score) -> None:
        key = self.space.canonical_key(arch)
        self.archs.setdefault(key, arch)
        if key not in self.pending:  # not asked (an enqueued trial, a repeated tell): its budget is unknown
            return
        rung = self.pending.pop(key)
        value = _value(score)
        self.rung_results[rung][key] = value
        self._on_result(key, rung, value)

    def rung_of(self, fidelity: Mapping[str, Any] | None) -> int | None:
        """The rung whose budget ``fidelity`` (a trial's) holds, if any."""
        budget = (fidelity or {}).get(self.fidelity)
        if not is_real(budget):
            return None
        return next((r for r, b in enumerate(self.budgets) if math.isclose(b, float(budget))), None)

    def tell_at(self, arch: Architecture, score: Score, fidelity: Mapping[str, Any] | None) -> None:
        """:meth:`tell` the result of ``arch`` evaluated at ``fidelity`` (a stored trial's), ranked at that budget's
        rung even where this strategy did not ask it there (a result relearnt, or one another process asked);
        a budget that is no rung leaves it unranked, as a result never asked."""
        rung = self.rung_of(fidelity)
        if rung is not None:
            self.pending[self.space.canonical_key(arch)] = rung
        self.tell(arch, score)

    def relearn(self, told: Sequence[tuple[Architecture, Score, Mapping[str, Any] | None]],
                running: Sequence[tuple[Architecture, Mapping[str, Any] | None]] = ()) -> None:
        """Learn stored results at the budgets they were evaluated at (a fresh strategy, when replaying the asks
        did not reproduce the study): each (architecture, score, fidelity) of ``told`` in order is ranked at its
        budget, so rungs promote from it; the evaluations of ``running`` are waited for at their budget."""
        for arch, score, fidelity in told:
            self.tell_at(arch, score, fidelity)
        for arch, fidelity in running:
            rung = self.rung_of(fidelity)
            if rung is not None:
                key = self.space.canonical_key(arch)
                self.archs.setdefault(key, arch)
                self._scores.setdefault(key, None)
                self.pending[key] = rung
        self._relearned()

    def _relearned(self) -> None:
        """Rebuild what promotes from the relearned rung results (default: nothing)."""

    @abstractmethod
    def _next_job(self) -> tuple[Architecture, int]:
        """The next (architecture, rung) to run; :class:`SpaceExhausted` when there is none."""

    def _on_result(self, key: Hashable, rung: int, value: float) -> None:
        """React to a result (default: nothing)."""


class Hyperband(MultiFidelityStrategy):
    """Hyperband (Li et al. 2018): brackets of synchronous successive halving, most aggressive first.

    Bracket ``s`` starts ``ceil((s_max + 1) / (s + 1) * eta**s)`` new configurations at rung
    ``s_max - s`` and keeps the best ``1/eta`` at each rung up to ``max_budget``. Asynchronous
    workers never idle: when the open brackets have nothing to hand out (their rung waits for
    running evaluations), the next bracket opens (as in BOHB's parallel scheme).
    """

    name = "hyperband"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True, fidelity: str = "epochs",
                 min_budget: float = 1, max_budget: float = 12, eta: int = 3) -> None:
        super().__init__(space, seed, dedup, fidelity, min_budget, max_budget, eta)
        self.brackets: list[dict[str, Any]] = []  # open brackets, oldest first
        self.bracket_of: dict[Hashable, int] = {}  # key -> id of its bracket
        self.n_brackets = 0

    def _open_bracket(self) -> dict[str, Any]:
        s_max = self.top
        s = s_max - self.n_brackets % (s_max + 1)
        n = math.ceil((s_max + 1) / (s + 1) * self.eta ** s)
        # "fresh": new configurations still to start (a count: a large bracket allocates nothing), "todo": promotions
        bracket = {"id": self.n_brackets, "s": s, "rung": s_max - s, "fresh": n, "todo": [], "running": [],
                   "results": {}}
        self.n_brackets += 1
        self.brackets.append(bracket)
        return bracket

    def _next_job(self) -> tuple[Architecture, int]:
        while True:  # a promotion waits while its configuration runs elsewhere (a repeat, with dedup=False)
            bracket = next((b for b in self.brackets if b["fresh"] or self._startable(b)), None)
            if bracket is None:
                if self.dedup and self._used_up(known_only=True):
                    raise self._exhausted()
                bracket = self._open_bracket()
            promote = self._startable(bracket)
            arch = self.archs[promote] if promote is not None else self._fresh_config()
            if arch is not None:
                break
            self._shrink()
        if promote is not None:
            bracket["todo"].remove(promote)
        else:
            bracket["fresh"] -= 1
        key = self.space.canonical_key(arch)  # a new configuration: the bracket learns its key once it is drawn
        bracket["running"].append(key)
        self.bracket_of[key] = bracket["id"]
        return arch, bracket["rung"]

    def _startable(self, bracket: dict[str, Any]) -> Hashable | None:
        """The first promotion of ``bracket`` whose configuration is not being evaluated now, if any."""
        return next((k for k in bracket["todo"] if k not in self.pending), None)

    def _shrink(self) -> None:
        """No new configuration is left: every bracket drops the ones it still waited for, and those with
        nothing running promote the results they have."""
        for bracket in list(self.brackets):
            bracket["fresh"] = 0
            if not bracket["todo"] and not bracket["running"]:
                self._promote(bracket)

    def _on_result(self, key: Hashable, rung: int, value: float) -> None:
        bracket = next((b for b in self.brackets if b["id"] == self.bracket_of.get(key)), None)
        if bracket is None or key not in bracket["running"]:
            return
        bracket["running"].remove(key)
        bracket["results"][key] = value
        if not bracket["todo"] and not bracket["fresh"] and not bracket["running"]:
            self._promote(bracket)

    def _promote(self, bracket: dict[str, Any]) -> None:
        """A finished rung: its best ``1/eta`` (at least one) go a rung up, or the bracket closes. Those already
        evaluated or running a rung up (after a diverged replay) are not run again: their result counts."""
        while True:
            ranked = sorted(bracket["results"], key=lambda k: -bracket["results"][k])
            keep = [k for k in ranked[: max(1, len(ranked) // self.eta)] if bracket["results"][k] > -math.inf]
            if bracket["rung"] == self.top or not keep:
                self.brackets.remove(bracket)
                return
            bracket["rung"] += 1
            done = self.rung_results[bracket["rung"]]
            bracket["results"] = {k: done[k] for k in keep if k in done}
            elsewhere = {k for b in self.brackets for k in b["running"]}  # in flight for another bracket
            bracket["running"] = [k for k in keep if k not in done and k not in elsewhere
                                  and self.pending.get(k) == bracket["rung"]]
            bracket["todo"] = [k for k in keep if k not in done and k not in bracket["running"]]
            self.bracket_of.update((k, bracket["id"]) for k in bracket["running"])
            if bracket["todo"] or bracket["running"]:
                return

    def _relearned(self) -> None:
        """Each rung below the top with relearned results becomes a finished rung of a bracket (ids from -1 down,
        so the cycle of new brackets is kept), which promotes its best ``1/eta``."""
        for rung in range(self.top):
            if not self.rung_results[rung]:
                continue
            bracket = {"id": -1 - rung, "s": self.top - rung, "rung": rung, "fresh": 0, "todo": [], "running": [],
                       "results": dict(self.rung_results[rung])}
            self.brackets.insert(0, bracket)  # the highest rung's promotions first
            self._promote(bracket)


class ASHA(MultiFidelityStrategy):
    """Asynchronous successive halving (Li et al. 2020) as a strategy (promotion type).

    Whenever a worker is free, the highest rung with a configuration in the top ``1/eta`` of its
    results that was not promoted yet sends it one rung up; otherwise a new configuration starts at
    the lowest budget. A rung ranks each configuration once (its latest result), so once a small space
    has no new configuration the top ``max(1, n // eta)`` of a rung go up (with ``dedup=False`` before
    any repeat, so the full budget is reached, and without waiting for repeats running below it).
    """

    name = "asha"

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True, fidelity: str = "epochs",
                 min_budget: float = 1, max_budget: float = 12, eta: int = 3) -> None:
        super().__init__(space, seed, dedup, fidelity, min_budget, max_budget, eta)
        self.promoted: list[dict[Hashable, None]] = [{} for _ in self.budgets]  # ordered sets
        self.ranking: list[list[tuple[float, int, Hashable]]] = [[] for _ in self.budgets]  # best first

    def _next_job(self) -> tuple[Architecture, int]:
        job = self._promotion(final=False)
        if job is None and not self.dedup and self._used_up(known_only=True):
            # every configuration was proposed: a repeat only re-ranks rung 0, so the final rule promotes first
            job = self._promotion(final=True, repeating=True)
        if job is None:
            arch = self._fresh_config()
            job = (arch, 0) if arch is not None else self._promotion(final=True)
        if job is None:
            raise self._exhausted()
        return job

    def _promotion(self, final: bool, repeating: bool = False) -> tuple[Architecture, int] | None:
        """The best unpromoted configuration in the top ``1/eta`` of the highest rung that has one; ``final``
        (no new configuration left): in the top ``max(1, n // eta)`` of a rung nothing running can still enter;
        ``repeating`` (final, but with ``dedup=False`` repeats go on): of a rung with nothing running at it."""
        for rung in range(self.top - 1, -1, -1):
            ranking = self.ranking[rung]
            if final and any(r == rung or (r < rung and not repeating) for r in self.pending.values()):
                continue
            n = max(1, len(ranking) // self.eta) if final else len(ranking) // self.eta
            for _, _, key in ranking[:n]:
                if key not in self.promoted[rung] and key not in self.pending:
                    self.promoted[rung][key] = None
                    return self.archs[key], rung + 1
        return None

    def _on_result(self, key: Hashable, rung: int, value: float) -> None:
        for lower in range(rung):  # evaluated at this rung: promoted from those below (relearned results too)
            self.promoted[lower].setdefault(key, None)
        self.ranking[rung] = [entry for entry in self.ranking[rung] if entry[2] != key]  # a repeat: its latest result
        if value > -math.inf:
            bisect.insort(self.ranking[rung], (-value, len(self.ranking[rung]), key))


class BOHB(Hyperband):
    """BOHB (Falkner et al. 2018): Hyperband whose new configurations come from a TPE model.

    The model is :class:`~nasforge.strategies.tpe.TPE`'s factorized categorical density ratio (the
    classic one: good results weigh equally), fitted on the results of the largest budget that has
    at least ``min_points_in_model`` of them (default: number of categorical parameters + 2); a
    ``random_fraction`` of new configurations stays uniformly random.

    It departs from the paper, which fits once a budget has d + 3 results (d parameters; here d + 2), takes the
    best max(d + 1, q * n) of them as good and max(d + 1, n - good) as bad, and models both with KDEs: here the
    good set is TPE's split, the best ceil(gamma * n) of the n successful results (``gamma`` 0.15, the paper's q;
    at least 1, at most TPE's ``max_good`` 25), the bad set all the others, and each density counts categorical
    choices. Kept as it is, since stored studies replay it; the paper's good-set rule measured no better
    (docs/strategies.md, "Multi-fidelity strategies"). ``good_set`` is TPE's: ``"successes"`` (failed results
    count among the rest) since 2026-12-06, ``"all"`` before, kept for the studies stored then (an older rule).
    """

    name = "bohb"
    older_rules = {"good_set": "all"}
    rules_changed_at = {"good_set": 1796538511.0}  # 2026-12-06 06:28:31 UTC, as TPE's (not imported here: heavy)
    GOOD_SETS = ("successes", "all")  # TPE.GOOD_SETS
    states_without = {"good_set": "successes"}  # as TPE's

    def __init__(self, space: SearchSpace, seed: int | None = None, dedup: bool = True, fidelity: str = "epochs",
                 min_budget: float = 1, max_budget: float = 12, eta: int = 3, random_fraction: float = 1 / 3,
                 min_points_in_model: int | None = None, gamma: float = 0.15, n_candidates: int = 24,
                 good_set: str = "successes") -> None:
        if not isinstance(good_set, str) or good_set not in self.GOOD_SETS:
            raise UsageError(f"bohb: good_set must be one of {list(self.GOOD_SETS)}, got {good_set!r}")
        check_real("random_fraction", random_fraction, lambda v: 0 <= v <= 1, "in [0, 1]")
        if min_points_in_model is not None:
            check_int("min_points_in_model", min_points_in_model, 1)
        check_real("gamma", gamma, lambda v: 0 < v < 1, "in (0, 1)")
        check_int("n_candidates", n_candidates, 1)
        super().__init__(space, seed, dedup, fidelity, min_budget, max_budget, eta)
        self.random_fraction, self.gamma, self.n_candidates = random_fraction, gamma, n_candidates
        self.good_set = good_set
        self.min_points_in_model = min_points_in_model or len(self.space.categorical_params()) + 2
        self.codes: dict[Hashable, list[int]] = {}  # categorical codes of every evaluated architecture

    def model_rung(self) -> int | None:
        """The largest rung with enough results to fit the model, if any."""
        for rung in range(self.top, -1, -1):
            if sum(v > -math.inf for v in self.rung_results[rung].values()) >= self.min_points_in_model:
                return rung
        return None

    def _new_config(self) -> Architecture:
        rung = self.model_rung()
        if rung is None or self.rng.random() < self.random_fraction:
            return self.space.sample(self.rng)
        from .model_based.surrogates import categorical_codes
        from .tpe import TPE

        keys = list(self.rung_results[rung])
        missing = [k for k in keys if k not in self.codes]
        if missing:
            for k, row in zip(missing, categorical_codes(self.space, [self.archs[k] for k in missing]).tolist()):
                self.codes[k] = row
        tpe = TPE(self.space, n_initial=1, gamma=self.gamma, n_candidates=self.n_candidates, rank_power=0.0,
                  good_set=self.good_set)
        tpe.codes = [self.codes[k] for k in keys]
        tpe.values = [self.rung_results[rung][k] for k in keys]
        tpe.rng, tpe._scores = self.rng, self._scores  # draw from our generator, avoid what we proposed
        return tpe._propose()


__all__ = ["ASHA", "BOHB", "Hyperband", "MultiFidelityStrategy", "WaitingForResults", "rung_budgets"]
