"""CPU time of ``nasforge.pareto.non_dominated_mask`` for 3 to 5 objectives (every multi-objective ask, the study's
front, the report) against the previous rule in the same run: every pair compared (``dominance_matrix``), O(n^2).
The current rule sweeps the points in lexicographic order against the front found so far. Both must give the same
mask, bit for bit. Cases: uniform random points (a small front), points on the positive unit sphere (every point on
the front: the sweep's worst case) and small integers (many ties and duplicates).

    python benchmarks/pareto_front.py                 # best of 3, CPU seconds

Writes benchmarks/results/pareto_front.json (``--out`` to change), one entry per ``--label``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from nasforge import pareto

from _results import RESULTS, read_json, write_json

SIZES = ((3, 2000), (3, 5000), (4, 5000), (5, 3000))


def cases(seed: int) -> dict[str, np.ndarray]:
    """The point sets measured, by name."""
    rng = np.random.default_rng(seed)
    out = {}
    for d, n in SIZES:
        out[f"random {n}x{d}"] = rng.random((n, d))
        sphere = np.abs(rng.normal(size=(n, d)))
        out[f"all on the front {n}x{d}"] = sphere / np.linalg.norm(sphere, axis=1, keepdims=True)
        out[f"integers 0-4 {n}x{d}"] = rng.integers(0, 5, size=(n, d)).astype(float)
    return out


def cpu_seconds(function, points: np.ndarray) -> tuple[float, np.ndarray]:
    start = time.process_time()
    mask = function(points)
    return time.process_time() - start, mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", default="current")
    parser.add_argument("--out", default=str(RESULTS / "pareto_front.json"))
    args = parser.parse_args()
    stored = read_json(args.out, {})  # other labels' entries; a damaged file stops the run before measuring
    results = {}
    for name, points in cases(args.seed).items():
        old, new = [], []
        for _ in range(args.repeats):  # alternating, so both see the same load
            seconds, old_mask = cpu_seconds(lambda p: ~pareto.dominance_matrix(p).any(0), points)
            old.append(seconds)
            seconds, new_mask = cpu_seconds(pareto.non_dominated_mask, points)
            new.append(seconds)
            if not np.array_equal(old_mask, new_mask):
                raise SystemExit(f"{name}: the masks differ: the sweep is not exact")
        results[name] = {"front_points": int(new_mask.sum()), "pairwise_cpu_s": round(min(old), 4),
                         "sweep_cpu_s": round(min(new), 4), "ratio": round(min(old) / max(min(new), 1e-6), 1)}
        print(f"{name:26s} front {new_mask.sum():5d}: pairwise {min(old):7.3f} s, sweep {min(new):7.4f} s CPU "
              f"({results[name]['ratio']:g}x)")
    stored[args.label] = {"cases": results, "masks_identical": True, "repeats": args.repeats, "seed": args.seed,
                          "load_average_1min_at_end": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
                          "note": "CPU seconds, best of the repeats; shared 2-core machine"}
    write_json(args.out, stored)


if __name__ == "__main__":
    main()
