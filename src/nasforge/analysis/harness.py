"""Benchmark harness: strategies x seeds x budget on a tabular benchmark -> regret statistics."""

from __future__ import annotations

import io
import json
import math
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..benchmarks.tabular import TabularBenchmark, objective_direction
from ..checks import check_int, check_names
from ..evaluators.table import TableEvaluator
from ..exceptions import MissingDependencyError, NotEnumerableError, SpaceExhaustedWarning, UsageError
from ..experiment._export import json_safe
from ..experiment.study import Study
from ..experiment.trial import TrialState
from ..settings import constructor_settings, is_plain
from ..spaces import SearchSpace
from ..strategies import STRATEGIES, Strategy, check_single_fidelity, get_strategy
from ..writes import (is_matplotlib_png, json_starting, kept_mode, own_outputs, refuse_earlier_run, starts_with,
                      write_atomic)
from .regret import RunTrace, regret_axis, regret_matrix, summarize

_SHARED: dict[str, Any] = {}  # the benchmark handed to forked worker processes
CHECKPOINTS = (100, 300)
"""Evaluation counts a bench summary reports (those within the budget), besides the budget itself."""


def summary_checkpoints(budget: int) -> list[int]:
    """The evaluation counts a bench summary reports: :data:`CHECKPOINTS` up to ``budget``, then ``budget``."""
    return sorted({n for n in CHECKPOINTS if n <= budget} | {budget})


@dataclass
class StrategyReport:
    """Statistics of one strategy over all seeds."""

    name: str
    per_eval: dict[str, np.ndarray]
    per_unique: dict[str, np.ndarray]
    incumbent_secondary: dict[str, np.ndarray]
    mean_duplicates: float
    seconds: float
    n_runs: int
    stopped: dict[int, int] = field(default_factory=dict)  # seed -> evaluations, of each run that stopped early

    def at(self, n: int, stat: str = "mean", unique: bool = False) -> float:
        """Regret statistic after ``n`` evaluations (or ``n`` unique evaluations), ``n`` from 1 to the budget."""
        curves = self.per_unique if unique else self.per_eval
        return float(curves[stat][check_int("n", n, 1, len(curves[stat])) - 1])


@dataclass
class BenchReport:
    """Everything a comparison measured, ready to print, save and plot."""

    benchmark: str
    objective: str
    direction: str
    secondary: str | None
    optimum: float
    budget: int
    seeds: int
    strategies: dict[str, StrategyReport] = field(default_factory=dict)
    space: dict[str, Any] = field(default_factory=dict)  # name and config (:func:`space_settings`)
    strategy_settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # per strategy (check_strategies)
    skipped_defaults: dict[str, str] = field(default_factory=dict)  # default strategy not run -> why (nasforge bench)
    table_path: str | None = None  # the file the table was read from, where known (nasforge bench)

    def table(self, checkpoints: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """One row per strategy: regret statistics after each of ``checkpoints`` evaluations within the budget
        (default :func:`summary_checkpoints`: 100, 300 and the budget, as ``nasforge bench`` prints them); a
        checkpoint that is no integer >= 1 is a UsageError, one past the budget is left out."""
        if checkpoints is None:
            checkpoints = summary_checkpoints(self.budget)
        checkpoints = [check_int("checkpoints", n, 1) for n in checkpoints]
        rows = []
        for name, rep in self.strategies.items():
            row: dict[str, Any] = {"strategy": name}
            for n in checkpoints:
                if n > self.budget:
                    continue
                row[f"mean@{n}"] = rep.at(n)
                row[f"median@{n}"] = rep.at(n, "median")
                row[f"mean_unique@{n}"] = rep.at(n, unique=True)
                if self.secondary:
                    row[f"{self.secondary}@{n}"] = float(rep.incumbent_secondary["mean"][n - 1])
            row["duplicates"] = rep.mean_duplicates
            row["ms_per_run"] = 1000.0 * rep.seconds / rep.n_runs
            rows.append(row)
        return rows

    def to_json(self) -> dict[str, Any]:
        """Everything as strict JSON data: NaN (no value, e.g. a cut per-unique curve) is None."""
        def lists(curves: dict[str, np.ndarray]) -> dict[str, list]:
            return {k: v.tolist() for k, v in curves.items()}

        return json_safe({
            "benchmark": self.benchmark, "table_path": self.table_path, "objective": self.objective,
            "direction": self.direction,
            "secondary": self.secondary, "optimum": self.optimum, "budget": self.budget, "seeds": self.seeds,
            "space": self.space, "strategy_settings": self.strategy_settings, "skipped_defaults": self.skipped_defaults,
            "summary": self.table(),
            "stopped_early": {name: {str(seed): n for seed, n in r.stopped.items()}
                              for name, r in self.strategies.items() if r.stopped},
            "curves": {name: {"per_eval": lists(r.per_eval), "per_unique": lists(r.per_unique),
                              **({"incumbent_secondary": lists(r.incumbent_secondary)} if self.secondary else {})}
                       for name, r in self.strategies.items()},
        })

    def save(self, folder: str | Path, overwrite: bool = False) -> dict[str, Path]:
        """Write ``bench.json``, ``bench_curves.csv`` (floats at 12 significant digits, as every CSV output) and
        ``bench_regret.png`` into ``folder``; an earlier bench run's outputs there are refused unless ``overwrite``
        (see :func:`save_outputs`)."""
        import pandas as pd

        frames = []
        for name, rep in self.strategies.items():
            frame = pd.DataFrame({"strategy": name, "evaluations": np.arange(1, self.budget + 1)})
            for stat, curve in rep.per_eval.items():
                frame[f"regret_{stat}"] = curve
            for stat, curve in rep.per_unique.items():
                frame[f"regret_unique_{stat}"] = curve
            for stat, curve in rep.incumbent_secondary.items() if self.secondary else ():
                frame[f"incumbent_{self.secondary}_{stat}"] = curve
            frames.append(frame)
        png = io.BytesIO()
        self.plot(png)
        files = {"json": ("bench.json", json.dumps(self.to_json(), indent=1, allow_nan=False)),
                 "csv": ("bench_curves.csv", pd.concat(frames).to_csv(index=False, float_format="%.12g")),
                 "png": ("bench_regret.png", png.getvalue())}
        return save_outputs(folder, files, overwrite)

    def plot(self, path: str | Path | BinaryIO) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
        x = np.arange(1, self.budget + 1)
        for ax, unique in zip(axes, (False, True)):
            for name, rep in self.strategies.items():
                curves = rep.per_unique if unique else rep.per_eval
                lone = lone_points(curves["mean"])  # a run stopped after 1 evaluation: a line through 1 point is none
                line, = ax.plot(x, curves["mean"], label=name, **({"marker": "o", "markevery": lone} if lone else {}))
                ax.fill_between(x, curves["q25"], curves["q75"], color=line.get_color(), alpha=0.15)
            ax.set_xscale("log")
            regret_yaxis(ax, [c[k] for r in self.strategies.values() for c in (r.per_eval, r.per_unique)
                              for k in ("mean", "q25", "q75")])
            ax.set_xlabel("unique evaluations" if unique else "evaluations")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel(f"regret of {self.objective} (mean, IQR band)")
        axes[0].legend()
        fig.suptitle(f"{self.benchmark}: {counted(len(self.strategies), 'strategy')} x {counted(self.seeds, 'seed')}")
        fig.tight_layout()
        fig.savefig(path, dpi=110, format="png")
        plt.close(fig)


def lone_points(values: Any) -> list[int]:
    """The indices of the finite ``values`` whose neighbours are both missing (NaN): a line draws nothing there, so
    plots mark them (e.g. a strategy whose shortest run stopped after one evaluation, or ``--trials 1``)."""
    finite = np.isfinite(np.asarray(values, dtype=float))
    alone = finite & ~np.r_[False, finite[:-1]] & ~np.r_[finite[1:], False]
    return np.flatnonzero(alone).tolist()


def counted(n: Any, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1: "1 seed", "3 strategies" (a count not an int, such as "?",
    as it is, plural)."""
    if n == 1:
        return f"1 {noun}"
    return f"{n} {noun[:-1]}ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else f"{n} {noun}s"


def regret_yaxis(ax: Any, curves: Sequence[Any]) -> None:
    """A symlog regret y axis, linear up to a decade below the smallest positive regret of ``curves`` (so that
    regret 0 is drawn and every positive regret lies on the log part, as the reports draw them:
    :func:`~nasforge.analysis.regret.regret_axis`); when the positive regrets span under two decades, ticks at 1, 2
    and 5 of each decade are labelled, not the decades only."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    values = np.concatenate([np.asarray(c, dtype=float).ravel() for c in curves]) if len(curves) else np.zeros(0)
    ax.set_yscale("symlog", linthresh=regret_axis(values)[0])
    positive = values[np.isfinite(values) & (values > 0)]
    if not positive.size or positive.max() / positive.min() >= 100:
        return
    low, high = math.floor(math.log10(positive.min())), math.ceil(math.log10(positive.max()))
    ticks = [0.0] + [m * 10.0 ** k for k in range(low, high + 1) for m in (1, 2, 5)]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    ax.yaxis.set_minor_locator(NullLocator())


OUTPUTS: dict[str, Callable[[Path], bool]] = {
    "bench.json": json_starting(rb'"benchmark":'), "bench_curves.csv": starts_with(b"strategy,evaluations,"),
    "bench_regret.png": is_matplotlib_png, "simulated.json": json_starting(rb'"benchmark":'),
    "simulated_regret.png": is_matplotlib_png}
"""The files a bench run writes (plain or ``--workers-simulated``), each with how an earlier one is recognised;
with the bench report nasforge wrote from them, they are the outputs of an earlier run that a new one refuses to
replace unless told to. A file of these names that is not recognised (or a symbolic link) is never replaced."""


def earlier_outputs(folder: str | Path, name: str = "folder") -> list[Path]:
    """The outputs of an earlier bench run in ``folder``, and its report (a ``report.html`` that is a bench report
    nasforge wrote; another report there, e.g. of a study, is no part of the run); a UsageError naming ``name``
    when a file of their names is not one (:func:`~nasforge.writes.own_outputs`)."""
    from .studyreport import is_bench_report

    folder = Path(folder)
    found = own_outputs(folder, OUTPUTS, name, "nasforge bench")
    report = folder / "report.html"
    if report.is_file() and is_bench_report(report):
        found.append(report)
    return found


def check_bench_folder(folder: str | Path, overwrite: bool, name: str = "folder") -> list[Path]:
    """The :func:`earlier_outputs` in ``folder``; a UsageError naming ``name`` when there are some and not
    ``overwrite``."""
    found = earlier_outputs(folder, name)
    refuse_earlier_run(folder, [p.name for p in found], overwrite, name, "bench run")
    return found


MARKS = tuple(name for name in OUTPUTS if name.endswith(".json"))
"""The :data:`OUTPUTS` whose presence says a bench run finished writing (readers such as ``nasforge report`` trust
them): :func:`save_outputs` writes them last and removes an earlier run's first."""


def save_outputs(folder: str | Path, files: dict[str, tuple[str, str | bytes]], overwrite: bool) -> dict[str, Path]:
    """Write ``files`` (key -> (file name, content)) into ``folder``, each atomically; refused when an earlier
    run's outputs are there and not ``overwrite``. With it, the earlier run's :data:`MARKS` go first, then what
    this run does not replace (its now stale report); this run's marks are written last. So a run killed on the
    way leaves a folder plainly incomplete (no mark), never one run's mark beside another's curves; a mark written
    anew keeps the permissions of the one it replaces. Returns key -> path."""
    earlier = check_bench_folder(folder, overwrite)
    written = {Path(folder) / name for name, _ in files.values()}
    modes = {path.name: kept_mode(path) for path in earlier if path.name in MARKS}
    for path in sorted(earlier, key=lambda p: p.name not in MARKS):
        if path.name in MARKS or path not in written:
            path.unlink(missing_ok=True)
    last = sorted(files, key=lambda key: files[key][0] in MARKS)
    paths = {key: write_atomic(Path(folder) / files[key][0], files[key][1], "folder", follow=False,
                               mode=modes.get(files[key][0])) for key in last}
    return {key: paths[key] for key in files}


def run_trace(benchmark: TabularBenchmark, strategy: str, seed: int, budget: int, objective: str,
              direction: str = "maximize", secondary: str | None = None, **strategy_kwargs: Any) -> RunTrace:
    """One seeded search run through the ordinary Study loop on a table. A FAILED trial is a UsageError naming
    how many failed and why: a regret "after ``budget`` evaluations" must not rest on fewer. A run whose strategy
    found no new architecture to propose stops early: its trace is shorter than ``budget``, and one
    :class:`~nasforge.exceptions.SpaceExhaustedWarning` naming the strategy and seed says so (:func:`compare`
    gives one per strategy instead, naming its seeds)."""
    start = time.perf_counter()
    study = Study(benchmark.space, get_strategy(strategy, benchmark.space, seed=seed, **strategy_kwargs),
                  objectives=objective, directions=direction, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpaceExhaustedWarning)  # it names a study the caller never made: see below
        study.optimize(TableEvaluator(benchmark), n_trials=budget)
    failed = [t for t in study.trials if t.state == TrialState.FAILED]
    if failed:
        raise UsageError(f"strategy {strategy!r}, seed {seed}: {len(failed)} of {len(study.trials)} trials FAILED "
                         f"on {benchmark.name} (first: {failed[0].error}); no regret is reported from fewer "
                         "evaluations than the budget")
    done = study.completed()
    if study.exhausted:
        warnings.warn(f"strategy {strategy!r}, seed {seed}: the run stopped after {len(done):,} of {budget:,} "
                      f"evaluations on {benchmark.name}: it found no new architecture to propose, so the trace is "
                      "shorter than the budget", SpaceExhaustedWarning, stacklevel=2)
    values = np.array([t.metrics[objective] for t in done])
    second = np.array([t.metrics[secondary] for t in done]) if secondary else np.full(len(done), np.nan)
    keys = [benchmark.space.canonical_key(t.arch) for t in done]
    return RunTrace(values, second, keys, time.perf_counter() - start)


def peer_settings(strategies: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The settings that charge the Optuna peers among ``strategies`` as nasforge's strategies are charged: a
    repeated architecture is told its known score, not evaluated again (``dedup=True``; plain Optuna spent 38 % of
    300 evaluations on repeats, docs/strategies.md), so a comparison compares search, not bookkeeping. The rule of
    ``nasforge bench`` and ``benchmarks/strategies_learning.py``."""
    return {name: {"dedup": True} for name in strategies if name.startswith("optuna_")}


def with_peer_settings(strategies: Sequence[str], strategy_kwargs: Any) -> dict[str, dict[str, Any]]:
    """``strategy_kwargs`` checked (:func:`check_strategy_kwargs`) over :func:`peer_settings`: a strategy's own
    settings win, so ``{"optuna_tpe": {"dedup": False}}`` runs plain Optuna."""
    given = check_strategy_kwargs(strategies, strategy_kwargs)
    peers = peer_settings(strategies)
    return {name: {**peers.get(name, {}), **given.get(name, {})} for name in strategies
            if name in peers or name in given}


def refuse_repeats(strategies: Sequence[str], option: str = "strategies") -> None:
    """A UsageError naming a strategy given twice, also under another name of it (evolution and its alias re):
    its runs would be made twice and one row would replace the other."""
    first: dict = {}
    for name in strategies:
        factory = STRATEGIES.get(name)
        if factory in first:
            same = name if first[factory] == name else f"{first[factory]} and {name} (the same strategy)"
            raise UsageError(f"{option}: {same} given more than once; name each strategy once")
        first[factory] = name


MAX_WORKERS = 2**22
"""The most processes a system can run at once (Linux's PID_MAX_LIMIT): a larger ``workers`` is no process count."""


def check_strategy_kwargs(strategies: Sequence[str], strategy_kwargs: Any) -> dict[str, dict[str, Any]]:
    """``strategy_kwargs`` (strategy name -> its settings) checked: a dict whose keys are among ``strategies`` and
    whose values are dicts; a UsageError names the first key that is not (settings keyed by a misspelt name would
    be silently ignored)."""
    if strategy_kwargs is None:
        return {}
    if not isinstance(strategy_kwargs, Mapping):
        raise UsageError(f"strategy_kwargs must be a dict of strategy name -> settings dict, got "
                         f"{type(strategy_kwargs).__name__}")
    for name, settings in strategy_kwargs.items():
        if name not in strategies:
            raise UsageError(f"strategy_kwargs: {name!r} is not one of the strategies run ({', '.join(strategies)})")
        if not isinstance(settings, Mapping):
            raise UsageError(f"strategy_kwargs[{name!r}] must be a dict of settings, got {type(settings).__name__} "
                             f"{settings!r:.60}")
    return {name: dict(settings) for name, settings in strategy_kwargs.items()}


def check_strategies(space: SearchSpace, strategies: Sequence[str], strategy_kwargs: Any = None,
                     option: str = "strategies") -> dict[str, dict[str, Any]]:
    """Check every strategy before any run, so that none fails after others ran: ``strategy_kwargs``
    (:func:`check_strategy_kwargs`), then each strategy must handle a single objective (checked on its class
    first, so that a strategy refused anyway is not sent to install a package) and is built once on ``space``
    with its settings (an unknown name or a refused setting is the registry's UsageError, a package it or its
    surrogate needs that is not installed a MissingDependencyError naming the strategy and the extra). Returns each
    strategy's settings as the results record them: the plain-data ones it was given, under its constructor
    settings read back (:func:`~nasforge.settings.constructor_settings`) and those a resumed state of it must
    share (``Strategy._settings``: a model-based strategy's surrogate spec, acquisition and optimizer, whose
    objects the constructor settings leave out), and, for a strategy running another library whose version changes
    the algorithm, that library's version and resolved settings (:meth:`Strategy.library_settings`: ``"optuna"``
    for the Optuna peers)."""
    kwargs = check_strategy_kwargs(strategies, strategy_kwargs)
    settings = {}
    for name in strategies:
        given = kwargs.get(name, {})
        counts = getattr(STRATEGIES.get(name), "objective_counts", None)  # a class's: before what building needs
        if isinstance(counts, tuple):
            _refuse_objective_counts(name, counts, option)
        try:
            strategy = get_strategy(name, space, seed=0, **given)
        except MissingDependencyError as exc:
            named = str(exc).startswith(f"strategy {name!r}")
            raise MissingDependencyError(f"{option}: {'' if named else f'strategy {name!r}: '}{exc}") from exc
        _refuse_objective_counts(name, strategy.objective_counts, option)
        settings[name] = {**{k: v for k, v in given.items() if is_plain(v)}, **strategy_settings(strategy),
                          **strategy.library_settings()}
    return settings


def strategy_settings(strategy: Strategy) -> dict[str, Any]:
    """The settings of a built ``strategy`` as a benchmark run records them: its constructor settings read back
    (:func:`~nasforge.settings.constructor_settings`) under those a resumed state of it must share
    (``Strategy._settings``)."""
    return {**constructor_settings(strategy)[0], **strategy._settings(vars(strategy))}


def _refuse_objective_counts(name: str, counts: tuple[int, int | None], option: str) -> None:
    """A UsageError naming ``option`` when strategy ``name``, handling ``counts`` (least, most) objectives, cannot
    optimize the one of a benchmark run."""
    low, high = counts
    if low > 1 or (high is not None and high < 1):
        wanted = f"{low}" if low == high else f"{low} or more" if high is None else f"{low} to {high}"
        raise UsageError(f"{option}: strategy {name!r} handles {wanted} objectives; a benchmark run optimizes one")


def space_settings(space: SearchSpace) -> dict[str, Any]:
    """The space's name and its constructor settings (e.g. the canonical rule that decides what a duplicate is)."""
    return {"name": space.name, "config": constructor_settings(space)[0]}


def refuse_multi_fidelity(strategies: Sequence[str], option: str, instead: str) -> None:
    """A UsageError naming the strategies tagged ``multi_fidelity`` in the registry (hyperband, asha, bohb):
    a table holds one value per architecture, so every budget they ask for would get the full-budget value
    (their low rungs cost nothing and their curves would be random search's). ``instead`` says what to use."""
    check_single_fidelity(strategies, option, "which a table of final values cannot honour (every budget would get "
                                              "the full-budget value)", instead)


def coverage(benchmark: TabularBenchmark) -> tuple[int, int]:
    """How many distinct architectures (canonical forms) the table holds, and how many its space has: for a space
    that cannot count them (one of your own without ``enumerate()``), its ``size``, which a table holding every
    genotype reaches."""
    space = benchmark.space
    try:
        total = space.count_unique()
    except NotEnumerableError:
        total = space.size
    return len({space.canonical_key(a) for a in benchmark.archs}), total


def holds_of(benchmark: TabularBenchmark, distinct: int, total: int) -> str:
    """"<table> holds 187 of the 423,624 distinct architectures of space 'nb101'": one wording for every command."""
    return (f"{benchmark.name} holds {distinct:,} of the {total:,} distinct architectures of space "
            f"{benchmark.space.name!r}")


def default_secondaries(objective: str) -> list[str]:
    """The metrics a secondary defaults to (``compare(secondary="auto")``, ``nasforge bench``), first held first:
    the test column of the objective's data set (an objective ``<data set>-val`` reports ``<data set>-test``),
    else ``test_acc``; none for a test column objective (``test_acc``, ``<data set>-test``), which would report
    itself."""
    if objective == "test_acc" or objective.endswith("-test"):
        return []
    return ([objective.removesuffix("-val") + "-test"] if objective.endswith("-val") else []) + ["test_acc"]


def check_coverage(benchmark: TabularBenchmark, user: str = "compare", narrower: str = "a space") -> int:
    """Strategies propose any architecture of the space: a UsageError unless the table holds every distinct one,
    rather than runs whose proposals the table cannot answer; ``user`` and ``narrower`` (what to give instead)
    word it (``nasforge bench``: "bench", "a --space-config"). Only a chain space that takes its choices (not the
    ``proxylessnas`` preset) can be narrowed to the choices a table covers; for another one the error says a
    partial table can only be modelled (a surrogate). Returns the number of distinct architectures."""
    distinct, total = coverage(benchmark)
    if distinct < total:
        rule = None if _takes_choices(benchmark.space) else _complete_rule(benchmark)
        if _takes_choices(benchmark.space):
            instead = f"so give a complete table or {narrower} with only the choices it covers"
        elif rule is not None:
            instead = (f"so give a complete table or {narrower} with {{\"canonical_rule\": \"{rule}\"}}: under that "
                       "rule it holds every distinct architecture")
        else:
            instead = (f"so give a complete table ({user} cannot run on a partial table of this space; a surrogate "
                       "fitted on it (nasforge surrogate fit) can be searched in Python: "
                       "Study(...).optimize(SurrogateEvaluator(SurrogateBenchmark.load(FOLDER)), n_trials=N))")
        raise UsageError(f"{holds_of(benchmark, distinct, total)}; {user} needs every one (strategies may propose "
                         f"any), {instead}")
    return distinct


def _complete_rule(benchmark: TabularBenchmark) -> str | None:
    """For a NAS-Bench-201 table, another ``canonical_rule`` under which it holds every distinct architecture (a
    table of one row per class of that rule), else None."""
    from ..spaces import NASBench201Space
    from ..spaces.nb201 import CANONICAL_RULES

    space = benchmark.space
    if not isinstance(space, NASBench201Space):
        return None
    for rule in sorted(set(CANONICAL_RULES) - {space.canonical_rule}):
        other = NASBench201Space(rule)
        if len({other.canonical_key(a) for a in benchmark.archs}) == other.count_unique():
            return rule
    return None


def _takes_choices(space: Any) -> bool:
    """Whether ``space`` can be narrowed to the choices a table covers: a chain space whose registered factory
    (if its name has one) takes ``layers`` (``chain`` does; the ``proxylessnas`` preset takes no options)."""
    from ..settings import keyword_names
    from ..spaces import SPACES, ChainSpace

    if not isinstance(space, ChainSpace):
        return False
    if space.name not in SPACES:
        return True
    names = keyword_names(SPACES.get(space.name))  # None: it takes any keyword
    return names is None or "layers" in names


def check_trials(trials: int, distinct: int, benchmark: TabularBenchmark, option: str = "--trials") -> None:
    """A UsageError when ``trials`` evaluations per run exceed the ``distinct`` architectures of the table: a run
    stops at the last new one, so "after ``trials`` evaluations" would never happen."""
    if trials > distinct:
        raise UsageError(f"{option} {trials} exceeds the {distinct:,} distinct architectures of {benchmark.name}")


def _run_shared(args: tuple) -> RunTrace:
    """One run of :func:`compare`, without the run's own warning: compare warns once per strategy, naming the
    seeds of its runs that stopped early."""
    strategy, seed, budget, objective, direction, secondary, kwargs = args
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpaceExhaustedWarning)
        return run_trace(_SHARED["benchmark"], strategy, seed, budget, objective, direction, secondary, **kwargs)


def compare(benchmark: TabularBenchmark, strategies: Sequence[str], seeds: int = 100, budget: int = 300,
            objective: str = "val_acc", direction: str | None = None, secondary: str | None = "auto",
            strategy_kwargs: dict[str, dict[str, Any]] | None = None, workers: int | None = None) -> BenchReport:
    """Run every strategy with seeds ``0..seeds-1`` for ``budget`` evaluations and summarize regret.

    ``strategies`` is a list of names (one name alone is one strategy); the table must hold every architecture of
    its space (:func:`check_coverage`). Regret is the table optimum of ``objective`` minus the best found so far
    (for maximization), reported per evaluation and per unique (canonical) evaluation. A run that made fewer unique
    evaluations keeps its last regret in the statistics (:func:`~nasforge.analysis.regret.summarize`: no survivor
    bias, the curves never rise), ``n_runs`` counts the runs that reached each count, and the per-unique curve stops
    where fewer than half of them did (beyond, it would mostly repeat final values). A run that stopped early (its
    strategy found no new architecture to propose) is named in a :class:`~nasforge.exceptions.SpaceExhaustedWarning`
    and in ``StrategyReport.stopped``, and no statistic is given (NaN) after more evaluations than the shortest run
    made: none rests on fewer runs than ``seeds``. ``strategy_kwargs`` maps a strategy
    name to its settings, over the Optuna peers' ``dedup=True`` (:func:`peer_settings`, as ``nasforge bench``;
    ``{"optuna_tpe": {"dedup": False}}`` runs plain Optuna); a strategy named twice (also under an alias) is a
    UsageError (:func:`refuse_repeats`); both are checked before any run (:func:`check_strategies`), and multi-fidelity
    strategies are refused (:func:`refuse_multi_fidelity`). ``direction``: max/min or maximize/minimize; None
    (the default): from the objective's name (:func:`~nasforge.benchmarks.tabular.objective_direction`: minimize a
    name with a part "loss" or "error", else maximize).
    ``secondary``: the metric reported for each run's incumbent; "auto" (the default, as ``nasforge bench``): the
    first of :func:`default_secondaries` the table has (``cifar100-test`` for ``cifar100-val``), else none.
    ``workers``: the processes the runs share (None or 0, the default: one per core), never more than there are runs;
    at most :data:`MAX_WORKERS`.
    """
    strategies = check_names("strategies", strategies)
    refuse_repeats(strategies)
    seeds, budget = check_int("seeds", seeds, 1), check_int("budget", budget, 1)
    direction = objective_direction(objective, direction)
    if secondary == "auto":  # as nasforge bench
        secondary = next((m for m in default_secondaries(objective) if m in benchmark.metrics), None)
    if workers is not None:
        workers = check_int("workers", workers, 0, MAX_WORKERS)  # 0: every core, as None
    benchmark.values(objective)
    if secondary is not None:
        benchmark.values(secondary)
    check_coverage(benchmark)
    kwargs = with_peer_settings(strategies, strategy_kwargs)
    settings = check_strategies(benchmark.space, strategies, kwargs)
    refuse_multi_fidelity(strategies, "strategies", "compare them in simulated time with "
                                                    "nasforge.analysis.simulate.compare_simulated")
    optimum = benchmark.optimum(objective, direction)
    report = BenchReport(benchmark.name, objective, direction, secondary, optimum, budget, seeds,
                         space=space_settings(benchmark.space), strategy_settings=settings)
    workers = workers or os.cpu_count() or 1
    tasks = [(s, seed, budget, objective, direction, secondary, kwargs.get(s, {})) for s in strategies
             for seed in range(seeds)]
    traces = _map(tasks, benchmark, workers)
    for i, name in enumerate(strategies):
        runs = traces[i * seeds:(i + 1) * seeds]
        maximize = direction == "maximize"
        regret, inc_second = regret_matrix(runs, optimum, budget, maximize)
        regret_unique, _ = regret_matrix(runs, optimum, budget, maximize, unique_only=True)
        per_eval, per_unique, incumbent = summarize(regret), summarize(regret_unique), summarize(inc_second)
        too_few = per_unique["n_runs"] < (seeds + 1) // 2  # beyond, mostly the final values of repeating runs
        reached = min(len(r.values) for r in runs)  # the budget unless a run stopped early: none is cut beyond
        for curves in (per_eval, per_unique, incumbent):
            for stat in ("mean", "median", "q25", "q75"):
                curves[stat][reached:] = np.nan
        for stat in ("mean", "median", "q25", "q75"):
            per_unique[stat][too_few] = np.nan
        stopped = {seed: len(r.values) for seed, r in enumerate(runs) if len(r.values) < budget}
        if stopped:
            warnings.warn(stopped_early(name, stopped, seeds, budget), SpaceExhaustedWarning, stacklevel=2)
        report.strategies[name] = StrategyReport(
            name, per_eval, per_unique, incumbent, float(np.mean([r.n_duplicates for r in runs])),
            float(sum(r.seconds for r in runs)), len(runs), stopped)
    return report


def stopped_early(name: str, stopped: dict[int, int], seeds: int, budget: int) -> str:
    """Why strategy ``name`` has no regret beyond the fewest evaluations a run made: the runs of ``stopped`` (seed ->
    evaluations) ended before the ``budget`` because it found no new architecture to propose."""
    shown = ", ".join(f"seed {seed} after {n:,}" for seed, n in list(stopped.items())[:5])
    more = f" and {len(stopped) - 5} more" if len(stopped) > 5 else ""
    return (f"strategy {name!r}: {len(stopped)} of {counted(seeds, 'run')} stopped before {budget:,} evaluations "
            f"({shown}{more}): it found no new architecture to propose; no regret is reported after more evaluations "
            f"than the shortest run made ({min(stopped.values()):,})")


WARM_UP_BUDGET = 25
"""Evaluations of the short untimed run of each strategy :func:`_map` makes first, in the process the workers fork
from: its one-time imports and caches are then paid by no timed run, so ``ms_per_run`` does not depend on the
order the strategies are given in."""


def _map(tasks: list[tuple], benchmark: TabularBenchmark, workers: int) -> list[RunTrace]:
    """``_run_shared`` of each task, in ``workers`` forked processes, never more than there are tasks (a pool forks
    all its processes at once)."""
    workers = min(workers, len(tasks))
    _SHARED["benchmark"] = benchmark
    for strategy, seed, budget, *rest in {task[0]: task for task in tasks}.values():  # untimed, before the forks
        _run_shared((strategy, seed, min(budget, WARM_UP_BUDGET), *rest))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [_run_shared(t) for t in tasks]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_run_shared, tasks, chunksize=max(1, len(tasks) // (8 * workers))))
