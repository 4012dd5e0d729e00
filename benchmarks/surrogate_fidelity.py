"""Fidelity of an NB201 surrogate benchmark (CIFAR-10 validation accuracy).

(a) Seeds. The NB201 table has no per-seed columns, but the members of a ``network`` class (NB201's default
    rule, 5,260 classes) are cells that build the same network: where their results differ, they are separate
    training runs of it. Many do not differ: about half of the member rows (5,889 of the 11,553 in the 1,188
    classes of >= 2 members) repeat another member's six accuracies digit for digit, so a member counts as a
    run only where its results are new (before 2026-12-07 the copies counted too). One row per class with >= 2
    distinct runs (1,107 classes), runs as ``val_acc_seed<k>`` columns, gives a real multi-seed table. A
    surrogate fitted on half of the classes (noise model learned from the seeds) is compared, on the other
    half, with one run against the mean of the other runs. Whole ``network`` classes are held out, as in
    ``predictors eval``'s class split, so no held-out row has a run of its own network in training (the
    authors' finer ``nb201`` rule, used here before 2026-12-07, put cells of one network in different rows).
(b) Regret. A surrogate fitted on 90% of the full table; regularized evolution and random search,
    10 seeds x 200 evaluations, on the surrogate and on the table.

--class-split instead fits the surrogate on 90% of the table's canonical classes (--canonical-rule) and scores it
on the cells of the other 10%, so that no held-out cell has an isomorph in training; it also reports the scores
without the held-out classes of over 20 cells (degenerate cells share one prediction).

Usage: python benchmarks/surrogate_fidelity.py [--model lgb] [--canonical-rule network] [--class-split]
    [--out benchmarks/results/surrogate_fidelity_nb201.json]

The results record the settings (``--model``, ``--canonical-rule``; ``--runs`` and ``--budget`` for (b)); an
``--out`` holding results of other settings is refused before any work: other settings need another ``--out``
(the stored ``functional``-rule figures are in surrogate_fidelity_nb201_functional.json).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nasforge.analysis.surrogate_fidelity import plot_regret_fidelity, regret_fidelity, seed_fidelity
from nasforge.benchmarks import SurrogateBenchmark, TabularBenchmark, load_nb201
from nasforge.predictors import get_predictor
from nasforge.predictors.metrics import kendall_tau, r2
from nasforge.spaces import NASBench201Space

from _results import RESULTS, read_json, refuse_other_run, write_json


def isomorphism_seed_table(table: TabularBenchmark, max_runs: int = 4) -> TabularBenchmark:
    """One row per NB201 ``network`` class with >= 2 independent runs; up to ``max_runs`` member accuracies as
    seed columns (a few degenerate classes have hundreds of members). About half of the member rows repeat
    another member's results digit for digit in every metric: such a copy is no run of its own and is skipped."""
    space = NASBench201Space(canonical_rule="network")
    results = np.column_stack([table.values(metric) for metric in table.metrics])
    classes: dict = {}
    for arch, value, result in zip(table.archs, table.values("val_acc"), results):
        runs = classes.setdefault(space.canonical_key(arch), (arch, {}))[1]  # result vector -> val_acc
        runs.setdefault(tuple(result.tolist()), value)
    rows = [(arch, list(runs.values())[:max_runs]) for arch, runs in classes.values() if len(runs) >= 2]
    columns = {"arch": [space.format(arch) for arch, _ in rows]}
    for k in range(max_runs):
        columns[f"val_acc_seed{k}"] = [runs[k] if k < len(runs) else np.nan for _, runs in rows]
    return TabularBenchmark(pd.DataFrame(columns), space, name="nb201-isomorphism-seeds")


def class_split(table: TabularBenchmark, model: str, holdout: float = 0.1, seed: int = 0,
                large: int = 20) -> dict:
    """Held-out KT / R2 of ``val_acc`` with whole canonical classes held out (a seeded ``holdout`` fraction of the
    classes), over every held-out cell and over the cells of the held-out classes of at most ``large`` cells."""
    classes: dict = {}
    for row, arch in enumerate(table.archs):
        classes.setdefault(table.space.canonical_key(arch), []).append(row)
    members = list(classes.values())
    order = np.random.default_rng(seed).permutation(len(members))
    n_held = int(round(holdout * len(members)))
    held = np.array([r for g in order[:n_held] for r in members[g]])
    small = np.array([r for g in order[:n_held] if len(members[g]) <= large for r in members[g]])
    train = np.array([r for g in order[n_held:] for r in members[g]])
    y = table.values("val_acc")
    predictor = get_predictor(model, table.space, seed=seed).fit([table.archs[i] for i in train], y[train])
    predicted = dict(zip(held.tolist(), predictor.predict([table.archs[i] for i in held])))

    def scores(rows: np.ndarray) -> dict:
        guess = np.array([predicted[r] for r in rows.tolist()])
        return {"cells": len(rows), "kendall_tau": kendall_tau(y[rows], guess), "r2": r2(y[rows], guess)}

    return {"classes_held_out": n_held, "largest_held_out_class": max(len(members[g]) for g in order[:n_held]),
            "all": scores(held), f"classes_of_at_most_{large}_cells": scores(small)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="lgb")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--canonical-rule", default="network",
                        help="NB201 de-duplication rule of the searches in (b): network (default), functional (the "
                             "old rule: figures before 2026-12-05) or nb201")
    parser.add_argument("--class-split", action="store_true",
                        help="only the held-out scores of a surrogate fitted on 90%% of the canonical classes")
    parser.add_argument("--out", default=None, help="result JSON (default: benchmarks/results/"
                                                    "surrogate_fidelity_nb201[_class_split].json)")
    args = parser.parse_args()
    default = "surrogate_fidelity_nb201_class_split.json" if args.class_split else "surrogate_fidelity_nb201.json"
    out = Path(args.out or RESULTS / default)
    run = {"model": args.model, "canonical_rule": args.canonical_rule}
    if not args.class_split:
        run.update(runs=args.runs, budget=args.budget)
    refuse_other_run(out, read_json(out, {}), run, before={"runs": 10, "budget": 200})
    start, load_before = time.perf_counter(), os.getloadavg()
    table = load_nb201(canonical_rule=args.canonical_rule)
    if args.class_split:
        split = class_split(table, args.model)
        print(f"{split['classes_held_out']} of the {args.canonical_rule} classes held out (largest "
              f"{split['largest_held_out_class']} cells):")
        for key in ("all", "classes_of_at_most_20_cells"):
            s = split[key]
            print(f"    {key}: {s['cells']} cells  KT {s['kendall_tau']:.3f}  R2 {s['r2']:.3f}")
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, {**run, **split,
                         "wall_seconds": time.perf_counter() - start, "load_before": load_before,
                         "load_after": os.getloadavg()})
        print(f"wrote {out}")
        return

    seeds_table = isomorphism_seed_table(table)
    seeded = SurrogateBenchmark.fit(seeds_table.space, seeds_table, model=args.model, noise_model="seeds",
                                    holdout=0.5, seed=0)
    seeds = seed_fidelity(seeded, seeds_table, "val_acc")
    seeds["rows"] = len(seeds_table)
    seeds["noise_model"] = seeded.manifest["metrics"]["val_acc"]["noise"]
    print(f"(a) {len(seeds_table)} multi-member network classes, {seeds['n_archs']} held out; "
          "against the other runs' mean:")
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

    out.parent.mkdir(parents=True, exist_ok=True)
    report = {**run, "seeds": seeds,
              "regret_surrogate": full.manifest, "regret": regret, "wall_seconds": time.perf_counter() - start}
    write_json(out, report)
    plot_regret_fidelity(regret, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
