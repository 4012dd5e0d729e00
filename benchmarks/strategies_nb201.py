"""Strategies on the NAS-Bench-201 table: regret at 100/300 evaluations over 100 seeds, ours vs Optuna,
plus the per-trial ask+tell overhead of our random search (in memory, ``--overhead-runs`` runs of ``--budget``
trials).

Both rules of charging a repeated architecture are measured for both sides: ``ours`` and ``peers_dedup`` spend
the budget on distinct architectures (a repeat is told its known score, not evaluated); ``ours_no_dedup`` and
``peers`` (plain Optuna, ``dedup=False`` given explicitly: ``compare`` charges the peers with ``dedup=True`` by
default, as ``nasforge bench``) evaluate repeats again, and each counts against the budget.

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
GROUPS = ("ours", "ours_no_dedup", "peers", "peers_dedup")


def ask_tell_overhead(benchmark, n_runs: int = 200, budget: int = 300) -> dict[str, float]:
    """Microseconds per ask+tell: bare strategy and through a Study (no evaluation). Each level first does one
    untimed run (seed ``n_runs``), so one-time costs (imports, caches) are charged to neither level."""
    out = {}
    for level in ("strategy", "study"):
        _timed_run(benchmark, level, n_runs, budget)  # warm-up, not counted
        total = sum(_timed_run(benchmark, level, seed, budget) for seed in range(n_runs))
        out[f"{level}_us_per_trial"] = 1e6 * total / (n_runs * budget)
    return out


def _timed_run(benchmark, level: str, seed: int, budget: int) -> float:
    """Seconds of ``budget`` ask+tell rounds of random search with ``seed``, bare (``level`` "strategy") or
    through a Study ("study"); building it is not timed."""
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
    return time.perf_counter() - start


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
                                 ("peers", PEERS, {n: {"dedup": False} for n in PEERS}),  # plain Optuna
                                 ("peers_dedup", PEERS, {n: {"dedup": True} for n in PEERS})]:
        start = time.perf_counter()
        report = compare(bench, names, seeds=args.seeds, budget=args.budget, strategy_kwargs=kwargs,
                         workers=args.workers)
        results[label] = {"wall_seconds": time.perf_counter() - start, "table": report.table(),
                          "strategy_settings": report.strategy_settings}  # the peers' with Optuna's version
        report.save(Path(args.out) / f"strategies_nb201_{label}", overwrite=True)  # replaces its own stored run
    write_json(Path(args.out) / "strategies_nb201.json", results)
    print(f"ask+tell overhead (random, in memory): {results['overhead']}")
    checkpoints = summary_checkpoints(args.budget)  # 100 and 300 where the budget reaches them, and the budget
    first, last = checkpoints[0], checkpoints[-1]
    columns = [*(f"{s}@{n}" for n in checkpoints for s in ("mean", "median")), f"mean_unique@{first}",
               "duplicates", f"test_acc@{last}"]
    print(f"{'group':15} {'strategy':15} " + " ".join(f"{c.replace('median', 'med'):>14}" for c in columns))
    for label in GROUPS:
        for row in results[label]["table"]:
            print(f"{label:15} {row['strategy']:15} " + " ".join(f"{row[c]:14.3f}" for c in columns))
        print(f"{label:15} wall time {results[label]['wall_seconds']:.1f} s")


if __name__ == "__main__":
    main()
