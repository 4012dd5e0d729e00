"""Cost of the ``params`` objective: counting a network's parameters with its operations tallied
(``ParameterCount``, ``OpParameterTally``) against building the whole network, in one run.

    python benchmarks/parameter_count.py                 # 200 architectures per space
    python benchmarks/parameter_count.py --archs 50 --spaces nb201

Also times counting every canonical NAS-Bench-201 cell (5,260 under the default ``"network"`` rule; the stored
figure counted the 4,930 of the earlier ``"functional"`` rule), which is what the first model-based ``ask`` of
``ts_hvi`` / ``qnehvi`` with the ``params`` objective does in ``nasforge search``. Writes
benchmarks/results/parameter_count.json (``--out`` to change). The ratio is the figure to compare;
wall times depend on the machine's load.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from _results import RESULTS, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=200)
    parser.add_argument("--spaces", default="nb201,darts,nb101")
    parser.add_argument("--out", default=str(RESULTS / "parameter_count.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    from nasforge.models import create_model
    from nasforge.spaces import get_space
    from nasforge.strategies.model_based.costs import ParameterCount
    from nasforge.strategies.model_based.optimizers import unique_architectures

    result: dict = {"archs": args.archs, "threads": 1, "spaces": {}}
    for name in args.spaces.split(","):
        space = get_space(name)
        count = ParameterCount(space)
        archs = [space.sample(np.random.default_rng(seed)) for seed in range(args.archs)]
        count.count(archs[0])  # each distinct operation is built once per process; not part of the timing
        start = time.perf_counter()
        tallied = [count.count(arch) for arch in archs]
        tally_s = (time.perf_counter() - start) / len(archs)
        start = time.perf_counter()
        built = [float(sum(p.numel() for p in create_model(count.model, arch, **count.kwargs).parameters()))
                 for arch in archs]
        build_s = (time.perf_counter() - start) / len(archs)
        assert tallied == built, f"{name}: tallied counts differ from the built networks'"
        result["spaces"][name] = {"tally_ms": 1e3 * tally_s, "build_ms": 1e3 * build_s, "speedup": build_s / tally_s}
        print(f"{name}: {1e3 * tally_s:.2f} ms tallied vs {1e3 * build_s:.2f} ms built "
              f"({build_s / tally_s:.1f}x), counts identical on {len(archs)} architectures")
    space = get_space("nb201")
    cells, _ = unique_architectures(space)
    count = ParameterCount(space)
    start = time.perf_counter()
    for arch in cells:
        count(arch)
    result["nb201_all_canonical"] = {"cells": len(cells), "seconds": time.perf_counter() - start}
    print(f"nb201: all {len(cells)} canonical cells counted in {result['nb201_all_canonical']['seconds']:.1f} s")
    write_json(args.out, result)


if __name__ == "__main__":
    main()
