"""How much the NAS-Bench-201 table's accuracies vary between cells that compute the same function
(one canonical form), and how far each conv-front point stands above the next-best canonical cell of the same
conv cost: the resolution a surrogate would need to find the point. The spread counts every cell of a form as
the table serves it, including the cells whose results copy another cell's digit for digit (about half of the
cells in multi-cell ``network`` classes).

    python benchmarks/nb201_isomorph_noise.py [--min-acc 80] [--canonical-rule network]

Writes benchmarks/results/nb201_isomorph_noise.json (``--out`` to change). ``--canonical-rule`` picks which cells
count as one canonical form (``load_nb201``'s rule: network, the default, functional or nb201). A stored file of
another ``--canonical-rule`` or ``--min-acc`` is not replaced: the run stops with one line before any work (a file
recording no rule is of the old ``functional`` one). The stored figures reproduce with::

    python benchmarks/nb201_isomorph_noise.py --canonical-rule functional
    python benchmarks/nb201_isomorph_noise.py --out benchmarks/results/network/nb201_isomorph_noise.json
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

import numpy as np

from nasforge import pareto
from nasforge.benchmarks import load_nb201
from nasforge.spaces.nb201 import conv_proxy
from nasforge.strategies.model_based import unique_architectures

from _results import RESULTS, read_json, refuse_other_run, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-acc", type=float, default=80.0, help="only groups whose mean accuracy is above this")
    parser.add_argument("--out", default=str(RESULTS / "nb201_isomorph_noise.json"))
    parser.add_argument("--canonical-rule", default="network",
                        help="NB201 de-duplication rule: network (default), functional (figures before 2026-12-05), "
                             "nb201")
    args = parser.parse_args()
    start, load_before = time.perf_counter(), os.getloadavg()
    run = {"canonical_rule": args.canonical_rule, "min_acc": args.min_acc}
    refuse_other_run(args.out, read_json(args.out, {}), run, before={"canonical_rule": "functional"})
    table = load_nb201(canonical_rule=args.canonical_rule)
    space = table.space
    groups: dict = defaultdict(list)
    for arch in space.enumerate():
        groups[space.canonical_key(arch)].append(table.value(arch, "val_acc"))
    sds = [float(np.std(v, ddof=1)) for v in groups.values() if len(v) > 1 and np.mean(v) > args.min_acc]
    reps = unique_architectures(space)[0]
    acc = np.array([table.value(a, "val_acc") for a in reps])
    cost = np.array([conv_proxy(a) for a in reps], dtype=float)
    front = np.c_[acc, cost][pareto.pareto_front(np.c_[acc, cost], ["maximize", "minimize"])]
    margins = {}
    for point_acc, point_cost in sorted(map(tuple, front), key=lambda p: p[1]):
        level = np.sort(acc[cost == point_cost])[::-1]
        margins[f"{point_cost:g}"] = {"acc": float(point_acc), "next_best": float(level[1]) if len(level) > 1 else None,
                                      "margin": float(level[0] - level[1]) if len(level) > 1 else None,
                                      "cells_at_cost": int(len(level))}
    result = {"min_acc": args.min_acc, "canonical_rule": args.canonical_rule, "groups": len(sds),
              "median_sd": float(np.median(sds)), "mean_sd": float(np.mean(sds)), "front_margins": margins,
              "wall_seconds": time.perf_counter() - start, "load_before": load_before, "load_after": os.getloadavg()}
    print(f"{len(sds)} canonical forms with several cells and mean accuracy > {args.min_acc}: median sd "
          f"{result['median_sd']:.3f}, mean sd {result['mean_sd']:.3f} points")
    for c, m in margins.items():
        print(f"  front point at cost {c}: {m['acc']:.3f}, next-best cell at that cost {m['next_best']}, "
              f"margin {m['margin'] if m['margin'] is None else round(m['margin'], 3)} ({m['cells_at_cost']} cells)")
    write_json(args.out, result)


if __name__ == "__main__":
    main()
