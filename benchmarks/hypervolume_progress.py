"""CPU time of ``nasforge.pareto.hypervolume_progress`` on a curve whose front holds every point (the case
docs/report.md quotes), against the previous rule in the same run: it filtered each clipped set by pairwise
comparisons (``dominance_matrix``), O(n^3) over a curve; the current one lets each point of the set's front drop
those it dominates. Both must give the same curve, bit for bit.

    python benchmarks/hypervolume_progress.py                     # 1,000 points, 3 objectives, best of 3

Writes benchmarks/results/hypervolume_progress.json (``--out`` to change), one entry per ``--label``. The figures
are CPU seconds (``time.process_time``), best of the repeats, old and new alternating so both see the same load.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from nasforge import pareto

from _results import RESULTS, read_json, write_json


def previous_kept(p: np.ndarray) -> np.ndarray:
    """The rule before: the non-dominated points of a 3-or-more-objective set by pairwise comparisons."""
    return p if p.shape[1] <= 2 else p[~pareto.dominance_matrix(p).any(0)]


def timed(kept: Callable[[np.ndarray], np.ndarray], points: np.ndarray) -> tuple[float, np.ndarray]:
    """CPU seconds of one curve with ``kept`` as the non-dominated filter, and the curve."""
    current, pareto._kept = pareto._kept, kept
    try:
        start = time.process_time()
        curve = pareto.hypervolume_progress(points, np.zeros(points.shape[1]))
        return time.process_time() - start, curve
    finally:
        pareto._kept = current


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--objectives", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--label", default="current")
    parser.add_argument("--out", default=str(RESULTS / "hypervolume_progress.json"))
    args = parser.parse_args()
    stored = read_json(args.out, {})  # other labels' entries; a damaged file stops the run before measuring
    points = np.abs(np.random.default_rng(args.seed).normal(size=(args.points, args.objectives)))
    points /= np.linalg.norm(points, axis=1, keepdims=True)  # on the positive unit sphere: all on the front
    new_kernel = pareto._kept
    old, new = [], []
    for _ in range(args.repeats):
        seconds, old_curve = timed(previous_kept, points)
        old.append(seconds)
        seconds, new_curve = timed(new_kernel, points)
        new.append(seconds)
        if not np.array_equal(old_curve, new_curve):
            raise SystemExit("the curves differ: the new filter is not exact")
    result = {"points": args.points, "objectives": args.objectives, "seed": args.seed, "repeats": args.repeats,
              "front_points": int(pareto.non_dominated_mask(points).sum()), "curves_identical": True,
              "old_cpu_s": round(min(old), 3), "new_cpu_s": round(min(new), 3),
              "ratio_old_over_new": round(min(old) / min(new), 1), "old_cpu_s_all": [round(s, 3) for s in old],
              "new_cpu_s_all": [round(s, 3) for s in new], "load_average_1min_at_end": round(os.getloadavg()[0], 2),
              "cpus": os.cpu_count(), "note": "CPU seconds, best of the repeats; shared 2-core machine"}
    stored[args.label] = result
    write_json(args.out, stored)
    print(f"{args.points} points, {args.objectives} objectives ({result['front_points']} on the front): "
          f"old {result['old_cpu_s']:.2f} s, new {result['new_cpu_s']:.3f} s CPU ({result['ratio_old_over_new']:g}x); "
          f"curves identical")


if __name__ == "__main__":
    main()
