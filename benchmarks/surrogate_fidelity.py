"""Fidelity of an NB201 surrogate benchmark (CIFAR-10 validation accuracy).

(a) Seeds. The NB201 table has no per-seed columns, but NAS-Bench-201 trained every cell of an
    isomorphism class (the authors' rule, 6,466 classes) separately: the members of a class are
    independent training runs of the same network. One row per class with >= 2 members, members as
    ``val_acc_seed<k>`` columns, gives a real multi-seed table. A surrogate fitted on half of the
    classes (noise model learned from the seeds) is compared, on the other half, with one run
    against the mean of the other runs.
(b) Regret. A surrogate fitted on 90% of the full table; regularized evolution and random search,
    10 seeds x 200 evaluations, on the surrogate and on the table.

Usage: python benchmarks/surrogate_fidelity.py [--model lgb] [--canonical-rule network]
    [--out benchmarks/results/surrogate_fidelity_nb201.json]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nasforge.analysis.surrogate_fidelity import plot_regret_fidelity, regret_fidelity, seed_fidelity
from nasforge.benchmarks import SurrogateBenchmark, TabularBenchmark, load_nb201
from nasforge.spaces import NASBench201Space

from _results import RESULTS, write_json


def isomorphism_seed_table(table: TabularBenchmark, max_runs: int = 4) -> TabularBenchmark:
    """One row per NB201 isomorphism class with >= 2 members; up to ``max_runs`` member accuracies
    as seed columns (a few degenerate classes have hundreds of members)."""
    space = NASBench201Space(canonical_rule="nb201")
    classes: dict = {}
    for arch, value in zip(table.archs, table.values("val_acc")):
        classes.setdefault(space.canonical_key(arch), (arch, []))[1].append(value)
    rows = [(arch, runs[:max_runs]) for arch, runs in classes.values() if len(runs) >= 2]
    columns = {"arch": [space.format(arch) for arch, _ in rows]}
    for k in range(max_runs):
        columns[f"val_acc_seed{k}"] = [runs[k] if k < len(runs) else np.nan for _, runs in rows]
    return TabularBenchmark(pd.DataFrame(columns), space, name="nb201-isomorphism-seeds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="lgb")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--canonical-rule", default="network",
                        help="NB201 de-duplication rule of the searches in (b): network (default), functional (the "
                             "old rule: figures before 2026-12-05) or nb201")
    parser.add_argument("--out", default=str(RESULTS / "surrogate_fidelity_nb201.json"))
    args = parser.parse_args()
    start = time.perf_counter()
    table = load_nb201(canonical_rule=args.canonical_rule)

    seeds_table = isomorphism_seed_table(table)
    seeded = SurrogateBenchmark.fit(seeds_table.space, seeds_table, model=args.model, noise_model="seeds",
                                    holdout=0.5, seed=0)
    seeds = seed_fidelity(seeded, seeds_table, "val_acc")
    seeds["rows"] = len(seeds_table)
    seeds["noise_model"] = seeded.manifest["metrics"]["val_acc"]["noise"]
    print(f"(a) {len(seeds_table)} multi-member classes, {seeds['n_archs']} held out; against the other runs' mean:")
    for label, key in (("surrogate", "surrogate_vs_other_seeds"), ("one run", "one_seed_vs_other_seeds")):
        s = seeds[key]
        print(f"    {label:>9}: MAE {s['mae']:.3f}  R2 {s['r2']:.3f}  KT {s['kendall_tau']:.3f}")

    full = SurrogateBenchmark.fit(table.space, table, model=args.model, holdout=0.1, seed=0)
    regret = regret_fidelity(full, table, "val_acc", ("evolution", "random"), args.runs, args.budget)
    print(f"(b) surrogate held-out KT {full.manifest['metrics']['val_acc']['holdout']['kendall_tau']:.3f}; "
          f"final regret after {args.budget} evaluations:")
    for name, curves in regret["strategies"].items():
        final = curves["final_regret"]
        print(f"    {name:>10}: table {final['table']:.3f}  surrogate {final['surrogate']:.3f}  "
              f"surrogate pick on table {final['surrogate_true']:.3f}  mean |gap| {curves['mean_abs_gap']:.3f}")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"model": args.model, "canonical_rule": args.canonical_rule, "seeds": seeds,
              "regret_surrogate": full.manifest, "regret": regret, "wall_seconds": time.perf_counter() - start}
    write_json(out, report)
    plot_regret_fidelity(regret, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
