"""Strategies that learn, on the NAS-Bench-201 table: regret at 50/100/300 evaluations and the share of
seeds reaching the table optimum, next to local search, regularized evolution, random and Optuna's TPE;
and the CPU time of one ``ask`` at 100 and 1,000 (or any) random table results (or in a search of its own).

Every run goes through the same harness as ``nasforge bench`` (``nasforge.analysis.harness.run_trace``:
a seeded Study on a TableEvaluator). Results are merged into ``strategies_learning_<dataset>.json`` one
strategy at a time, so a long run can be split or interrupted; the plot shows every strategy stored. One file
holds one NB201 rule: a run whose ``--canonical-rule`` differs from its stored rows' (a row recording none is of the
old ``functional`` rule) stops before any work. The ``network``-rule tables are in ``benchmarks/results/network``
(``--out benchmarks/results/network``); ``benchmarks/results`` holds the old-rule ones (``--canonical-rule
functional``).

    .venv/bin/python benchmarks/strategies_learning.py --dataset cifar10 --strategies tpe,gp_bo:30 --seeds 100 \
        --out benchmarks/results/network
    .venv/bin/python benchmarks/strategies_learning.py --ask-times --strategies gp_bo,bananas
    .venv/bin/python benchmarks/strategies_learning.py --ask-times 2000,4000 --strategies gp_bo,parego
    .venv/bin/python benchmarks/strategies_learning.py --search-ask-times 1000,3000 --strategies tpe
    .venv/bin/python benchmarks/strategies_learning.py --dataset cifar10 --plot-only --compare optuna_tpe \
        --out benchmarks/results/network
    .venv/bin/python benchmarks/strategies_learning.py --loo --strategies gp_bo,bananas,smac
    .venv/bin/python benchmarks/strategies_learning.py --loo --strategies bananas --loo-seeds 0,1,2 \
        --loo-surrogate '{"std_scale": "oob"}' --suffix +oob

``name:N`` runs that strategy with N seeds instead of ``--seeds``. Every row keeps its per-seed traces, so
``--seed-start 50 --strategies bananas:50`` adds seeds 50-99 to a stored run of seeds 0-49 (of the same
``--trials``, ``--strategy-kwargs`` and ``--canonical-rule``; otherwise the merge is refused and nothing replaced).
``--plot-only`` prints the docs' table, each mean with its standard error over the seeds, and with ``--compare ROW``
ROW against every other row (difference of means with its standard error, "level" within two; Mann-Whitney test).
``--strategy-kwargs JSON --suffix +NAME`` runs a variant, stored as ``<strategy>+NAME``. The Optuna peers run with
``dedup=True`` (``nasforge.analysis.harness.peer_settings``, as in ``nasforge bench``) unless ``--strategy-kwargs``
says otherwise, so every row is charged by the same rule:
300 distinct architectures (``--strategies optuna_tpe --strategy-kwargs '{"dedup": false}' --suffix +plain`` is
plain Optuna, whose repeats are evaluated again and count against the budget). An Optuna row also records, under
``"optuna"``, Optuna's version and the sampler's resolved settings (``optuna_tpe`` is another algorithm under Optuna
3.5-4.x than under 5), and new seeds of another Optuna are not merged into it. With ``--loo``,
``--loo-surrogate JSON --suffix +NAME`` also refits the surrogate with those settings on the same history
(row ``<strategy>+NAME``), so the two rows compare calibrations on identical data.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from _results import RESULTS, read_json, write_json
from nasforge.analysis.harness import peer_settings, with_peer_settings

CHECKPOINTS = (50, 100, 300)
_TABLE: dict = {}


def strategy_kwargs_for(name: str, strategy_kwargs: dict) -> dict:
    """The keyword arguments ``name`` runs with: its peer settings, then ``strategy_kwargs`` (which win), by
    :func:`~nasforge.analysis.harness.with_peer_settings`, the rule of ``nasforge bench`` and ``compare``."""
    return with_peer_settings([name], {name: strategy_kwargs}).get(name, {})


def _trace(args: tuple) -> tuple[list[float], float]:
    from nasforge.analysis.harness import run_trace

    name, seed, trials, kwargs = args
    trace = run_trace(_TABLE["table"], name, seed, trials, "val_acc", **kwargs)
    return trace.values.tolist(), trace.seconds


def run_strategy(table, name: str, seeds: range, trials: int, workers: int, stored: dict | None = None,
                 strategy_kwargs: dict | None = None) -> dict:
    """Regret statistics of one strategy (run with ``strategy_kwargs``) over ``seeds``, merged with the per-seed
    traces of ``stored`` (a row of an earlier run of other seeds), so a long run can be split into seed ranges."""
    _TABLE["table"] = table
    tasks = [(name, seed, trials, strategy_kwargs or {}) for seed in seeds]
    start = time.perf_counter()
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(_trace, tasks))
    else:
        results = [_trace(t) for t in tasks]
    wall = time.perf_counter() - start
    per_seed = dict((stored or {}).get("per_seed", {}))  # merge_refusal checked that the runs match
    per_seed.update({str(seed): {"values": v, "seconds": s} for seed, (v, s) in zip(seeds, results)})
    row = summarize_traces(table, per_seed, trials)
    row["wall_seconds"] = wall + ((stored or {}).get("wall_seconds", 0.0) if len(per_seed) > len(results) else 0.0)
    return row


def library_settings(table, name: str, strategy_kwargs: dict) -> dict:
    """What a row of strategy ``name`` (run with ``strategy_kwargs``) records of the library behind it: Optuna's
    version and the sampler's resolved settings for the Optuna peers (``optuna_tpe`` is univariate TPE without
    constant liar under Optuna 3.5-4.x, multivariate with constant liar under 5), nothing for ours
    (:meth:`~nasforge.strategies.base.Strategy.library_settings`)."""
    from nasforge.strategies import get_strategy

    return get_strategy(name, table.space, seed=0, **strategy_kwargs).library_settings()


def merge_refusal(row: str, stored: dict | None, trials: int, strategy_kwargs: dict, canonical_rule: str,
                  library: dict | None = None) -> str | None:
    """Why new seeds cannot be merged into the stored row ``stored`` (runs of other settings, or of another version
    of the library behind the strategy, ``library`` as :func:`library_settings` gives it), or None."""
    if stored is None:
        return None
    if stored.get("trials") != trials:
        return (f"{row}: the stored row ran {stored.get('trials')} trials, not --trials {trials}; merging would "
                "drop its seeds (use the same --trials, or --seed-start 0 to replace it)")
    peer = row in peer_settings([row.partition("+")[0]])  # a bare Optuna row, not a variant
    if "strategy_kwargs" not in stored and peer:  # an Optuna row of before 2026-12-06: plain Optuna
        stored = {**stored, "strategy_kwargs": {}}
    settings = (("strategy_kwargs", strategy_kwargs), ("canonical_rule", canonical_rule), *(library or {}).items())
    for key, mine in settings:
        if key in stored and stored[key] != mine:  # older rows lack strategy_kwargs (2026-12-06) or "optuna"
            return (f"{row}: the stored row ran with {key.replace('_', '-')} {stored[key]!r}, not {mine!r}; "
                    "use the same settings, another --suffix, or --seed-start 0 to replace it")
    return None


OLD_RULE = "functional"
"""The NB201 rule of a stored row that records none: rows measured before ``--canonical-rule`` (2026-12-05)."""


def rule_refusal(path: Path, stored: dict, canonical_rule: str) -> str | None:
    """Why rows of ``canonical_rule`` cannot join the table stored at ``path`` (its rows were measured with another
    NB201 rule, so the file would mix two rules in one table), or None."""
    for row, values in stored.items():
        rule = values.get("canonical_rule", OLD_RULE)
        if rule != canonical_rule:
            return (f"{path} holds rows of the {rule!r} rule (e.g. {row!r}), not --canonical-rule {canonical_rule!r}; "
                    "nothing replaced (choose another --out, e.g. benchmarks/results/network for the 'network' rule)")
    return None


def regrets(optimum: float, per_seed: dict, trials: int) -> np.ndarray:
    """Seeds x evaluations regret of a row's stored per-seed traces against the table's ``optimum``."""
    from nasforge.analysis.regret import RunTrace, regret_matrix

    traces = [RunTrace(np.array(r["values"]), np.full(len(r["values"]), np.nan), list(range(len(r["values"]))),
                       r["seconds"]) for r in per_seed.values()]
    return regret_matrix(traces, optimum, trials)[0]


def summarize_traces(table, per_seed: dict, trials: int) -> dict:
    """Mean/median regret at the checkpoints, share of seeds at the optimum, curves; the traces kept."""
    from nasforge.analysis.regret import summarize

    regret = regrets(table.optimum("val_acc", "maximize"), per_seed, trials)
    stats = summarize(regret)
    row: dict = {"seeds": len(per_seed), "trials": trials,
                 "seconds_per_run": float(np.mean([r["seconds"] for r in per_seed.values()]))}
    for n in CHECKPOINTS:
        if n <= trials:
            row[f"mean@{n}"] = float(stats["mean"][n - 1])
            row[f"median@{n}"] = float(stats["median"][n - 1])
    row[f"optimum_share@{trials}"] = float(np.mean(regret[:, -1] <= 1e-9))
    row["curve_mean"] = stats["mean"].tolist()
    row["curve_median"] = stats["median"].tolist()
    row["per_seed"] = per_seed
    return row


def ask_times(table, names: list[str], sizes: tuple[int, ...] = (100, 1000), repeats: int = 3) -> dict:
    """CPU seconds of one ask after ``n`` random results of ``table`` were told (single thread), and the process's
    peak memory so far (one strategy per run reads as that strategy's peak at its largest ``n``)."""
    import resource

    from nasforge.strategies import get_strategy

    values, index = table.values("val_acc"), {a: i for i, a in enumerate(table.archs)}
    out: dict = {}
    for name in names:
        for n in sizes:
            strategy = get_strategy(name, table.space, seed=0)
            for i in np.random.default_rng(0).permutation(len(values))[:n]:
                strategy.tell(table.archs[int(i)], float(values[i]))
            times = []
            for _ in range(repeats):  # the first ask fits the model, the next ones refit on one more result
                start = time.process_time()
                arch = strategy.ask()
                times.append(time.process_time() - start)
                strategy.tell(arch, float(values[index[arch]]))
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
            out[f"{name}@{n}"] = {"first_ask_s": times[0], "mean_ask_s": float(np.mean(times)), "peak_rss_mb": peak}
            print(f"{name:12} {n:5} observed: ask {np.mean(times):.3f} s (first {times[0]:.3f} s), peak RSS of the "
                  f"process so far {peak:.0f} MB", flush=True)
    return out


def search_ask_times(table, names: list[str], sizes: tuple[int, ...] = (1000, 3000), window: int = 100) -> dict:
    """CPU seconds of one ask in a seeded search of the strategy's own (each ask told its table value), mean over
    the ``window`` asks that end at each of ``sizes``: unlike :func:`ask_times`, the history is the strategy's own
    proposals, which crowd the region it favours, so its asks meet the duplicates they meet in a real search."""
    from nasforge.strategies import get_strategy

    values, index = table.values("val_acc"), {a: i for i, a in enumerate(table.archs)}
    out: dict = {}
    for name in names:
        strategy, times = get_strategy(name, table.space, seed=0), []
        for _ in range(max(sizes)):
            start = time.process_time()
            arch = strategy.ask()
            times.append(time.process_time() - start)
            strategy.tell(arch, float(values[index[arch]]))
        for n in sizes:
            first = max(0, n - window)
            out[f"{name}@{n} search"] = {"mean_ask_s": float(np.mean(times[first:n])), "asks": [first + 1, n]}
            print(f"{name:12} search, asks {first + 1}-{n}: ask {np.mean(times[first:n]):.4f} s", flush=True)
    return out


def loo(table, names: list[str], out: Path, trials: int = 60, seeds: tuple[int, ...] = (0,),
        variant: dict | None = None, suffix: str = "") -> dict:
    """Leave-one-out CV of each strategy's model after ``trials`` evaluations on ``table``, per seed;
    with ``variant``, also of the surrogate with those settings added, on the same history."""
    from nasforge.evaluators import TableEvaluator
    from nasforge.experiment import Study
    from nasforge.strategies.model_based import loo_cv

    summaries = {}
    for name in names:
        for seed in seeds:
            study = Study(table.space, name, objectives="val_acc", seed=seed)
            study.optimize(TableEvaluator(table), n_trials=trials)
            strategy = study.strategy
            rows = [(name, None)] + ([(name + suffix, {**strategy.surrogate_spec, **variant})] if variant else [])
            for row, spec in rows:
                result = loo_cv(strategy, seed=seed, surrogate=spec)
                key = row if len(seeds) == 1 else f"{row} seed {seed}"
                if seed == seeds[0]:
                    result.plot(out / f"strategies_learning_loo_{row}.png", f"{row}: LOO after {trials} evaluations",
                                overwrite=True)  # a benchmark re-run replaces its own plots
                summaries[key] = result.to_json()
                print(f"{key:20} LOO {result.summary()}", flush=True)
    return summaries


def plot(results: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8))
    for name, row in sorted(results.items(), key=lambda kv: kv[1].get("mean@100", np.inf)):
        curve = np.array(row["curve_mean"])
        ax.plot(np.arange(1, len(curve) + 1), curve, label=f"{name} ({row['seeds']} seeds)")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("mean regret of validation accuracy (points)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def at_checkpoints(optimum: float, row: dict) -> dict[int, np.ndarray]:
    """A stored row's per-seed regrets at each checkpoint its runs reached (none for a row stored without its
    per-seed traces, as the older files' rows but bananas, smac and saasbo)."""
    if "per_seed" not in row:
        return {}
    regret = regrets(optimum, row["per_seed"], row["trials"])
    return {n: regret[:, n - 1] for n in CHECKPOINTS if n <= row["trials"]}


def why_no_checkpoints(row: dict) -> str:
    """Why :func:`at_checkpoints` has nothing for a stored ``row``, in words following "its row"."""
    if "per_seed" not in row:
        return "was stored without per-seed traces"
    return f"ran {row['trials']} evaluations, fewer than the first checkpoint ({CHECKPOINTS[0]})"


def standard_error(values: np.ndarray) -> float:
    """The standard error of the mean of ``values`` (one per seed; NaN for one seed, which has none)."""
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def markdown_table(results: dict, optimum: float) -> str:
    """The docs' table: each mean with its standard error over the seeds (from the stored per-seed traces)."""
    lines = ["| strategy | seeds | mean@50 | mean@100 | mean@300 | median@50 | median@100 | optimum by 300 | s/run |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, row in sorted(results.items(), key=lambda kv: kv[1].get("mean@100", np.inf)):
        per_seed = at_checkpoints(optimum, row)
        cells = [_cell(row, f"mean@{n}") + ("" if len(per_seed.get(n, ())) < 2 else
                                            f" ± {standard_error(per_seed[n]):.3f}") for n in CHECKPOINTS]
        cells += [_cell(row, k) for k in ("median@50", "median@100")]
        share = row.get("optimum_share@300")
        lines.append(f"| `{name}` | {row['seeds']} | {' | '.join(cells)} | "
                     f"{'-' if share is None else f'{100 * share:.0f} %'} | {row['seconds_per_run']:.1f} |")
    return "\n".join(lines)


def _cell(row: dict, key: str) -> str:
    """A statistic to 3 decimals, or '-' for a checkpoint beyond the run's evaluations."""
    return "-" if key not in row else f"{row[key]:.3f}"


def compare_rows(results: dict, optimum: float, name: str) -> None:
    """Print ``name`` against every other row at each checkpoint: the difference of mean regrets (negative: ``name``
    is ahead) with its standard error (Welch), "level" when it is within two standard errors, and the two-sided
    Mann-Whitney p of the per-seed regrets (which also sees a difference of medians that the means hide)."""
    from scipy.stats import mannwhitneyu

    ours = at_checkpoints(optimum, results[name])
    if not ours:
        raise SystemExit(f"--compare {name}: its row {why_no_checkpoints(results[name])}; rerun it to compare")
    for other, row in sorted(results.items(), key=lambda kv: kv[1].get("mean@100", np.inf)):
        theirs = at_checkpoints(optimum, row)
        if not theirs and other != name:
            print(f"{name} vs {other}: {other}'s row {why_no_checkpoints(row)}, not compared")
        for n in (n for n in ours if n in theirs and other != name and min(len(ours[n]), len(theirs[n])) > 1):
            a, b = ours[n], theirs[n]
            diff, se = float(a.mean() - b.mean()), float(np.hypot(standard_error(a), standard_error(b)))
            verdict = "level" if abs(diff) < 2 * se else "ahead" if diff < 0 else "behind"
            print(f"{name} vs {other} @{n}: {a.mean():.3f} vs {b.mean():.3f}, difference {diff:+.3f} ± {se:.3f} "
                  f"({verdict}); medians {np.median(a):.3f} vs {np.median(b):.3f}, Mann-Whitney p "
                  f"{mannwhitneyu(a, b).pvalue:.3f}")


def pooled(results: dict, paths: list[str], table) -> dict:
    """``results`` with each row's per-seed traces pooled with those of the same row in the files ``paths`` (seeds
    run into another file, as ``strategies_learning_cifar10_smac_seeds40-69.json``), its statistics recomputed."""
    results = dict(results)
    for path in paths:
        for name, row in read_json(Path(path), {}).items():
            if name in results and "per_seed" in results[name] and "per_seed" in row:
                per_seed = {**results[name]["per_seed"], **row["per_seed"]}
                results[name] = {**results[name], **summarize_traces(table, per_seed, row["trials"])}
    return results


def print_table(results: dict) -> None:
    """The rows, with only the checkpoints some run reached ('-' where a row's run stopped before one), and
    each row's share of seeds at the optimum after its last evaluation."""
    keys = [k for k in (*(f"mean@{n}" for n in CHECKPOINTS), "median@50", "median@100")
            if any(k in row for row in results.values())]
    print(f"{'strategy':14} {'seeds':>5} " + " ".join(f"{k.replace('median', 'med'):>9}" for k in keys)
          + f" {'optimum':>12} {'s/run':>6}")
    for name, row in sorted(results.items(), key=lambda kv: kv[1].get("mean@100", np.inf)):
        trials = row["trials"]
        share = f"{100 * row[f'optimum_share@{trials}']:.0f}% by {trials}"
        print(f"{name:14} {row['seeds']:5d} " + " ".join(f"{_cell(row, k):>9}" for k in keys)
              + f" {share:>12} {row['seconds_per_run']:6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="cifar10", help="NB201 column: cifar10, cifar100, imagenet")
    parser.add_argument("--strategies", default="tpe,gp_bo,bananas,smac,npenas,reinforce,local_search,evolution,"
                                                "random,optuna_tpe")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--seed-start", type=int, default=0,
                        help="first seed; above 0, the new seeds are merged with the strategy's stored ones")
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--ask-times", nargs="?", const="100,1000", default=None, metavar="SIZES",
                        help="measure the CPU time of an ask after SIZES random table results instead (default "
                             "100,1000)")
    parser.add_argument("--search-ask-times", default=None, metavar="SIZES",
                        help="measure the CPU time of an ask in a search of the strategy's own instead, over the 100 "
                             "asks ending at each of SIZES, e.g. 1000,3000")
    parser.add_argument("--plot-only", action="store_true", help="plot and print the stored rows, with each mean's "
                        "standard error over the seeds")
    parser.add_argument("--pool", default="", metavar="FILES", help="with --plot-only: comma-separated result files "
                        "whose rows' seeds are pooled with the same rows' stored seeds (in the table and the figure)")
    parser.add_argument("--compare", default="", metavar="ROW", help="with --plot-only: ROW against every other "
                        "row: difference of means with its standard error, and a Mann-Whitney test")
    parser.add_argument("--loo", action="store_true", help="leave-one-out CV of each strategy's model instead")
    parser.add_argument("--strategy-kwargs", type=json.loads, default={},
                        help='JSON keyword arguments for every strategy, e.g. \'{"surrogate": {...}}\'; '
                             'the rows are stored as NAME + --suffix')
    parser.add_argument("--loo-seeds", default="0", help="with --loo: the seeds, e.g. 0,1,2")
    parser.add_argument("--loo-surrogate", type=json.loads, default=None,
                        help="with --loo: surrogate settings to refit with on the same history, e.g. "
                             '\'{"std_scale": "oob"}\'; stored as NAME + --suffix')
    parser.add_argument("--canonical-rule", default="network",
                        help="NB201 de-duplication rule: network (default), functional (figures before 2026-12-05), "
                             "nb201; also for --loo and --ask-times")
    parser.add_argument("--suffix", default="", help="appended to each row's name (with --strategy-kwargs)")
    args = parser.parse_args()
    if (args.strategy_kwargs or args.loo_surrogate) and not args.suffix:
        parser.error("--strategy-kwargs and --loo-surrogate need --suffix, so the rows are not stored under the "
                     "default's name")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    # JAX (NUTS of saasbo) would otherwise use every core
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    specs = [s.split(":") for s in args.strategies.split(",") if s]
    from nasforge.benchmarks import load_nb201

    if args.ask_times is not None and args.search_ask_times is not None:
        parser.error("--ask-times and --search-ask-times are two measurements: give one")
    given = args.ask_times if args.search_ask_times is None else args.search_ask_times
    if given is not None:  # "" too: refused, not taken as no measurement of asks
        option = "--ask-times" if args.search_ask_times is None else "--search-ask-times"
        try:
            sizes = tuple(int(n) for n in given.split(","))
        except ValueError:
            sizes = ()
        if not sizes or min(sizes) < 1:
            parser.error(f"{option} must be positive whole numbers, e.g. 1000,3000; got {given!r}")
    if args.loo or given is not None:
        path = out / f"strategies_learning_{'loo' if args.loo else 'ask_times'}.json"
        stored = read_json(path, {})  # checked before the work, so a damaged file stops the run at once
        table = load_nb201(dataset=args.dataset, canonical_rule=args.canonical_rule)
        names = [s[0] for s in specs]
        if args.loo:
            seeds = tuple(int(s) for s in args.loo_seeds.split(","))
            rows = loo(table, names, out, seeds=seeds, variant=args.loo_surrogate, suffix=args.suffix)
        elif args.search_ask_times is not None:
            rows = search_ask_times(table, names, sizes)
        else:
            rows = ask_times(table, names, sizes)
        stored.update({k: {**row, "dataset": args.dataset, "canonical_rule": args.canonical_rule}
                       for k, row in rows.items()})
        write_json(path, stored)
        return
    path = out / f"strategies_learning_{args.dataset}.json"
    results = read_json(path, {})
    if not args.plot_only:
        table = load_nb201(dataset=args.dataset, canonical_rule=args.canonical_rule)
        if args.seed_start:  # checked before any run: nothing stored is replaced by a mismatched merge
            for spec in specs:
                row, kwargs = spec[0] + args.suffix, strategy_kwargs_for(spec[0], args.strategy_kwargs)
                refusal = merge_refusal(row, results.get(row), args.trials, kwargs, args.canonical_rule,
                                        library_settings(table, spec[0], kwargs))
                if refusal:
                    parser.error(refusal)
        refusal = rule_refusal(path, results, args.canonical_rule)  # nor is one table given rows of two rules
        if refusal:
            raise SystemExit(refusal)
        for spec in specs:
            name, seeds = spec[0], int(spec[1]) if len(spec) > 1 else args.seeds
            row, kwargs = name + args.suffix, strategy_kwargs_for(name, args.strategy_kwargs)
            results[row] = run_strategy(table, name, range(args.seed_start, args.seed_start + seeds), args.trials,
                                        args.workers, results.get(row) if args.seed_start else None, kwargs)
            results[row].update(canonical_rule=args.canonical_rule, strategy_kwargs=kwargs,
                                **library_settings(table, name, kwargs))
            write_json(path, results)
            print(f"{row}: done in {results[row]['wall_seconds']:.0f} s", flush=True)
    if args.plot_only:  # pooled before plotting: the figure draws the seeds the table counts
        table = load_nb201(dataset=args.dataset, canonical_rule=args.canonical_rule)
        results = pooled(results, [p for p in args.pool.split(",") if p], table)
    plot(results, out / f"strategies_learning_{args.dataset}.png",
         f"NAS-Bench-201 ({args.dataset}, validation): mean regret over seeds")
    if args.plot_only:
        print(markdown_table(results, table.optimum("val_acc", "maximize")))
        if args.compare:
            compare_rows(results, table.optimum("val_acc", "maximize"), args.compare)
    print_table(results)


if __name__ == "__main__":
    main()
