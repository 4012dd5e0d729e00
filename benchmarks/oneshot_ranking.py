"""The one-shot ranking study with its default settings, copied into ``benchmarks/results``.

    .venv/bin/python benchmarks/oneshot_ranking.py [--out nasforge-runs/oneshot-study] [--tricks affine_off,...]

Runs :func:`nasforge.oneshot.study.run_ranking_study` (the same as ``nasforge oneshot study``; ground-truth
trainings already stored in ``--out`` are reused), then writes ``benchmarks/results/oneshot_ranking.json``
(every row, the ceiling, pruning, timing: supernet training vs the standalone trainings it replaces, and
scoring throughput in architectures per second) and copies the plots next to it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from nasforge.oneshot.study import RankingConfig, format_table, run_ranking_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="nasforge-runs/oneshot-study")
    parser.add_argument("--tricks", default="affine_off,drop_path,ghost_bn")
    parser.add_argument("--results", default="benchmarks/results")
    args = parser.parse_args()
    cfg = RankingConfig(extra_tricks=tuple(t for t in args.tricks.split(",") if t))
    start = time.perf_counter()
    result = run_ranking_study(cfg, args.out)
    wall = time.perf_counter() - start
    print(format_table(result))
    timing = result.timing
    scoring = {k[len("score_seconds["):-1]: len(result.archs) / v for k, v in timing.items()
               if k.startswith("score_seconds[")}
    summary = {"wall_seconds": wall, "supernet_seconds": timing["supernet_seconds"],
               "standalone_seconds": timing["standalone_seconds"],
               "standalone_trainings": timing["standalone_trainings"], "archs_per_second": scoring,
               "note": "measured on a shared, loaded 2-core machine (8 engineers' processes)"}
    print(json.dumps(summary, indent=1))
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    (results / "oneshot_ranking.json").write_text(json.dumps({**result.to_json(), "summary": summary}, indent=1,
                                                             default=float))
    for name in ("ranking_tau.png", "ranking_scatter.png"):
        if (Path(args.out) / name).is_file():
            shutil.copy(Path(args.out) / name, results / f"oneshot_{name}")


if __name__ == "__main__":
    main()
