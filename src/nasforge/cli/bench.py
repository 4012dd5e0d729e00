"""``nasforge bench``: compare strategies on a tabular benchmark (regret curves, JSON, CSV, PNG)."""

from __future__ import annotations

import argparse
import time

from . import UsageError
from .options import add_table_arguments, load_table

DEFAULT_STRATEGIES = "random,evolution,local_search,optuna_random,optuna_tpe"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="compare strategies x seeds x budget on a table (regret curves)",
                       description="Run each strategy with seeds 0..N-1 on a tabular benchmark and report "
                                   "mean/median regret per evaluation and per unique evaluation.")
    add_table_arguments(p)
    p.add_argument("--strategies", default=DEFAULT_STRATEGIES, help=f"comma-separated (default: {DEFAULT_STRATEGIES})")
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--trials", type=int, default=300, help="evaluations per run")
    p.add_argument("--objective", default="val_acc")
    p.add_argument("--direction", default="maximize", choices=["maximize", "minimize"])
    p.add_argument("--secondary", default="test_acc", help="metric reported for the incumbent ('' for none)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--out", default="bench-results", help="folder for bench.json, bench_curves.csv, bench_regret.png")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..analysis.harness import compare
    from ..strategies import available_strategies

    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in available_strategies()]
    if unknown or not strategies:
        raise UsageError(f"unknown strategies {unknown}; choose from {available_strategies()}")
    benchmark = load_table(args)
    secondary = args.secondary or None
    console = Console()
    console.print(f"[bold]{benchmark.name}[/]: {len(strategies)} strategies x {args.seeds} seeds x "
                  f"{args.trials} evaluations, objective {args.objective} ({args.direction})")
    start = time.perf_counter()
    report = compare(benchmark, strategies, seeds=args.seeds, budget=args.trials, objective=args.objective,
                     direction=args.direction, secondary=secondary, workers=args.workers)
    elapsed = time.perf_counter() - start
    rows = report.table()
    table = Table(title=f"regret of {args.objective} (optimum {report.optimum:.3f})")
    for column in rows[0]:
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for row in rows:
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
    console.print(table)
    paths = report.save(args.out)
    console.print(f"wall time {elapsed:.1f} s; wrote {', '.join(str(p) for p in paths.values())}")
    return 0
