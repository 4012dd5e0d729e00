"""Strategies on the NAS-Bench-201 table: regret at 100/300 evaluations over 100 seeds, ours vs Optuna,
plus the per-trial ask+tell overhead of our random search (in memory).

    .venv/bin/python benchmarks/strategies_nb201.py [--seeds 100] [--budget 300] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from nasforge.analysis.harness import compare
from nasforge.benchmarks import load_nb201
from nasforge.experiment import Study
from nasforge.strategies import get_strategy

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
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    bench = load_nb201()
    results: dict = {"overhead": ask_tell_overhead(bench)}
    for label, names, kwargs in [("ours", OURS, {}),
                                 ("ours_no_dedup", OURS, {n: {"dedup": False} for n in OURS}),
                                 ("peers", PEERS, {})]:
        start = time.perf_counter()
        report = compare(bench, names, seeds=args.seeds, budget=args.budget, strategy_kwargs=kwargs,
                         workers=args.workers)
        results[label] = {"wall_seconds": time.perf_counter() - start, "table": report.table()}
        report.save(Path(args.out) / f"strategies_nb201_{label}", overwrite=True)  # replaces its own stored run
    results["reference"] = REFERENCE
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "strategies_nb201.json").write_text(json.dumps(results, indent=1))
    print(f"ask+tell overhead (random, in memory): {results['overhead']}")
    print(f"{'group':15} {'strategy':15} {'mean@100':>9} {'med@100':>8} {'mean@300':>9} {'med@300':>8} "
          f"{'uniq@100':>9} {'dups':>6} {'test@300':>9}")
    for label in ("ours", "ours_no_dedup", "peers"):
        for row in results[label]["table"]:
            print(f"{label:15} {row['strategy']:15} {row['mean@100']:9.3f} {row['median@100']:8.3f} "
                  f"{row['mean@300']:9.3f} {row['median@300']:8.3f} {row['mean_unique@100']:9.3f} "
                  f"{row['duplicates']:6.1f} {row['test_acc@300']:9.2f}")
        print(f"{label:15} wall time {results[label]['wall_seconds']:.1f} s")
    for name, (r100, r300) in REFERENCE.items():
        print(f"reference       {name:22} {r100:9.3f} {'':8} {r300:9.3f}")


if __name__ == "__main__":
    main()
