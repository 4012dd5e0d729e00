"""``nasforge bench``: compare strategies on a tabular benchmark (regret curves, JSON, CSV, PNG)."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

from ..writes import new_folders_removed_on_failure
from . import UsageError
from .options import (PRUNER_METAVAR, Default, add_table_arguments, arch_column, check_dataset, direction_note,
                      holds_metric, installed_defaults, load_table, metric_dataset, not_a_file, note_inferred,
                      note_skipped, out_dir, parse_pruner, positive_int, pruner_name, read_table_arg)
from .output import add_format_argument, counted, print_rows, regret_decimals

DEFAULT_STRATEGIES = "random,evolution,local_search,optuna_random,optuna_tpe"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="compare strategies x seeds x trials on a table (regret curves)",
                       description="Run each strategy with seeds 0..N-1 on a tabular benchmark and report "
                                   "mean/median regret per evaluation and per unique evaluation.")
    add_table_arguments(p, dataset_default_help="the one --objective names (cifar100 for cifar100-val), else cifar10")
    p.add_argument("--strategies", default=Default(DEFAULT_STRATEGIES), metavar="NAME[,NAME]",
                   help="comma-separated strategy names (default: %(default)s; those of them whose optional "
                        "package is not installed are skipped with a note)")
    p.add_argument("--seeds", type=positive_int, default=100, help="runs per strategy (seeds 0..N-1)")
    p.add_argument("--trials", type=positive_int, default=300, help="evaluations per run")
    p.add_argument("--objective", default="val_acc", metavar="METRIC", help="table metric to optimize")
    p.add_argument("--direction", default=None, type=str.lower, choices=["maximize", "minimize", "max", "min"],
                   help="of --objective (default: from its name: minimize a name with a part loss or error, e.g. "
                        "val_loss, with a note saying so; else maximize; --workers-simulated needs maximize)")
    p.add_argument("--secondary", metavar="METRIC",
                   help="metric reported for the incumbent (default: the test column of the "
                        "objective's data set, <set>-test for an objective <set>-val, else test_acc if the table has "
                        "it; on cifar10 another training run, on train+valid, than the -val column's; none for a "
                        "test column objective; '' for none; not with --workers-simulated)")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="processes (default: all cores; never more than the runs, strategies x seeds; not with "
                        "--workers-simulated, which runs in this process)")
    p.add_argument("--workers-simulated", type=positive_int, default=None, metavar="N",
                   help="regret vs simulated wall-clock time with N asynchronous workers (a maximized --objective "
                        "only; modelled training times and curves; horizon: --trials average full evaluations; see "
                        "docs/strategies.md) (default: none: no simulated time)")
    p.add_argument("--time-column", default=None, metavar="COLUMN",
                   help="with --workers-simulated: table column holding each architecture's training seconds at the "
                        "full budget, the simulated time (default: none: modelled from NAS-Bench-201's conv proxy)")
    p.add_argument("--pruner", default=None, metavar=PRUNER_METAVAR,
                   help="with --workers-simulated: stop evaluations early on their modelled per-epoch curves: "
                        "median, asha, curve, a JSON object naming one with its settings, e.g. '{\"name\": "
                        "\"asha\", \"reduction_factor\": 2}', or none (default: none)")
    p.add_argument("--out", default="bench-results",
                   help="folder for bench.json, bench_curves.csv, bench_regret.png (an earlier run's outputs there "
                        "are refused: see --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier bench run's outputs in --out (and remove the report.html made from them)")
    add_format_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis.harness import (MAX_WORKERS, check_bench_folder, check_strategies, default_secondaries,
                                    refuse_multi_fidelity)
    from ..analysis.simulate import check_maximized, why_not_a_metric
    from ..benchmarks.tabular import objective_direction
    from ..checks import check_int
    from ..strategies import get_strategy

    to_minimize = ("--workers-simulated simulates a maximized objective only (--direction minimize is refused): "
                   "give a column of its negated values to minimize it" if args.workers_simulated
                   else "pass --direction minimize if smaller is better")
    note = direction_note(args.objective, args.direction, "--objective", to_minimize)
    args.direction = objective_direction(args.objective, args.direction)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    if not args.space_module:  # before the table loads: a typo is named at once
        _check_strategy_names(strategies, args)
    if args.workers is not None:  # a process count (no more than the runs are started)
        check_int("--workers", args.workers, 1, MAX_WORKERS)
    if args.workers_simulated and args.secondary:
        raise UsageError("--secondary: not used with --workers-simulated (the simulated report follows the objective "
                         "only); leave it out")
    if args.workers_simulated and args.trials < args.workers_simulated:
        raise UsageError(f"--trials {args.trials}: with --workers-simulated {args.workers_simulated} the horizon "
                         f"({args.trials} average full evaluations spread over {args.workers_simulated} workers) is "
                         f"shorter than one evaluation per worker; give --trials {args.workers_simulated} or more")
    frame, defaulted = _table_frame(args), args.secondary is None
    args.dataset = metric_dataset(args, args.objective, "--objective", frame)
    if defaulted and frame is not None:  # the first default --table holds: the only one the run reads
        args.secondary = next((m for m in default_secondaries(args.objective) if holds_metric(args, frame, m)), "")
    benchmark = load_table(args, frame=frame, reads=[args.objective, args.time_column, args.secondary])
    if args.space_module:  # checked once the file is imported, with the strategies it registers
        _check_strategy_names(strategies, args)
    if defaulted:  # the shared table's first default; '' where --table's is no metric (test_acc without the alias)
        args.secondary = next((m for m in default_secondaries(args.objective) if m in benchmark.metrics
                               and (frame is None or m == args.secondary)), "")
    for option, metric in (("--objective", args.objective), ("--secondary", args.secondary),
                           ("--time-column", args.time_column)):
        if metric is None or (option == "--secondary" and not metric):  # not given; --secondary '': none
            continue
        if metric not in benchmark.metrics:  # '' too: no column is named so
            why = why_not_a_metric(benchmark, metric, arch_column(args), "--arch-column")
            raise UsageError(f"{option}: metric {metric!r} {why}; "
                             f"available: {benchmark.metrics}")
    _check_coverage(benchmark, None if args.workers_simulated else args.trials)
    skipped: dict[str, str] = {}
    if isinstance(args.strategies, Default):
        strategies, skipped = installed_defaults(strategies, lambda name: get_strategy(name, benchmark.space, seed=0))
    check_strategies(benchmark.space, strategies, option="--strategies")
    if not args.workers_simulated:
        refuse_multi_fidelity(strategies, "--strategies", "run them with --workers-simulated N (modelled learning "
                                                          "curves and training times)")
    if args.pruner is not None:  # the simulator reports epochs from 1
        args.pruner = parse_pruner(args.pruner, strategy_option="--strategies", first_step=1)
    if args.pruner is not None and not args.workers_simulated:
        raise UsageError(f"--pruner {pruner_name(args.pruner)}: needs --workers-simulated (a pruner stops "
                         "evaluations on their modelled curves); leave it out or give --workers-simulated N")
    if args.time_column is not None and not args.workers_simulated:
        raise UsageError("--time-column: needs --workers-simulated (plain bench counts evaluations, not time)")
    if args.workers_simulated:  # a note was made where the name decided the direction
        check_maximized(args.objective, None if note else args.direction, "--workers-simulated", "--objective")
    if args.workers_simulated and args.workers is not None:
        raise UsageError("--workers: not used with --workers-simulated (the simulated runs replay in this process); "
                         "leave it out")
    from ..pipelines.search import refuse_run_folder

    refuse_run_folder(args.out, "--out", "nasforge bench")  # its report.html and files are the run's
    check_bench_folder(not_a_file(args.out), args.overwrite, "--out")
    simulated = _modelled_curves(benchmark, args) if args.workers_simulated else None
    with new_folders_removed_on_failure(args.out):
        out_dir(args.out)
        note_skipped(skipped, "bench", "strategy")  # now that nothing refuses the run
        note_inferred(args, benchmark.space)
        if note:
            print(note, file=sys.stdout if args.format == "table" else sys.stderr)
        return _run(benchmark, simulated, strategies, args, skipped)


def _check_strategy_names(strategies: list[str], args: argparse.Namespace) -> None:
    """A UsageError for ``--strategies`` naming none, a strategy not registered, or one twice; the message lists
    those bench runs (one objective; multi-fidelity ones only simulated)."""
    from ..analysis.harness import refuse_repeats
    from ..registry import did_you_mean
    from ..strategies import STRATEGIES, available_strategies

    unknown = [s for s in strategies if s not in available_strategies()]
    if unknown or not strategies:
        runs = [n for n in available_strategies() if getattr(STRATEGIES.get(n), "objective_counts", (1, 1))[0] <= 1
                and (args.workers_simulated or not STRATEGIES.tags(n)["multi_fidelity"])]
        raise UsageError(f"--strategies: unknown strategies {unknown or args.strategies!r}"
                         f"{did_you_mean(unknown[0], runs) if unknown else ''}; choose from {runs}")
    refuse_repeats(strategies, "--strategies")


def _run(benchmark, simulated, strategies: list[str], args: argparse.Namespace, skipped: dict[str, str]) -> int:
    from ..analysis.harness import compare

    log = sys.stdout if args.format == "table" else sys.stderr
    if simulated is not None:
        hours = simulated.hours_for(args.trials, args.workers_simulated)
        budget = (f"{hours:.3g} simulated hours (the time {args.workers_simulated} workers need for {args.trials} "
                  "average full evaluations)")
    else:
        budget = f"{args.trials} evaluations"
    _say(f"{benchmark.name}: {counted(len(strategies), 'strategy')} x {counted(args.seeds, 'seed')} x {budget}, "
         f"objective {args.objective} ({args.direction})", log)
    start = time.perf_counter()
    if simulated is not None:
        return _simulated(simulated, strategies, args, log, hours, skipped)
    report = compare(benchmark, strategies, seeds=args.seeds, budget=args.trials, objective=args.objective,
                     direction=args.direction, secondary=args.secondary or None, workers=args.workers)
    report.skipped_defaults, report.table_path = skipped, _table_path(args)
    elapsed = time.perf_counter() - start
    rows = _rows(report, args.trials, args.secondary)
    stopped = any(_is_nan(row["mean"]) for row in rows)  # a run stopped early: nothing from fewer evaluations
    repeated = any(_is_nan(row["mean_unique"]) and not _is_nan(row["mean"]) for row in rows)
    if args.format == "table":
        rows = [{k: "-" if _is_nan(v) else v for k, v in row.items()} for row in rows]
    paths = report.save(args.out, overwrite=args.overwrite)  # before printing: a closed stdout loses nothing
    print_rows(rows, args.format, headers=_HEADERS, digits=regret_decimals(rows, _REGRETS),
               title=f"regret of {args.objective} (optimum {_shown(report.optimum)}) after n evaluations; "
                     "uniq: per unique evaluation" + (f"; {args.secondary} of the incumbent" if args.secondary else ""))
    if stopped and args.format == "table":
        _say("-: a run of the strategy stopped before n evaluations (it found no new architecture to propose; "
             "the warning names the seeds), so no regret after n is reported", log)
    if repeated and args.format == "table":
        _say("uniq mean -: under half the runs reached n unique evaluations (they repeat architectures), so the "
             "per-unique curve stops before n", log)
    print(f"wall time {elapsed:.1f} s; wrote {', '.join(str(p) for p in paths.values())}", file=log)
    return 0


def _shown(value: float) -> str:
    """``value`` as the reports and ``status`` show it (6 significant digits): an optimum of ``0.9372`` is not
    ``0.937``, which would read as another architecture's value."""
    from ..analysis.studyreport.views import number_text

    return number_text(value)


def _say(text: str, log) -> None:
    """Print ``text`` to ``log`` in lines of at most 80 columns (as docs/cli.md promises), later ones indented."""
    import textwrap

    print(textwrap.fill(text, 80, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False),
          file=log, flush=True)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _table_path(args: argparse.Namespace) -> str:
    """The absolute path of the file the run's table was read from (--table, else the shared NAS-Bench-201 file)."""
    from ..benchmarks import find_data_file
    from ..benchmarks.nb201 import NB201_DEFAULT_FILE

    return str((Path(args.table) if args.table else find_data_file(NB201_DEFAULT_FILE)).resolve())


def _modelled_curves(benchmark, args: argparse.Namespace):
    """The simulated benchmark of --workers-simulated: the table's values on modelled learning curves, timed by
    --time-column, else by NAS-Bench-201's conv proxy; on another space without --time-column every
    architecture gets the same time per epoch, with a one-line warning."""
    from ..analysis.simulate import ModelledCurves
    from ..spaces import NASBench201Space

    if args.time_column is None and not isinstance(benchmark.space, NASBench201Space):
        print(f"nasforge bench: warning: the modelled training time (NAS-Bench-201's conv proxy) does not apply to "
              f"space {benchmark.space.name!r}: every architecture gets the same time per epoch; --time-column "
              "names a column of training seconds", file=sys.stderr)
        return ModelledCurves(benchmark, metric=args.objective, cost=None, direction=args.direction)
    return ModelledCurves(benchmark, metric=args.objective, time_column=args.time_column, direction=args.direction)


def _simulated(bench, strategies: list[str], args: argparse.Namespace, log, hours: float,
               skipped: dict[str, str]) -> int:
    from ..analysis.simulate import compare_simulated

    report = compare_simulated(bench, strategies, seeds=args.seeds, n_workers=args.workers_simulated, hours=hours,
                               name=bench.benchmark.name, pruner=args.pruner)  # Optuna peers: dedup=True
    report.trials, report.skipped_defaults, report.table_path = args.trials, skipped, _table_path(args)
    paths = report.save(args.out, overwrite=args.overwrite)  # before printing: a closed stdout loses nothing
    rows = report.table()
    regrets = [key for key in rows[0] if key.startswith(("mean@", "median@"))] if rows else []
    print_rows(rows, args.format, digits=regret_decimals(rows, regrets),
               title=f"regret of {args.objective} (optimum {_shown(report.optimum)}) vs simulated hours, "
                     f"{args.workers_simulated} asynchronous workers"
                     + (f", pruner {pruner_name(args.pruner)}" if args.pruner else ""))
    if args.format == "table":
        _say(f"found: runs (of {args.seeds}) with a full-budget result by then; before it a run's regret is the "
             "worst architecture's", log)
    print(f"wrote {', '.join(str(p) for p in paths.values())}", file=log)
    return 0


def _table_frame(args: argparse.Namespace):
    """The --table frame (None without --table), refused where it is a surrogate artifact; --dataset is refused
    where the table has no column of it."""
    if args.table is None:
        return None
    frame = read_table_arg(args, "bench compares strategies on a table",
                           lambda artifact: f"search a surrogate with `nasforge surrogate eval {artifact}` "
                                            "(strategies on the surrogate against a table) or in Python with "
                                            "Study.optimize(SurrogateEvaluator(SurrogateBenchmark.load(...)))")
    check_dataset(args, frame)
    return frame


def _check_coverage(benchmark, trials: int | None) -> None:
    """Strategies propose any architecture of the space, and a run stops at the last new one: the
    table must hold every architecture (:func:`~nasforge.analysis.harness.check_coverage`), and ``trials``
    (evaluations; None with --workers-simulated, where --trials is a time horizon and promotions evaluate an
    architecture again) must not exceed their number."""
    from ..analysis.harness import check_coverage, check_trials

    try:
        distinct = check_coverage(benchmark, "bench", "a --space-config")
    except UsageError as exc:
        raise UsageError(f"--table: {exc}") from None
    if trials is not None:
        check_trials(trials, distinct, benchmark)


_REGRETS = ("mean", "median", "mean_unique")
"""The regret columns of the table, at 3 decimals or the 2 significant digits of their smallest positive value
(:func:`regret_decimals`): a regret of 0.00016 must not read as the 0.000 of an optimum found."""
_HEADERS = {"evaluations": "n", "mean_unique": "uniq mean", "duplicates": "dup", "ms_per_run": "ms/run"}


def _rows(report, trials: int, secondary: str) -> list[dict]:
    """One row per strategy and checkpoint (100, 300 and the last evaluation: those of bench.json's summary)."""
    from ..analysis.harness import summary_checkpoints

    rows = []
    for name, rep in report.strategies.items():
        for n in summary_checkpoints(trials):
            row = {"strategy": name, "evaluations": n, "mean": rep.at(n), "median": rep.at(n, "median"),
                   "mean_unique": rep.at(n, unique=True)}
            if secondary:
                row[secondary] = float(rep.incumbent_secondary["mean"][n - 1])
            row["duplicates"] = rep.mean_duplicates
            row["ms_per_run"] = 1000.0 * rep.seconds / rep.n_runs
            rows.append(row)
    return rows
