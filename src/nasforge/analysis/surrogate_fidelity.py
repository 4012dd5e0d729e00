"""Fidelity report of a surrogate benchmark against the table it imitates.

(a) ``seed_fidelity``: on a table with several training seeds, is the surrogate closer to the mean
    of the seeds than one tabular run is? Both are scored against the same reference: for each
    seed ``k``, the mean of the *other* seeds.
(b) ``regret_fidelity``: do search trajectories match? The same strategies and seeds run on the
    table and on the surrogate; the regret curves (each against its own optimum) are compared,
    plus the true regret of the incumbents the surrogate runs picked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import check_int, check_names
from ..exceptions import UsageError
from ..benchmarks.surrogate import SurrogateBenchmark
from ..benchmarks.tabular import TabularBenchmark, objective_direction
from ..evaluators.surrogate import SurrogateEvaluator
from ..experiment.study import Study
from ..predictors.metrics import kendall_tau, mae, r2, spearman
from ..spaces import Architecture, space_record
from ..strategies import get_strategy
from ..writes import write_figure
from .harness import check_trials, coverage, holds_of, refuse_multi_fidelity, refuse_repeats, run_trace
from .regret import RunTrace, regret_axis, regret_matrix, summarize


def _scores(reference: np.ndarray, values: np.ndarray) -> dict[str, float]:
    return {"mae": mae(reference, values), "r2": r2(reference, values),
            "kendall_tau": kendall_tau(reference, values), "spearman": spearman(reference, values)}


def seed_fidelity(surrogate: SurrogateBenchmark, table: TabularBenchmark, metric: str,
                  archs: Sequence[Architecture] | None = None) -> dict[str, Any]:
    """Surrogate vs single seed, both against the mean of the remaining seeds (averaged over seeds,
    weighted by how many architectures each seed measured).

    ``archs`` defaults to the surrogate's held-out architectures that the table holds (all of the
    table's architectures if the surrogate kept none aside); ``held_out`` in the result says whether every
    scored architecture was held out (else the scores may include rows the surrogate was trained on).
    """
    per_seed = table.seed_values(metric)
    if archs is None:
        archs = [a for a in surrogate.holdout if a in table] or list(table.archs)
    rows = np.array([table.row(a) for a in archs])
    runs = per_seed[rows]
    predicted = surrogate.predict([table.archs[r] for r in rows], metric)
    surrogate_scores, single_scores, weights = [], [], []
    for k in range(runs.shape[1]):
        others = np.delete(runs, k, axis=1)
        usable = ~np.isnan(runs[:, k]) & np.any(~np.isnan(others), axis=1)
        if usable.sum() < 2:
            continue
        reference = np.nanmean(others[usable], axis=1)
        surrogate_scores.append(_scores(reference, predicted[usable]))
        single_scores.append(_scores(reference, runs[usable, k]))
        weights.append(float(usable.sum()))
    if not single_scores:
        raise UsageError(f"metric {metric!r} needs at least 2 seeds on at least 2 architectures")
    # seeds missing on some rows weigh less (ragged tables)
    surrogate_mean = {k: float(np.average([s[k] for s in surrogate_scores], weights=weights))
                      for k in surrogate_scores[0]}
    single_mean = {k: float(np.average([s[k] for s in single_scores], weights=weights)) for k in single_scores[0]}
    return {"metric": metric, "n_archs": int(len(rows)), "n_seeds": int(runs.shape[1]),
            "surrogate_vs_other_seeds": surrogate_mean, "one_seed_vs_other_seeds": single_mean,
            "surrogate_beats_one_seed": surrogate_mean["mae"] < single_mean["mae"],
            "held_out": set(archs) <= set(surrogate.holdout)}


def _surrogate_trace(surrogate: SurrogateBenchmark, table: TabularBenchmark, strategy: str, seed: int,
                     budget: int, metric: str, noisy: bool, direction: str = "maximize") -> RunTrace:
    """One run on the surrogate: values it saw, and the table's value of each evaluated arch."""
    study = Study(surrogate.space, get_strategy(strategy, surrogate.space, seed=seed), objectives=metric,
                  directions=direction, seed=seed)
    study.optimize(SurrogateEvaluator(surrogate, noisy=noisy, seed=seed), n_trials=budget, catch=False)
    done = study.completed()
    seen = np.array([t.metrics[metric] for t in done])
    true = np.array([table.value(t.arch, metric) for t in done])
    return RunTrace(seen, true, [surrogate.space.canonical_key(t.arch) for t in done])


def regret_fidelity(surrogate: SurrogateBenchmark, table: TabularBenchmark, metric: str,
                    strategies: Sequence[str] = ("evolution", "random"), runs: int = 5, budget: int = 100,
                    noisy: bool = False, direction: str | None = None) -> dict[str, Any]:
    """Mean regret curves (``direction``: maximizing or minimizing ``metric``, e.g. a loss or a time; None: from
    its name, :func:`~nasforge.benchmarks.tabular.objective_direction`) of each strategy on the table and on the
    surrogate.

    Each benchmark's regret is measured against its own optimum (the surrogate's is its best
    prediction over the space, or any better one a run saw: it predicts means, so it sits behind the table's
    luckiest run). The table must hold every distinct architecture of the space, and ``budget`` must not exceed
    their number (as for ``nasforge bench``).
    Per strategy: ``table``, ``surrogate``, ``surrogate_true`` (table regret of the surrogate run's
    incumbent), and summaries: final regrets and the mean absolute gap between the first two.
    """
    if runs < 1 or budget < 1:
        raise UsageError(f"runs and budget must be positive, got runs={runs}, budget={budget}")
    direction = objective_direction(metric, direction)
    maximize = direction == "maximize"
    check_same_space(surrogate, table)
    distinct, total = coverage(table)
    if distinct < total:
        raise UsageError(f"regret curves need the true value of any architecture a search may propose, but "
                         f"{holds_of(table, distinct, total)}")
    check_trials(budget, distinct, table, "budget")
    optimum = table.optimum(metric, direction)
    best = np.max if maximize else np.min
    surrogate_optimum = float(best(surrogate.predict(table.archs, metric)))
    traces = {name: ([run_trace(table, name, seed, budget, metric, direction) for seed in range(runs)],
                     [_surrogate_trace(surrogate, table, name, seed, budget, metric, noisy, direction)
                      for seed in range(runs)])
              for name in strategies}
    if not noisy:  # one architecture predicted alone can come out better than in the batch above
        # (float32 sums, k-NN ties): every value a run saw is the model's prediction too
        seen_best = [(np.nanmax if maximize else np.nanmin)(t.values) for _, runs_seen in traces.values()
                     for t in runs_seen if len(t.values)]
        surrogate_optimum = float(best([surrogate_optimum, *seen_best]))
    report: dict[str, Any] = {"metric": metric, "direction": direction, "optimum": optimum,
                              "surrogate_optimum": surrogate_optimum, "runs": runs, "budget": budget, "noisy": noisy,
                              "strategies": {}}
    for name, (on_table, on_surrogate) in traces.items():
        table_curve = summarize(regret_matrix(on_table, optimum, budget, maximize)[0])["mean"]
        seen, true_of_incumbent = regret_matrix(on_surrogate, surrogate_optimum, budget, maximize,
                                                allow_negative=noisy)
        surrogate_curve = summarize(seen)["mean"]
        true_curve = summarize((optimum - true_of_incumbent) if maximize else (true_of_incumbent - optimum))["mean"]
        report["strategies"][name] = {
            "table": table_curve.tolist(), "surrogate": surrogate_curve.tolist(), "surrogate_true": true_curve.tolist(),
            "final_regret": {"table": float(table_curve[-1]), "surrogate": float(surrogate_curve[-1]),
                             "surrogate_true": float(true_curve[-1])},
            "mean_abs_gap": float(np.nanmean(np.abs(table_curve - surrogate_curve))),
        }
    return report


def check_same_space(surrogate: SurrogateBenchmark, table: TabularBenchmark,
                     hint: str = "load both with the same space") -> None:
    """Refuse (``UsageError``, ending with ``hint``) a table whose space differs from the surrogate's in name or
    options (NB201's ``canonical_rule`` decides which proposals count as repeats): the searches would differ."""
    if surrogate.space.name != table.space.name:
        raise UsageError(f"surrogate {surrogate.name!r} models space {surrogate.space.name!r}, but table "
                         f"{table.name!r} holds space {table.space.name!r}")
    ours, theirs = space_record(surrogate.space) or {}, space_record(table.space) or {}
    differ = [f"{k} {ours.get(k)!r:.40} vs {theirs.get(k)!r:.40}" for k in sorted(set(ours) | set(theirs))
              if ours.get(k) != theirs.get(k)]
    if differ:
        raise UsageError(f"surrogate {surrogate.name!r} and table {table.name!r} read space {table.space.name!r} "
                         f"with other options ({'; '.join(differ)}): {hint}")


def refuse_multi_fidelity_strategies(strategies: Sequence[str], option: str = "strategies") -> None:
    """A UsageError, naming ``option`` (the CLI's "--strategies"), for the multi-fidelity strategies among
    ``strategies``: a surrogate answers with one full-budget value per architecture."""
    refuse_multi_fidelity(strategies, option, "compare them on modelled learning curves "
                          "(nasforge bench --workers-simulated)")


def fidelity_report(surrogate: SurrogateBenchmark, table: TabularBenchmark, metric: str | None = None,
                    strategies: Sequence[str] = ("evolution", "random"), runs: int = 5, budget: int = 100,
                    noisy: bool = False, direction: str | None = None) -> dict[str, Any]:
    """The checks the table allows: (a) where it has per-seed columns for ``metric``, (b) where it
    covers the whole space (``direction`` of ``metric``: "maximize" or "minimize", None: from its name as
    :func:`~nasforge.benchmarks.tabular.objective_direction` says; ``budget`` at most the distinct
    architectures); ``skipped`` says why a check was left out. Multi-fidelity strategies are refused
    before any work (a table holds final values only), and so is a strategy named twice (also under another
    name of it). One strategy name alone is a list of one."""
    strategies = check_names("strategies", strategies)
    runs, budget = check_int("runs", runs, 1), check_int("budget", budget, 1)
    refuse_multi_fidelity_strategies(strategies)
    refuse_repeats(strategies)  # one entry each: a repeat would run twice and replace its own row
    metric = metric or surrogate.metrics[0]
    direction = objective_direction(metric, direction)
    distinct, total = coverage(table)
    if distinct >= total:  # before check (a)'s work
        check_same_space(surrogate, table)
        check_trials(budget, distinct, table, "budget")
    report: dict[str, Any] = {"surrogate": surrogate.name, "table": table.name, "metric": metric, "skipped": {}}
    if metric in table.seed_metrics:
        report["seeds"] = seed_fidelity(surrogate, table, metric)
    else:
        report["skipped"]["seeds"] = f"table {table.name!r} has no per-seed columns for {metric!r}"
    if distinct >= total:
        report["regret"] = regret_fidelity(surrogate, table, metric, strategies, runs, budget, noisy, direction)
    else:
        report["skipped"]["regret"] = f"{holds_of(table, distinct, total)}, so searches cannot be scored on it"
    if "seeds" not in report and "regret" not in report:
        raise UsageError(f"no fidelity check possible: {'; '.join(report['skipped'].values())}")
    return report


def plot_regret_fidelity(report: dict[str, Any], path: str | Path) -> Path:
    """Regret curves on the table (solid) and on the surrogate (dashed), one colour per strategy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = [c[k] for c in report["strategies"].values() for k in ("table", "surrogate", "surrogate_true")]
    lowest = min(min(c) for c in drawn)
    for name, curves in report["strategies"].items():
        x = np.arange(1, len(curves["table"]) + 1)
        line, = ax.plot(x, curves["table"], label=f"{name} on table")
        ax.plot(x, curves["surrogate"], "--", color=line.get_color(), label=f"{name} on surrogate")
        ax.plot(x, curves["surrogate_true"], ":", color=line.get_color(), label=f"{name}: surrogate pick, true")
    ax.set_xscale("log")
    if lowest > 0:
        ax.set_yscale("log")
    else:  # noisy surrogate draws can beat the surrogate's mean optimum; linear up to a decade below the least > 0
        ax.set_yscale("symlog", linthresh=regret_axis(np.concatenate(drawn))[0])
    ax.set_xlabel("evaluations")
    ax.set_ylabel(f"regret of {report['metric']} (mean of {report['runs']} runs)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return write_figure(fig, path, "plot")

