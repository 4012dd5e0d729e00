"""``nasforge predictors eval``: predictors x training-set sizes x seeds on a table -> table, JSON, plot."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from . import UsageError
from .options import add_table_arguments, int_list, load_table

DEFAULT_PREDICTORS = "knn,rf,svr,gp,xgb,lgb,ngb,mlp,gin,ensemble"
_HEADERS = {"train_size": "n", "kendall_tau": "KT", "sparse_kendall_tau": "sparse KT", "spearman": "Spearman",
            "r2": "R2", "mae": "MAE", "fit_seconds": "fit s", "predict_seconds": "predict s"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predictors", help="performance predictors: compare them on a table",
                       description="Work with performance predictors.")
    commands = p.add_subparsers(dest="predictors_command", metavar="SUBCOMMAND", required=True)
    e = commands.add_parser("eval", help="score predictors x training-set sizes x seeds on held-out archs",
                            description="Fit each predictor on n random architectures of a table (for every n "
                                        "and seed), score it on held-out architectures, print mean metrics and "
                                        "write JSON and a plot of each metric vs training-set size.")
    add_table_arguments(e)
    e.add_argument("--metric", default="val_acc", help="metric to predict (default: val_acc)")
    e.add_argument("--predictors", default=DEFAULT_PREDICTORS, help=f"comma-separated (default: {DEFAULT_PREDICTORS})")
    e.add_argument("--train-sizes", default="100,1000", help="comma-separated training-set sizes")
    e.add_argument("--seeds", type=int, default=3)
    e.add_argument("--test-size", type=int, default=5000, help="held-out architectures per seed")
    e.add_argument("--params", default="{}", help='JSON: predictor -> constructor arguments, e.g. \'{"gin": {"epochs": 50}}\'')
    e.add_argument("--out", default="predictors-eval", help="folder for predictors.json and predictors.png")
    e.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..predictors import available_predictors
    from ..predictors.evaluation import SUMMARY_METRICS, evaluate_predictors, plot_summary, summarize

    names = [n.strip() for n in args.predictors.split(",") if n.strip()]
    unknown = [n for n in names if n not in available_predictors()]
    if unknown or not names:
        raise UsageError(f"unknown predictors {unknown}; choose from {available_predictors()}")
    sizes = int_list(args.train_sizes, "--train-sizes")
    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--params is not valid JSON: {exc}") from None
    if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
        raise UsageError('--params must be a JSON object of objects, e.g. \'{"gin": {"epochs": 50}}\'')
    table = load_table(args)
    console = Console()
    console.print(f"[bold]{table.name}[/]: {len(names)} predictors x sizes {sizes} x {args.seeds} seeds, "
                  f"metric {args.metric}, {args.test_size} held-out archs")
    start = time.perf_counter()

    def progress(record: dict) -> None:
        console.print(f"  {record['predictor']:>9} n={record['train_size']:<6} seed={record['seed']} "
                      f"KT={record['kendall_tau']:.3f} R2={record['r2']:.3f} fit={record['fit_seconds']:.1f}s")

    specs = {name: params.get(name, {}) for name in names}
    records = evaluate_predictors(table.space, table.archs, table.values(args.metric), specs, sizes,
                                  seeds=args.seeds, test_size=args.test_size, on_result=progress)
    rows = summarize(records)
    columns = ["predictor", "train_size", *SUMMARY_METRICS, "fit_seconds", "predict_seconds"]
    out_table = Table(title=f"{args.metric} on held-out architectures (mean of {args.seeds} seeds)")
    for column in columns:
        out_table.add_column(_HEADERS.get(column, column), justify="left" if column == "predictor" else "right")
    for row in rows:
        out_table.add_row(*(f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns))
    console.print(out_table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"table": table.name, "metric": args.metric, "seeds": args.seeds, "test_size": args.test_size,
              "params": params, "summary": rows, "runs": records}
    (out / "predictors.json").write_text(json.dumps(result, indent=1))
    plot_summary(rows, out / "predictors.png", title=f"{table.name}: {args.metric}")
    console.print(f"wall time {time.perf_counter() - start:.1f} s; wrote {out / 'predictors.json'}, "
                  f"{out / 'predictors.png'}")
    return 0
