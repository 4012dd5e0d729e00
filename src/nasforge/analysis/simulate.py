"""Asynchronous benchmarking in simulated time (as Syne Tune's simulator backend).

A :class:`SimulatedBenchmark` answers ``evaluate(arch, budget) -> (value, seconds)`` from a table
or a surrogate. :func:`simulate` runs a strategy with N asynchronous workers in an event queue:
each evaluation occupies its worker for its recorded (or modelled) training time, the earliest
one to finish is told first and its worker asks again at once. Nothing sleeps, so hours of
8-worker search replay in seconds, and parallel and multi-fidelity strategies are compared
against (simulated) wall-clock time, the only fair axis for them.

The NAS-Bench-201 12-epoch table holds neither training times nor per-epoch curves, so
:class:`ModelledCurves` models both, documentedly:

- time: ``seconds_per_epoch = base_seconds + seconds_per_conv * conv`` where ``conv`` is a FLOPs
  proxy of the cell (3x3 convolution = 9, 1x1 = 1, pooling/skip/none = 0, summed over the 6 edges);
  an evaluation at ``b`` epochs costs ``b * seconds_per_epoch`` (a promoted trial restarts from
  scratch, as in Hyperband/BOHB without checkpoints). The proxy is NAS-Bench-201's: on another space
  give ``time_column`` (a column of the table holding each architecture's training seconds at the full
  budget, used instead of the model), another ``cost`` function, or ``cost=None`` (equal times);
- learning curve: ``v(b) = floor + (final - floor) * (1 - exp(-b / tau)) / (1 - exp(-B / tau))``
  with the table's final value at ``B = max_budget``, a per-architecture rate ``tau`` drawn in
  ``tau_range`` and Gaussian noise shrinking linearly to 0 at ``B``; so low budgets rank
  architectures imperfectly, and the full budget returns the table value exactly. All draws are
  seeded by the architecture's table row and ``seed``: the same query gives the same answer. The
  scale follows the table's metric: by default ``floor`` (the untrained value) is its lowest value
  rounded down to one significant figure (9 for NB201 CIFAR-10's 9.712, 1 for CIFAR-100, 0.09 for that
  accuracy as a fraction), never above a table value, so no curve falls towards its final value (a floor,
  given or default, must lie below the table's best value); ``noise`` (its sd at ``b = 0``) is 1 % of the
  power of ten above its largest magnitude (1 point for percentages, 0.01 for fractions).
"""

from __future__ import annotations

import heapq
import json
import math
import reprlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np

from ..benchmarks.tabular import TabularBenchmark, data_rows, objective_direction
from ..checks import check_int, check_names, check_real, check_seed, is_real
from ..exceptions import UsageError
from ..experiment._export import json_safe
from ..spaces import Architecture, NASBench201Space
from ..spaces.nb201 import conv_proxy
from ..strategies import get_strategy
from ..strategies.base import Strategy


class SimulatedBenchmark(Protocol):
    """What the simulator needs: a value (larger is better; ``optimum()`` the best) and a duration per
    (architecture, budget)."""

    space: Any
    max_budget: float
    fidelity: str

    def evaluate(self, arch: Architecture, budget: float) -> tuple[float, float]: ...

    def optimum(self) -> float: ...

    def worst(self) -> float: ...


class ModelledCurves:
    """A table's final values with modelled training times and learning curves (module docstring). The ``metric``
    must be maximized (``direction``, or where None its name decides: :func:`check_maximized`)."""

    def __init__(self, benchmark: TabularBenchmark, metric: str = "val_acc", max_budget: float = 12,
                 fidelity: str = "epochs", base_seconds: float = 10.0, seconds_per_conv: float = 1.0,
                 floor: float | None = None, tau_range: tuple[float, float] = (1.0, 5.0), noise: float | None = None,
                 seed: int = 0, cost: Callable[[Architecture], float] | None = conv_proxy,
                 time_column: str | None = None, direction: str | None = None) -> None:
        if not all(callable(getattr(benchmark, name, None)) for name in ("values", "row")):  # a table, or alike
            raise UsageError(f"ModelledCurves needs a TabularBenchmark (e.g. load_nb201()), got "
                             f"{type(benchmark).__name__} {reprlib.repr(benchmark)}")
        self.direction = check_maximized(metric, direction)
        _check_model(max_budget, fidelity, base_seconds, seconds_per_conv, tau_range, noise, seed, cost, time_column)
        self.benchmark, self.metric, self.max_budget, self.fidelity = benchmark, metric, max_budget, fidelity
        self.base_seconds, self.seconds_per_conv = base_seconds, seconds_per_conv
        self.tau_range, self.seed, self.cost = tau_range, seed, cost
        self.space = benchmark.space
        self._values = benchmark.values(metric)
        best = float(np.max(self._values))
        if floor is None:  # the lowest value rounded down (module docstring): flat curves for a constant table
            floor = _rounded_down(float(np.min(self._values)))
        else:
            check_real("floor", floor, lambda v: v < best,
                       f"below the table's best {metric} ({best:g}): the untrained value the curves rise from")
        self.floor = floor
        if noise is None:
            magnitude = float(np.max(np.abs(self._values)))
            noise = 0.01 * 10.0 ** math.ceil(math.log10(magnitude)) if magnitude > 0 else 0.0
        self.noise = noise
        self.time_column = time_column
        self._seconds = None if time_column is None else _training_seconds(benchmark, time_column)
        if time_column is None and cost is conv_proxy and not isinstance(self.space, NASBench201Space):
            raise UsageError(f"ModelledCurves: the default time model (NAS-Bench-201's conv proxy) does not apply to "
                             f"space {self.space.name!r}; give time_column= (a column of training seconds), another "
                             "cost= function, or cost=None (the same time per epoch for every architecture)")

    def optimum(self) -> float:
        return float(np.max(self._values))

    def worst(self) -> float:
        return float(np.min(self._values))

    def hours_for(self, trials: int, n_workers: int) -> float:
        """Simulated hours ``n_workers`` need for ``trials`` full-budget evaluations of average cost
        (the horizon ``nasforge bench --workers-simulated`` gives a ``--trials`` budget)."""
        if self._seconds is not None:
            mean = float(np.mean(self._seconds))
        else:
            mean = float(np.mean([self.seconds_per_epoch(a) for a in self.benchmark.archs])) * self.max_budget
        return trials * mean / n_workers / 3600.0

    def seconds_per_epoch(self, arch: Architecture) -> float:
        """The table's training seconds over ``max_budget`` (with ``time_column``), else the modelled time."""
        if self._seconds is not None:
            return float(self._seconds[self.benchmark.row(arch)]) / self.max_budget
        return self.base_seconds + self.seconds_per_conv * (self.cost(arch) if self.cost is not None else 0.0)

    def curve(self, arch: Architecture, budget: float) -> float:
        row = self.benchmark.row(arch)
        final = float(self._values[row])
        if budget >= self.max_budget:
            return final
        rng = np.random.default_rng([self.seed, row, int(round(1000 * budget))])
        tau = np.random.default_rng([self.seed, row]).uniform(*self.tau_range)
        shape = (1 - math.exp(-budget / tau)) / (1 - math.exp(-self.max_budget / tau))
        noise = self.noise * (1 - budget / self.max_budget) * rng.standard_normal()
        return self.floor + (final - self.floor) * shape + noise

    def evaluate(self, arch: Architecture, budget: float) -> tuple[float, float]:
        return self.curve(arch, budget), budget * self.seconds_per_epoch(arch)


def _rounded_down(value: float) -> float:
    """``value`` rounded down to one significant figure (9.712 -> 9, 0.0971 -> 0.09, -9.7 -> -10): never above it."""
    from decimal import ROUND_FLOOR, Decimal

    exact = Decimal(repr(value))  # the shortest decimal of the float: 0.3 stays 0.3, not 0.29999...
    if not exact:
        return value
    first = exact.scaleb(-exact.adjusted()).to_integral_value(ROUND_FLOOR)
    return float(first.scaleb(exact.adjusted()))


def check_maximized(metric: str, direction: Any = None, who: str = "ModelledCurves", label: str = "metric") -> str:
    """"maximize", the direction of ``metric`` (:func:`~nasforge.benchmarks.tabular.objective_direction`:
    ``direction``, or where None, the metric's name), else a UsageError naming it and its direction: the simulator
    maximizes (regret from the table's largest value; strategies and pruners are told the raw values). ``who`` and
    ``label`` name the caller and the metric's option in the message."""
    if objective_direction(metric, direction) == "minimize":
        raise UsageError(f"{who}: only a maximized {label} can be simulated, and {label} {metric} is minimized"
                         f"{' (from its name)' if direction is None else ''}")
    return "maximize"


def _check_model(max_budget: Any, fidelity: Any, base_seconds: Any, seconds_per_conv: Any, tau_range: Any,
                 noise: Any, seed: Any, cost: Any, time_column: Any = None) -> None:
    """ModelledCurves' settings: a UsageError naming the first bad one (times and budgets positive, a (low, high)
    tau range of positive numbers, a noise sd >= 0)."""
    check_real("max_budget", max_budget, lambda v: v > 0, "a positive number (the budget of the table's values)")
    if not isinstance(fidelity, str) or not fidelity:
        raise UsageError(f"fidelity must be the name of the budget (e.g. 'epochs'), got {fidelity!r}")
    check_real("base_seconds", base_seconds, lambda v: v >= 0, "a number of seconds per epoch >= 0")
    check_real("seconds_per_conv", seconds_per_conv, lambda v: v >= 0, "a number of seconds >= 0")
    if time_column is None and base_seconds == 0 and (seconds_per_conv == 0 or cost is None):
        raise UsageError(f"base_seconds 0 with {'cost=None' if cost is None else 'seconds_per_conv 0'}: every "
                         "evaluation would take no time; give base_seconds > 0 (or a cost and seconds_per_conv > 0)")
    pair = list(tau_range) if hasattr(tau_range, "__len__") and not isinstance(tau_range, (str, bytes, dict)) else None
    if (pair is None or len(pair) != 2 or not all(is_real(t) and t > 0 for t in pair) or pair[0] > pair[1]):
        raise UsageError(f"tau_range must be (low, high), positive numbers of epochs with low <= high, got "
                         f"{tau_range!r}")
    if noise is not None:
        check_real("noise", noise, lambda v: v >= 0, "a standard deviation >= 0 (or None for the default)")
    check_seed("seed", seed)
    if cost is not None and not callable(cost):
        raise UsageError(f"cost must be a function of the architecture (or None: equal times), got {cost!r}")


def why_not_a_metric(benchmark: TabularBenchmark, column: str, arch_column: str | None = None,
                     option: str = "") -> str:
    """Why ``column`` is none of the table's metrics: it is the ``arch_column`` (given by ``option``), a text
    column, or not in the table."""
    if arch_column is not None and column == arch_column:
        return f"is the architecture column of table {benchmark.name!r}{f' ({option})' if option else ''}, not a metric"
    if column in getattr(benchmark, "text_columns", ()):
        return f"is a column of table {benchmark.name!r} that is not numeric"
    from ..registry import did_you_mean

    return f"is not in table {benchmark.name!r}{did_you_mean(column, benchmark.metrics)}"


def _training_seconds(benchmark: TabularBenchmark, column: str) -> np.ndarray:
    """The table column ``column`` as training seconds: every value a positive number, else a UsageError."""
    if column not in benchmark.metrics:
        raise UsageError(f"time column {column!r} {why_not_a_metric(benchmark, column)}; available: "
                         f"{benchmark.metrics}")
    seconds = benchmark.values(column)
    bad = np.flatnonzero(~(seconds > 0))
    if bad.size:
        raise UsageError(f"time column {column!r} of table {benchmark.name!r} must hold positive training seconds; "
                         f"{data_rows([bad[0]])} holds {seconds[bad[0]]}")
    return seconds


def check_budgets(strategy: Strategy, bench: SimulatedBenchmark) -> None:
    """A multi-fidelity ``strategy`` asks for budgets under the bench's ``fidelity`` name, and its ``max_budget``
    is the bench's (the budget of the table's values, where the incumbent is counted): a UsageError otherwise,
    since other budgets would be ignored, never reach the full budget, or be charged beyond it."""
    if not getattr(strategy, "multi_fidelity", False):
        return
    name, fidelity, top = strategy.name, getattr(strategy, "fidelity", None), getattr(strategy, "max_budget", None)
    if fidelity != bench.fidelity:
        raise UsageError(f"strategy {name!r}: fidelity={fidelity!r}, but the simulated benchmark's budgets are "
                         f"{bench.fidelity!r} (its evaluations would all run at the full budget); give "
                         f"fidelity={bench.fidelity!r}")
    if top is not None and top != bench.max_budget:
        raise UsageError(f"strategy {name!r}: max_budget={top:g}, but the simulated benchmark's full budget (that of "
                         f"its table values, where the incumbent is counted) is {bench.max_budget:g}; give "
                         f"max_budget={bench.max_budget:g}")


@dataclass
class SimTrace:
    """One simulated run: per finished evaluation, its finish time, budget and value, and the
    regret of the incumbent (best value among full-budget evaluations so far)."""

    times: np.ndarray
    budgets: np.ndarray
    values: np.ndarray
    regret: np.ndarray
    n_evaluations: int
    seconds: float = 0.0
    n_pruned: int = 0

    def regret_at(self, grid: np.ndarray, initial: float) -> np.ndarray:
        """Incumbent regret at each time of ``grid``: that after the last evaluation finished by then, and
        ``initial`` before the run's first full-budget result (also for a run that finished nothing)."""
        if not len(self.times):
            return np.full(len(grid), float(initial))
        idx = np.searchsorted(self.times, grid, side="right") - 1
        out = np.where(idx >= 0, self.regret[np.maximum(idx, 0)], initial)  # idx < 0: nothing finished yet
        return np.where(np.isnan(out), initial, out)

    def found_at(self, grid: np.ndarray) -> np.ndarray:
        """Whether the run has a full-budget result (an incumbent) at each time of ``grid``."""
        first = np.flatnonzero(np.isfinite(self.regret))
        return grid >= self.times[first[0]] if first.size else np.zeros(len(grid), dtype=bool)


def simulate(strategy: Strategy, bench: SimulatedBenchmark, n_workers: int = 8,
             max_seconds: float = 24 * 3600.0, max_evaluations: int | None = None,
             pruner: Any = None) -> SimTrace:
    """Run ``strategy`` with ``n_workers`` asynchronous simulated workers until ``max_seconds`` of
    simulated time (no new evaluation starts later; running ones are not counted) or
    ``max_evaluations`` started evaluations.

    With a ``pruner`` (a ``nasforge.experiment.pruners`` name, spec or object) every evaluation
    reports its value after each whole step of its budget (``bench.evaluate(arch, step)``, at the time
    that many steps take) and the pruner decides, as the engine does with a ``Reporter`` (but among every
    evaluation's curve, where the engine shows a multi-fidelity strategy's trial only those of its budget: a
    table's step value does not depend on the budget; never at or after the
    evaluation's budget or the pruner's :meth:`~nasforge.experiment.pruners.Pruner.last_step`; the curve of each
    evaluation that ran the full budget goes to the pruner's ``trial_completed``, so a ``max_step`` no curve
    reaches warns as in the engine; its ``reset`` is called first, so an object shared across runs learns from
    each run's curves only); a pruned
    evaluation frees its worker at once, the strategy is told None (as the study tells a PRUNED
    trial), and the trace records the step it reached as its budget. A non-finite value is a failed
    evaluation: the strategy is told None and it never becomes the incumbent. A strategy that has nothing
    new to propose (``SpaceExhausted``) ends the run: running evaluations finish, no new one starts; one that
    waits for running evaluations (``WaitingForResults``, a multi-fidelity strategy with promotions still to
    come) leaves the worker idle until the next evaluation is told. A multi-fidelity strategy must name the
    bench's fidelity and full budget (:func:`check_budgets`)."""
    from ..exceptions import SpaceExhausted, WaitingForResults
    from ..experiment.pruners import get_pruner, never_stops

    if not all(callable(getattr(strategy, name, None)) for name in ("ask", "tell")):  # a wrapper with both is fine
        raise UsageError(f"simulate: strategy must be a strategy with ask() and tell() (e.g. get_strategy('evolution', "
                         f"bench.space)), got {type(strategy).__name__} {reprlib.repr(strategy)}")
    if not callable(getattr(bench, "evaluate", None)):
        raise UsageError(f"simulate: bench must be a simulated benchmark with evaluate(arch, budget) (e.g. "
                         f"ModelledCurves(load_nb201())), got {type(bench).__name__} {reprlib.repr(bench)}")
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise UsageError(f"n_workers must be an integer >= 1, got {n_workers!r}")
    if isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float)) or not max_seconds > 0:
        raise UsageError(f"max_seconds must be a positive number of simulated seconds, got {max_seconds!r}")
    if max_evaluations is not None and (isinstance(max_evaluations, bool) or not isinstance(max_evaluations, int)
                                        or max_evaluations < 1):
        raise UsageError(f"max_evaluations must be an integer >= 1 or None, got {max_evaluations!r}")
    check_budgets(strategy, bench)
    pruner = get_pruner(pruner)
    if pruner is not None and (reason := never_stops(pruner, first_step=1)) is not None:  # epochs from 1
        raise UsageError(f"pruner {pruner.name!r} {reason}")
    if pruner is not None:
        pruner.reset()  # an object shared across runs (compare_simulated's seeds and strategies) starts afresh
    end = math.inf if pruner is None or pruner.last_step() is None else pruner.last_step()  # none judged from there
    start = time.perf_counter()
    # (finish time, id, arch, budget, value, start time, step: reached so far, or None without a pruner)
    queue: list[tuple[float, int, Architecture, float, float, float, int | None]] = []
    curves: dict[int, list[tuple[int, float]]] = {}
    started, exhausted = 0, False

    def push(begun: float, number: int, arch: Architecture, budget: float, step: int | None) -> None:
        value, seconds = bench.evaluate(arch, budget if step is None else min(step, budget))
        heapq.heappush(queue, (begun + seconds, number, arch, budget, value, begun, step))

    def launch(now: float) -> bool:
        """Start one evaluation; False when the strategy has nothing to start now."""
        nonlocal started, exhausted
        try:
            arch = strategy.ask()
        except WaitingForResults:
            exhausted = not queue  # nothing running could make a promotion due
            return False
        except SpaceExhausted:
            exhausted = True
            return False
        fidelity = getattr(strategy, "asked_fidelity", None) or {}
        budget = float(fidelity.get(bench.fidelity, bench.max_budget))
        push(now, started, arch, budget, None if pruner is None else 1)
        started += 1
        return True

    def may_start(now: float) -> bool:
        return not exhausted and now < max_seconds and (max_evaluations is None or started < max_evaluations)

    def fill(now: float) -> None:
        """Give every idle worker an evaluation (each running one has one entry in the queue)."""
        while len(queue) < n_workers and may_start(now) and launch(now):
            pass

    fill(0.0)
    times, budgets, values, n_pruned = [], [], [], 0
    while queue:
        now, number, arch, budget, value, begun, step = heapq.heappop(queue)
        if now > max_seconds:
            break
        reached = budget
        if step is not None:
            curves.setdefault(number, []).append((step, value))
            if step < budget:
                if step >= min(budget, end) or not pruner.should_prune(number, curves):
                    push(begun, number, arch, budget, step + 1)
                    continue
                strategy.tell(arch, None)
                reached, n_pruned = float(step), n_pruned + 1
            elif budget >= bench.max_budget:  # it ran where training ends, as the engine's COMPLETE trials
                pruner.trial_completed(curves[number])
        if reached >= budget:
            strategy.tell(arch, value if math.isfinite(value) else None)
        times.append(now)
        budgets.append(reached)
        values.append(value)
        fill(now)
    budgets_a, values_a = np.array(budgets), np.array(values)
    full = np.where(budgets_a >= bench.max_budget, values_a, -np.inf)
    best = np.fmax.accumulate(full) if len(full) else full  # fmax: a NaN (failed) value never becomes the incumbent
    regret = np.where(np.isfinite(best), bench.optimum() - best, np.nan)
    return SimTrace(np.array(times), budgets_a, values_a, regret, len(times), time.perf_counter() - start, n_pruned)


@dataclass
class SimReport:
    """Regret versus simulated hours, per strategy, over seeds, and what was simulated: the objective (maximized),
    its optimum, the regret a run has before its first full-budget result, the pruner, the simulated benchmark's
    settings (``ModelledCurves``: metric, time column, curve model) and, from ``nasforge bench``, the ``--trials``
    the horizon was computed from."""

    benchmark: str
    n_workers: int
    hours: np.ndarray
    seeds: int
    curves: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    space: dict[str, Any] = field(default_factory=dict)  # name and config (harness.space_settings)
    strategy_settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # per strategy
    objective: str | None = None
    optimum: float = math.nan
    initial_regret: float = math.nan  # before a run's first full-budget result: optimum - worst
    pruner: dict[str, Any] | None = None  # its spec (nasforge.experiment.pruners.pruner_spec)
    model: dict[str, Any] = field(default_factory=dict)  # the simulated benchmark's plain constructor settings
    trials: int | None = None  # the horizon in average full evaluations (nasforge bench --trials)
    skipped_defaults: dict[str, str] = field(default_factory=dict)  # default strategy not run -> why (nasforge bench)
    table_path: str | None = None  # the file the table was read from, where known (nasforge bench)
    runs: dict[str, list[SimTrace]] = field(default_factory=dict, repr=False)  # per strategy, its runs (seed order)

    def table(self, at_hours: Sequence[float] | None = None) -> list[dict[str, Any]]:
        """Mean regret at a few times (default: a quarter, half and all of the horizon), median at the
        last, the runs with a full-budget result by the last, mean evaluations per run, the share of them at the
        full budget and the mean number pruned. Each time's values are those of the runs at that time (a report
        without its runs, built by hand: only times of the grid ``hours``). A time before 0 or past the horizon
        is a UsageError."""
        at_hours = list(self.hours[[len(self.hours) // 4, len(self.hours) // 2, -1]] if at_hours is None
                        else at_hours)
        if not at_hours:
            raise UsageError("at_hours must name at least one time (simulated hours), got none")
        for h in at_hours:
            check_real("at_hours", h, lambda v: v >= 0, "simulated hours >= 0 (each a time of the curves)")
        beyond = [h for h in at_hours if h > self.hours[-1] * (1 + 1e-9)]
        if beyond:  # the curves end at the horizon: a later value would repeat the last one under another label
            raise UsageError(f"at_hours {beyond} lie past the simulated horizon of {self.hours[-1]:g} h")
        rows = []
        for name in self.curves:
            at = self._values_at(name, np.array(at_hours, dtype=float))
            row: dict[str, Any] = {"strategy": name}
            for h, mean in zip(at_hours, at["mean"]):
                row[f"mean@{h:.3g}h"] = float(mean)
            row[f"median@{at_hours[-1]:.3g}h"] = float(at["median"][-1])
            row["found"] = int(at["n_found"][-1])
            row["evals"] = self.stats[name]["evaluations"]
            row["full"] = self.stats[name]["full_budget_share"]
            row["pruned"] = self.stats[name]["pruned"]
            rows.append(row)
        return rows

    def _values_at(self, name: str, hours: np.ndarray) -> dict[str, np.ndarray]:
        """``name``'s mean and median regret and runs with a full-budget result at each of ``hours``: from its runs
        where the report keeps them, else from its curves at times of the grid (another time is a UsageError)."""
        runs = self.runs.get(name)
        if runs:
            matrix = np.array([run.regret_at(hours * 3600.0, self.initial_regret) for run in runs])
            return {"mean": matrix.mean(0), "median": np.median(matrix, 0),
                    "n_found": np.sum([run.found_at(hours * 3600.0) for run in runs], 0)}
        index = np.abs(self.hours[:, None] - hours[None, :]).argmin(0)
        off = [float(h) for h, i in zip(hours, index) if not np.isclose(h, self.hours[i], rtol=1e-9, atol=1e-12)]
        if off:
            raise UsageError(f"at_hours {off} are not times of this report's grid ({len(self.hours)} points from "
                             f"{self.hours[0]:g} to {self.hours[-1]:g} h), and it keeps no runs to read them from")
        return {key: self.curves[name][key][index] for key in ("mean", "median", "n_found")}

    def to_json(self) -> dict[str, Any]:
        """Everything as strict JSON data (NaN, e.g. the full-budget share of runs without an evaluation, is None)."""
        return json_safe({"benchmark": self.benchmark, "table_path": self.table_path, "objective": self.objective,
                          "direction": "maximize", "optimum": self.optimum, "initial_regret": self.initial_regret,
                          "pruner": self.pruner, "model": self.model, "trials": self.trials,
                          "n_workers": self.n_workers,
                          "seeds": self.seeds, "hours": self.hours.tolist(), "space": self.space,
                          "strategy_settings": self.strategy_settings, "skipped_defaults": self.skipped_defaults,
                          "summary": self.table(), "stats": self.stats,
                          "curves": {n: {k: v.tolist() for k, v in c.items()} for n, c in self.curves.items()}})

    def save(self, folder: str | Path, overwrite: bool = False) -> dict[str, Path]:
        """Write ``simulated.json`` and ``simulated_regret.png`` into ``folder``; an earlier bench run's outputs
        there are refused unless ``overwrite`` (see :func:`nasforge.analysis.harness.save_outputs`)."""
        import io

        from .harness import save_outputs

        png = io.BytesIO()
        self.plot(png)
        files = {"json": ("simulated.json", json.dumps(self.to_json(), indent=1, allow_nan=False)),
                 "png": ("simulated_regret.png", png.getvalue())}
        return save_outputs(folder, files, overwrite)

    def plot(self, path: str | Path | BinaryIO) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from .harness import regret_yaxis

        fig, ax = plt.subplots(figsize=(6.8, 4.4))
        for name, curve in self.curves.items():
            line, = ax.plot(self.hours, curve["mean"], label=name)
            ax.fill_between(self.hours, curve["q25"], curve["q75"], color=line.get_color(), alpha=0.15)
        regret_yaxis(ax, [c[k] for c in self.curves.values() for k in ("mean", "q25", "q75")])
        ax.set_xlabel(f"simulated wall-clock hours ({self.n_workers} asynchronous workers)")
        ax.set_ylabel(f"regret of the incumbent's {self.objective or 'objective'} (mean, IQR band)")
        pruned = f", pruner {self.pruner['name']}" if self.pruner else ""
        ax.set_title(f"{self.benchmark}: {self.seeds} seeds{pruned}")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=110, format="png")
        plt.close(fig)


def compare_simulated(bench: SimulatedBenchmark, strategies: Sequence[str], seeds: int = 20, n_workers: int = 8,
                      hours: float = 6.0, grid_points: int = 121, name: str = "benchmark",
                      strategy_kwargs: dict[str, dict[str, Any]] | None = None, pruner: Any = None) -> SimReport:
    """Simulate every strategy with seeds ``0..seeds-1`` for ``hours`` of simulated time (with
    ``pruner``, as in :func:`simulate`); regret statistics on a time grid, and the mean number and
    budget of evaluations. ``strategy_kwargs`` maps a strategy name to its settings, over the Optuna peers'
    ``dedup=True`` (:func:`nasforge.analysis.harness.peer_settings`, as ``nasforge bench``); a strategy named twice
    (also under an alias) is a UsageError; both are checked before any run
    (:func:`nasforge.analysis.harness.check_strategies`, and :func:`check_budgets`).

    Before its first full-budget result a run's regret is ``optimum - worst`` (the worst architecture's): every run
    counts at every time, so the mean curve never rises as runs find their first result; ``n_found`` counts the
    runs that have one."""
    from ..experiment.pruners import get_pruner, pruner_spec
    from .harness import check_strategies, refuse_repeats, space_settings, with_peer_settings

    strategies = check_names("strategies", strategies)
    refuse_repeats(strategies)
    seeds, n_workers = check_int("seeds", seeds, 1), check_int("n_workers", n_workers, 1)
    grid_points = check_int("grid_points", grid_points, 2)
    check_real("hours", hours, lambda h: h > 0, "a positive number of hours")
    kwargs = with_peer_settings(strategies, strategy_kwargs)
    settings = check_strategies(bench.space, strategies, kwargs)
    for strategy in strategies:
        check_budgets(get_strategy(strategy, bench.space, seed=0, **kwargs.get(strategy, {})), bench)
    grid = np.linspace(0.0, hours, grid_points)
    initial = bench.optimum() - bench.worst()  # the regret before any full-budget result
    report = SimReport(name, n_workers, grid, seeds, space=space_settings(bench.space), strategy_settings=settings,
                       objective=getattr(bench, "metric", None), optimum=bench.optimum(), initial_regret=initial,
                       pruner=pruner_spec(get_pruner(pruner)),
                       model=_model_settings(bench))
    for strategy in strategies:
        given = kwargs.get(strategy, {})
        traces = [simulate(get_strategy(strategy, bench.space, seed=seed, **given), bench, n_workers,
                           max_seconds=hours * 3600.0, pruner=pruner) for seed in range(seeds)]
        matrix = np.array([t.regret_at(grid * 3600.0, initial) for t in traces])
        report.curves[strategy] = {"mean": matrix.mean(0), "median": np.median(matrix, 0),
                                   "q25": np.quantile(matrix, 0.25, 0), "q75": np.quantile(matrix, 0.75, 0),
                                   "n_found": np.sum([t.found_at(grid * 3600.0) for t in traces], 0)}
        report.runs[strategy] = traces
        report.stats[strategy] = {
            "evaluations": float(np.mean([t.n_evaluations for t in traces])),
            "full_budget_share": float(np.mean([np.mean(t.budgets >= bench.max_budget) if t.n_evaluations else np.nan
                                                for t in traces])),  # NaN: a run without an evaluation
            "pruned": float(np.mean([t.n_pruned for t in traces])),
            "ms_per_run": 1000.0 * float(np.mean([t.seconds for t in traces]))}
    return report


def _model_settings(bench: SimulatedBenchmark) -> dict[str, Any]:
    """The plain constructor settings of ``bench`` (``ModelledCurves``: metric, time column, curve model), and
    the name of its ``cost`` function (None: the same time per epoch for every architecture)."""
    from ..settings import constructor_settings

    settings = constructor_settings(bench, skip=("self", "benchmark"))[0]
    if hasattr(bench, "cost"):
        settings["cost"] = None if bench.cost is None else getattr(bench.cost, "__name__", type(bench.cost).__name__)
    return settings


__all__ = ["ModelledCurves", "SimReport", "SimTrace", "SimulatedBenchmark", "check_budgets", "check_maximized",
           "compare_simulated", "conv_proxy", "simulate"]
