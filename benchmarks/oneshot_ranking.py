"""The one-shot ranking study with its default settings, copied into ``benchmarks/results``.

    .venv/bin/python benchmarks/oneshot_ranking.py [--out nasforge-runs/oneshot-study] [--tricks group_norm,...]
        [--supernet-seeds 3] [--supernet-seed 0] [--workers 2] [--few-shot-split-epoch E] [--seed 0]
        [--supernet-width 4] [--supernet-weight-decay 0.01] [--score-by loss]

Runs :func:`nasforge.oneshot.study.run_ranking_study` (the same as ``nasforge oneshot study``; ground-truth
trainings already stored in ``--out`` are reused), then writes ``benchmarks/results/<--name>.json``
(every row with its mean and std over the supernet seeds, the ceiling, pruning, timing: supernet training vs
the standalone trainings it replaces, and scoring throughput in architectures per second) and copies the
plots next to it. A stored ``<--name>.json`` of other settings (e.g. ``oneshot_ranking.json``, which holds the
old supernet settings docs/oneshot.md cites) is refused before any training: give such a run its own ``--name``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nasforge.oneshot.study import RankingConfig, format_table, run_ranking_study

from _results import RESULTS, read_json, refuse_other_run, write_file, write_json


def settings(config: dict[str, Any]) -> dict[str, Any]:
    """The settings of this script's options that a study ``config`` ran with, stored by any version: one stored
    before an option existed ran with the value of then (one supernet seed, supernets of the ground truth's width,
    or ``supernet_C`` channels, weight decay 3e-4, scored by accuracy)."""
    channels = config.get("C", 1)
    width = config.get("supernet_width", config.get("supernet_C", channels) // channels)
    return {"extra_tricks": list(config.get("extra_tricks", [])), "supernet_seeds": config.get("supernet_seeds", 1),
            "supernet_seed": config.get("supernet_seed", 0), "seed": config.get("seed", 0),
            "fewshot_split_epoch": config.get("fewshot_split_epoch"), "supernet_width": width,
            "supernet_weight_decay": config.get("supernet_weight_decay", 3e-4),
            "score_by": config.get("score_by", "acc")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="nasforge-runs/oneshot-study")
    parser.add_argument("--tricks", default="group_norm")
    parser.add_argument("--supernet-seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--few-shot-split-epoch", type=int, default=None)
    parser.add_argument("--supernet-seed", type=int, default=0, help="first supernet seed")
    parser.add_argument("--seed", type=int, default=0, help="data split and architecture sample")
    parser.add_argument("--supernet-width", type=int, default=4, help="supernet channels / ground-truth channels")
    parser.add_argument("--supernet-weight-decay", type=float, default=1e-2)
    parser.add_argument("--score-by", default="loss", choices=("loss", "acc"))
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--name", default="oneshot_ranking", help="file name of the JSON and plots")
    args = parser.parse_args()
    cfg = RankingConfig(extra_tricks=tuple(t for t in args.tricks.split(",") if t), supernet_seeds=args.supernet_seeds,
                        workers=args.workers, fewshot_split_epoch=args.few_shot_split_epoch,
                        supernet_seed=args.supernet_seed, seed=args.seed, supernet_width=args.supernet_width,
                        supernet_weight_decay=args.supernet_weight_decay, score_by=args.score_by)
    results = Path(args.results)
    stored = read_json(results / f"{args.name}.json", {})
    refuse_other_run(results / f"{args.name}.json", settings(stored.get("config", {})) if stored else {},
                     settings(asdict(cfg)), option="--name")
    start = time.perf_counter()
    result = run_ranking_study(cfg, args.out, overwrite=True)  # a re-run replaces its own report in --out
    wall = time.perf_counter() - start
    print(format_table(result))
    timing = result.timing
    scoring = {k[len("score_seconds["):k.index("]")]: len(result.archs) / v for k, v in timing.items()
               if k.startswith("score_seconds[") and k.endswith(f"@{cfg.supernet_seed}")}
    summary = {"wall_seconds": wall, "ground_truth_wall_seconds": timing["ground_truth_wall_seconds"],
               "supernet_seconds": timing["supernet_seconds"],
               "standalone_seconds": timing["standalone_seconds"],
               "standalone_trainings": timing["standalone_trainings"], "archs_per_second": scoring,
               "note": "measured on the 2-core machine"}
    print(json.dumps(summary, indent=1))
    results.mkdir(parents=True, exist_ok=True)
    write_json(results / f"{args.name}.json", {**result.to_json(), "summary": summary}, default=float)
    for name in ("ranking_tau.png", "ranking_scatter.png"):
        if (Path(args.out) / name).is_file():
            write_file(results / f"{args.name}_{name.split('_', 1)[1]}", (Path(args.out) / name).read_bytes())


if __name__ == "__main__":
    main()
