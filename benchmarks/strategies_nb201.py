"""Strategies on the NAS-Bench-201 table: regret at 100/300 evaluations over 100 seeds, ours vs Optuna,
plus the per-trial ask+tell overhead of our random search (in memory, ``--overhead-runs`` runs of ``--budget``
trials).

    .venv/bin/python benchmarks/strategies_nb201.py [--seeds 100] [--budget 300] [--overhead-runs 200]
        [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from nasforge.analysis.harness import compare, summary_checkpoints
from nasforge.benchmarks import load_nb201
from nasforge.experiment import Study
from nasforge.strategies import get_strategy

from _results import RESULTS, write_json

OURS = ["random", "evolution", "local_search"]
PEERS = ["optuna_random", "optuna_tpe"]
# Published-style reference magnitudes measured on this table, duplicates counted as evaluations.
REFERENCE = {"optuna_tpe": (0.320, 0.091), "local_search (plain)": (0.323, 0.032),
             "evolution (plain)": (0.464, 0.114), "random (plain)": (1.312, 0.774)}


def ask_tell_overhead(benchmark, n_runs: int = 200, budget: int = 300) -> dict[str, float]:
    """Microseconds per ask+tell: bare strategy and through a Study (no evaluation)."""
    out = {}
    for level in ("strategy", "study"):
        total = 0.0
        for seed in range(n_runs):
            if level == "strategy":
                strategy = get_strategy("random", benchmark.space, seed=seed)
                start = time.perf_counter()
                for _ in range(budget):
                    strategy.tell(strategy.ask(), 1.0)
            else:
                study = Study(benchmark.space, "random", seed=seed)
                start = time.perf_counter()
                for _ in range(budget):
                    study.tell(study.ask(), 1.0)
            total += time.perf_counter() - start
        out[f"{level}_us_per_trial"] = 1e6 * total / (n_runs * budget)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--overhead-runs", type=int, default=200, help="runs of --budget trials timed for the "
                        "ask+tell overhead")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    bench = load_nb201()
    results: dict = {"overhead": {"runs": args.overhead_runs, "trials": args.budget,
                                  **ask_tell_overhead(bench, args.overhead_runs, args.budget)}}
    for label, names, kwargs in [("ours", OURS, {}),
                                 ("ours_no_dedup", OURS, {n: {"dedup": False} for n in OURS}),
                                 ("peers", PEERS, {})]:
        start = time.perf_counter()
        report = compare(bench, names, seeds=args.seeds, budget=args.budget, strategy_kwargs=kwargs,
                         workers=args.workers)
        results[label] = {"wall_seconds": time.perf_counter() - start, "table": report.table()}
        report.save(Path(args.out) / f"strategies_nb201_{label}", overwrite=True)  # replaces its own stored run
    results["reference"] = REFERENCE
    write_json(Path(args.out) / "strategies_nb201.json", results)
    print(f"ask+tell overhead (random, in memory): {results['overhead']}")
    checkpoints = summary_checkpoints(args.budget)  # 100 and 300 where the budget reaches them, and the budget
    first, last = checkpoints[0], checkpoints[-1]
    columns = [*(f"{s}@{n}" for n in checkpoints for s in ("mean", "median")), f"mean_unique@{first}",
               "duplicates", f"test_acc@{last}"]
    print(f"{'group':15} {'strategy':15} " + " ".join(f"{c.replace('median', 'med'):>14}" for c in columns))
    for label in ("ours", "ours_no_dedup", "peers"):
        for row in results[label]["table"]:
            print(f"{label:15} {row['strategy']:15} " + " ".join(f"{row[c]:14.3f}" for c in columns))
        print(f"{label:15} wall time {results[label]['wall_seconds']:.1f} s")
    for name, (r100, r300) in REFERENCE.items():
        print(f"reference       {name:22} mean@100 {r100:.3f}, mean@300 {r300:.3f}")


if __name__ == "__main__":
    main()
