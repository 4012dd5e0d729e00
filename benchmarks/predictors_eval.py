"""Predictor figures on NAS-Bench-201 (CIFAR-10 validation accuracy, held-out architectures).

Every predictor at 100, 1,000 and 5,000 training architectures, 3 seeds, 5,000 held-out
architectures per seed, whole canonical classes (``--split class``, the default: no held-out cell has
an isomorph in training; ``--split row`` is the earlier split by table row, which lets isomorphs
leak): Kendall tau, sparse Kendall tau, Spearman, R2, MAE, fit and predict seconds; the JSON records
the split and the library versions. The run writes ``--out`` whole, so it stops with one line before any work when
the stored file holds a run it would not reproduce: another split (a file recording none is of the row split of
before 2026-12-06), seeds or test size, rows of other predictor settings, or entries this script does not write
(``predictors_nb201.json``'s ``rerun``). ``xgb_onehot`` is the naive reference (XGBoost's default settings
on the one-hot encoding). The neural models train for fewer epochs at 5,000 architectures to
bound CPU time (their step count still grows with the data). Usage::

    python benchmarks/predictors_eval.py [--seeds 3] [--sizes 100,1000,5000] --out FILE.json
        # the default --out, benchmarks/results/predictors_nb201.json, is the row-split reference: kept
    python benchmarks/predictors_eval.py --predictors '{"lgb": {}, "lgb_functional": {"predictor": "lgb",
        "encoding": "functional"}}' --out benchmarks/results/predictors_encodings.json   # your own rows
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from nasforge.benchmarks import load_nb201
from nasforge.benchmarks.surrogate import library_versions
from nasforge.predictors.evaluation import LIBRARIES, SUMMARY_METRICS, evaluate_predictors, plot_summary, summarize

from _results import RESULTS, read_json, refuse_other_run, write_json

NAIVE_XGB = {"predictor": "xgb", "encoding": "onehot", "n_estimators": 100, "learning_rate": 0.3, "max_depth": 6,
             "subsample": 1.0, "colsample_bytree": 1.0, "min_child_weight": 1.0}


def specs(train_size: int) -> dict[str, dict]:
    """Predictors and settings for one training-set size."""
    large = train_size > 2000
    gin = {"predictor": "gin", "epochs": 60 if large else 150}
    return {
        "xgb_onehot": NAIVE_XGB, "knn": {}, "rf": {}, "svr": {}, "gp": {}, "ngb": {}, "xgb": {}, "lgb": {},
        "mlp": {"epochs": 40 if large else 150}, "gin": gin,
        "ensemble": {"members": ["lgb", "xgb", gin]},
    }


def markdown_table(rows: list[dict]) -> str:
    """The summary as a Markdown table (mean ± std over seeds), best Kendall tau first per size."""
    lines = ["| n | predictor | KT | sparse KT | Spearman | R2 | MAE | fit s | predict s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in sorted(rows, key=lambda r: (r["train_size"], -r["kendall_tau"])):
        cells = [f"{row[m]:.3f} ± {row[m + '_std']:.3f}" if m in ("kendall_tau", "r2") else f"{row[m]:.3f}"
                 for m in SUMMARY_METRICS] + [f"{row['fit_seconds']:.1f}", f"{row['predict_seconds']:.2f}"]
        lines.append(f"| {row['train_size']} | {row['predictor']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


WRITTEN = {"table", "metric", "seeds", "test_size", "split", "libraries", "settings", "summary", "runs", "wall_seconds"}
"""The entries of a results file this script writes."""


def refuse_to_replace(out: Path, run: dict, settings: dict[str, dict]) -> None:
    """Stop with one line when the results stored at ``out`` are of a run that this one, of ``run`` settings and
    ``settings`` (predictor specs by training size), would replace by other results: the file is written whole."""
    stored = read_json(out, {})
    refuse_other_run(out, stored, run, before={"split": "row"})
    for size, specs_then in stored.get("settings", {}).items():
        if settings.get(size) != specs_then:
            raise SystemExit(f"{out} holds rows at {size} architectures of other predictor settings "
                             f"({', '.join(specs_then)}); nothing replaced (choose another --out to keep both)")
    if set(stored) - WRITTEN:
        raise SystemExit(f"{out} holds entries this script does not write ({', '.join(sorted(set(stored) - WRITTEN))})"
                         "; nothing replaced (choose another --out to keep both)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--test-size", type=int, default=5000)
    parser.add_argument("--split", choices=("class", "row"), default="class",
                        help="hold out whole canonical classes (default) or table rows (isomorphs leak)")
    parser.add_argument("--out", default=str(RESULTS / "predictors_nb201.json"))
    parser.add_argument("--predictors", type=json.loads, default=None,
                        help="JSON {row name: predictor spec} to run instead of the default rows")
    args = parser.parse_args()
    chosen = (lambda n: args.predictors) if args.predictors else specs

    sizes = [int(s) for s in args.sizes.split(",")]
    out = Path(args.out)
    refuse_to_replace(out, {"split": args.split, "seeds": args.seeds, "test_size": args.test_size},
                      {str(n): chosen(n) for n in sizes})
    table = load_nb201()
    archs, y = table.archs, table.values("val_acc")
    out.parent.mkdir(parents=True, exist_ok=True)
    records: list[dict] = []
    start = time.perf_counter()
    for n in sizes:
        records += evaluate_predictors(
            table.space, archs, y, chosen(n), [n], seeds=args.seeds, test_size=args.test_size, split=args.split,
            on_result=lambda r: print(f"{r['predictor']:>10} n={r['train_size']:<5} seed={r['seed']} "
                                      f"KT={r['kendall_tau']:.3f} R2={r['r2']:.3f} fit={r['fit_seconds']:.1f}s",
                                      flush=True))
        rows = summarize(records)
        write_json(out, {"table": table.name, "metric": "val_acc", "seeds": args.seeds, "test_size": args.test_size,
                         "split": args.split, "libraries": library_versions(LIBRARIES),
                         "settings": {str(n): chosen(n) for n in sorted({r["train_size"] for r in records})},
                         "summary": rows, "runs": records, "wall_seconds": time.perf_counter() - start})
    plot_summary(rows, out.with_suffix(".png"), title=f"{table.name}: val_acc, held-out archs")
    print(markdown_table(rows))
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
