"""``nasforge predictors eval``: predictors x training-set sizes x seeds on a table -> table, JSON, plot."""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ..pareto import DIRECTIONS
from ..predictors.evaluation import SPLITS
from ..writes import is_matplotlib_png, json_starting
from . import UsageError
from .options import (Default, add_table_arguments, arch_column, direction_note, installed_defaults, int_list,
                      load_table, metric_dataset, not_a_file, note_inferred, note_skipped, out_dir, parse_json,
                      positive_int, refuse_repeated, registered_names)
from .output import add_format_argument, counted, json_safe, print_rows

OUTPUTS = {"predictors.json": json_starting(rb'"table":'), "predictors.png": is_matplotlib_png}
"""The files a run writes, each with how an earlier run's is recognised (any other file of their names is refused)."""
DEFAULT_PREDICTORS = "knn,rf,svr,gp,xgb,lgb,ngb,mlp,gin,ensemble"
_HEADERS = {"train_size": "n", "kendall_tau": "KT", "sparse_kendall_tau": "sKT", "spearman": "rho",
            "r2": "R2", "mae": "MAE", "fit_seconds": "fit s", "predict_seconds": "pred s", "kendall_tau_std": "±",
            "r2_std": "±"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predictors", help="performance predictors: compare them on a table",
                       description="Work with performance predictors.")
    commands = p.add_subparsers(dest="predictors_command", metavar="SUBCOMMAND", required=True)
    e = commands.add_parser("eval", help="score predictors x training-set sizes x seeds on held-out archs",
                            description="Fit each predictor on n random architectures of a table (for every n "
                                        "and seed), score it on held-out architectures, print mean metrics and "
                                        "write JSON and a plot of each metric vs training-set size.")
    add_table_arguments(e, dataset_default_help="the one --metric names (cifar100 for cifar100-val), else cifar10")
    e.add_argument("--metric", default="val_acc", metavar="METRIC", help="table metric to predict")
    e.add_argument("--predictors", default=Default(DEFAULT_PREDICTORS), metavar="NAME[,NAME]",
                   help="comma-separated predictor names (default: %(default)s; those of them whose optional package "
                        "is not installed are skipped with a note)")
    e.add_argument("--train-sizes", default="100,1000", metavar="N[,N]", help="comma-separated training-set sizes")
    e.add_argument("--seeds", type=positive_int, default=3, help="repetitions (seeds 0..N-1) per predictor and size")
    e.add_argument("--test-size", type=positive_int, default=5000, metavar="N", help="held-out architectures per seed")
    e.add_argument("--split", choices=SPLITS, default="class",
                   help="hold out whole canonical classes, so no held-out cell has an isomorph in training (class), "
                        "or table rows, which lets isomorphs leak into training (row) (default: %(default)s)")
    e.add_argument("--direction", type=str.lower, choices=[*DIRECTIONS, "max", "min"], default=None,
                   help="whether higher or lower --metric values are better: precision@1%% scores that end "
                        "(default: as nasforge bench, from its name: minimize a name with a part loss or error, with "
                        "a note saying so, else maximize; max/min spell the same)")
    e.add_argument("--params", default="{}", metavar="JSON",
                   help='JSON: predictor -> constructor arguments, e.g. \'{"gin": {"epochs": 50}}\'')
    e.add_argument("--out", default="predictors-eval",
                   help="folder for predictors.json and predictors.png (an earlier run's outputs there are refused: "
                        "see --overwrite)")
    e.add_argument("--overwrite", action="store_true", help="replace an earlier run's outputs in --out")
    add_format_argument(e)
    e.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    from ..benchmarks import read_table
    from ..benchmarks.tabular import objective_direction
    from ..predictors import available_predictors, get_predictor
    from ..predictors.registry import refuse_seed
    from ..writes import check_outputs, new_folders_removed_on_failure
    from .surrogate import refuse_artifact_out

    note = direction_note(args.metric, args.direction, "--metric")
    args.direction = objective_direction(args.metric, args.direction)  # given: max/min spelled out

    names = registered_names(args.predictors, "--predictors", "predictor", "predictors", available_predictors())
    sizes = int_list(args.train_sizes, "--train-sizes")
    refuse_repeated(names, "--predictors", "predictor")
    refuse_repeated(sizes, "--train-sizes", "size")
    if args.test_size < 2:
        raise UsageError(f"--test-size must be at least 2 (the scores compare rankings), got {args.test_size}")
    if min(sizes) < 2:
        raise UsageError(f"--train-sizes must be at least 2 each, got {args.train_sizes!r}")
    params = parse_json(args.params, "--params")
    if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
        raise UsageError('--params must be a JSON object of objects, e.g. \'{"gin": {"epochs": 50}}\'')
    for name, spec in params.items():
        refuse_seed(spec, f"--params: {name}", "the runs are seeded 0..N-1 by --seeds")
    extra = sorted(set(params) - set(names))
    if extra:
        raise UsageError(f"--params names predictor(s) {extra} that are not in --predictors {names}")
    frame = None if args.table is None else read_table(args.table, text_columns=(arch_column(args),))
    args.dataset = metric_dataset(args, args.metric, "--metric", frame)
    table = load_table(args, frame=frame, reads=[args.metric])
    if args.metric not in table.metrics:
        from ..registry import did_you_mean

        raise UsageError(f"--metric: {args.metric!r} is not in table {table.name!r}"
                         f"{did_you_mean(args.metric, table.metrics)}; available: {table.metrics}")
    if max(sizes) + args.test_size > len(table):
        raise UsageError(f"--train-sizes {max(sizes)} + --test-size {args.test_size} exceed the {len(table)} rows "
                         f"of {table.name}")
    skipped: dict[str, str] = {}
    if isinstance(args.predictors, Default):  # a predictor given --params is kept: its missing package is named
        names, skipped = installed_defaults(names, lambda name: name in params or get_predictor(name, table.space))
    specs = {name: params.get(name, {}) for name in names}  # each built by evaluate_predictors before any fit
    not_a_file(args.out)
    refuse_artifact_out(args.out)
    with new_folders_removed_on_failure(args.out):  # a failed run leaves no empty --out folder behind
        out = out_dir(args.out)
        check_outputs(out, OUTPUTS, args.overwrite, "--out", "predictors eval")

        def started() -> None:  # every input is checked: nothing refuses the run now
            log = sys.stdout if args.format == "table" else sys.stderr
            note_skipped(skipped, "predictors eval", "predictor")
            note_inferred(args, table.space)
            if note:
                print(note, file=log)
            print(f"{table.name}: {counted(len(specs), 'predictor')} x sizes {sizes} x {counted(args.seeds, 'seed')}, "
                  f"metric {args.metric}, {args.test_size} held-out archs ({args.split} split)", file=log, flush=True)

        return _evaluate(args, table, specs, sizes, params, out, started)




def _evaluate(args: argparse.Namespace, table, specs: dict[str, dict], sizes: list[int], params: dict,
              out: Path, started: Callable[[], None]) -> int:
    """Fit and score the predictors of ``specs`` (name -> settings), print the summary and write ``out``;
    ``started()`` once every input is checked, before the first fit."""
    from ..benchmarks.surrogate import library_versions
    from ..predictors.evaluation import (LIBRARIES, SUMMARY_METRICS, evaluate_predictors, nan_note, plot_summary,
                                         summarize)
    from ..spaces import space_record
    from ..writes import write_atomic

    log = sys.stdout if args.format == "table" else sys.stderr
    seeds = counted(args.seeds, "seed")
    start = time.perf_counter()

    def progress(record: dict) -> None:
        print(f"  {record['predictor']:>9} n={record['train_size']:<6} seed={record['seed']} "
              f"KT={record['kendall_tau']:.3f} R2={record['r2']:.3f} fit={record['fit_seconds']:.1f}s", file=log,
              flush=True)

    records = evaluate_predictors(table.space, table.archs, table.values(args.metric), specs, sizes,
                                  seeds=args.seeds, test_size=args.test_size, on_result=progress, split=args.split,
                                  direction=args.direction, on_start=started, settings_from="--params")
    rows = summarize(records)
    result = {"table": table.name, "space": table.space.name, "space_config": space_record(table.space),
              "metric": args.metric, "direction": args.direction, "seeds": args.seeds, "test_size": args.test_size,
              "split": args.split, "params": params, "libraries": library_versions(LIBRARIES), "summary": rows,
              "runs": records}  # space_config: its options decide the held-out classes (NB201's canonical_rule)
    png = io.BytesIO()
    plot_summary(rows, png, title=f"{table.name}: {args.metric}")
    contents = (json.dumps(json_safe(result), indent=1, allow_nan=False), png.getvalue())
    paths = [write_atomic(out / name, content, "--out", follow=False) for name, content in zip(OUTPUTS, contents)]
    if args.format == "table":  # the spread of the two headline scores beside them; json/csv: every metric's
        columns = ["predictor", "train_size", "kendall_tau", "kendall_tau_std", "sparse_kendall_tau", "spearman",
                   "r2", "r2_std", "mae", "fit_seconds", "predict_seconds"]
    else:  # the columns before 2026-12-06 first, in their order
        columns = ["predictor", "train_size", *SUMMARY_METRICS, "fit_seconds", "predict_seconds", "seeds",
                   *(f"{m}_std" for m in SUMMARY_METRICS)]
    shown = [{c: "-" if c.endswith("_std") and args.format == "table" and math.isnan(row[c]) else row[c]
              for c in columns} for row in rows]  # one seed: no spread
    print_rows(shown, args.format, headers=_HEADERS,
               title=f"{args.metric} on held-out architectures (mean of {seeds})")
    note = nan_note(rows, [c for c in columns if c in SUMMARY_METRICS])
    if note:
        print(note, file=log)
    print(f"wall time {time.perf_counter() - start:.1f} s; wrote {', '.join(map(str, paths))}", file=log)
    return 0
