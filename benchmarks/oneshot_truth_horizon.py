"""How the ranking study's verdict depends on how long the ground truth trains.

    .venv/bin/python benchmarks/oneshot_truth_horizon.py --epochs 8,32 [--workers 16]

The study's ground truth trains each of the K architectures for 8 epochs (4 seeds). Supernets train far longer
and rank like longer-trained networks, so a short ground truth may penalize exactly what more supernet training
(and few-shot splitting) buys. This script trains the same K architectures standalone for every horizon in
``--epochs`` (``--gt-seeds`` seeds each, stored in ``--out``'s ``ground_truth.db`` next to the study's, so a
rerun reuses them), then re-scores against each horizon's mean validation accuracy every supernet score that
``benchmarks/oneshot_ranking.py`` (``--ranking``) and ``benchmarks/oneshot_fewshot.py`` (``--fewshot``) stored,
without training a supernet again. Per horizon: the ground truth's ceiling (replicate tau), its tau with the
8-epoch ground truth, the baselines (params, FLOPs, one-epoch training) and every supernet row's Kendall tau
(mean and std over supernet seeds); few-shot rows also get their paired difference to one-shot.
``--train-only`` stops after training. Writes ``benchmarks/results/oneshot_truth_horizon.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from nasforge.oneshot.study import (BASELINE_SEED, RankingConfig, ceiling, kendall, sample_architectures,
                                    study_data, train_standalone)
from nasforge.spaces import get_space

from _results import RESULTS, write_json


def train_horizons(cfg: RankingConfig, horizons: list[int], storage: str) -> dict[int, dict]:
    """Per horizon: validation accuracy per seed (rows) and architecture, and the training seconds."""
    space = get_space(cfg.space)
    data = study_data(cfg.data, cfg.data_dir, cfg.noise, cfg.val_fraction, cfg.test_fraction, cfg.seed)
    archs = sample_architectures(space, cfg.k, cfg.seed)
    out = {}
    for epochs in horizons:
        start = time.perf_counter()
        per_seed = train_standalone(cfg, archs, data, storage, epochs=epochs)
        out[epochs] = {"acc": np.array([[m["val_acc"] for m in seed] for seed in per_seed]),
                       "train_seconds": float(sum(m["train_seconds"] for seed in per_seed for m in seed)),
                       "wall_seconds": time.perf_counter() - start,
                       "params": np.array([m["params"] for m in per_seed[0]]),
                       "flops": np.array([m["flops"] for m in per_seed[0]])}
        print(f"{epochs:3d} epochs x {cfg.gt_seeds} seeds: {out[epochs]['wall_seconds']:.0f} s wall, "
              f"{out[epochs]['train_seconds']:.0f} s of training", flush=True)
    out["archs"] = [space.format(a) for a in archs]
    out["one_epoch"] = np.array([m["val_acc"] for m in train_standalone(cfg, archs, data, storage, epochs=1,
                                                                        seeds=[BASELINE_SEED])[0]])
    return out


def supernet_scores(ranking: Path, fewshot: Path, archs: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """Every stored supernet score: row name -> supernet seed -> score per architecture (higher = better)."""
    rows: dict[str, dict[str, np.ndarray]] = {}
    if ranking.is_file():
        stored = json.loads(ranking.read_text())
        if stored["archs"] != archs:
            raise ValueError(f"{ranking} scored other architectures than this ground truth")
        for name, seeds in stored["seed_scores"].items():
            rows[f"study: {name}"] = {s: np.asarray(v) for s, v in seeds.items()}
    if fewshot.is_file():
        for seed, result in json.loads(fewshot.read_text())["per_seed"].items():
            for variant, scorers in result["rows"].items():
                for scorer, score in scorers.items():
                    if isinstance(score, dict):
                        rows.setdefault(f"{variant} | {scorer} | acc", {})[seed] = np.asarray(score["acc"])
                        rows.setdefault(f"{variant} | {scorer} | loss", {})[seed] = -np.asarray(score["loss"])
    return rows


def rescore(trained: dict, rows: dict[str, dict[str, np.ndarray]], horizons: list[int]) -> dict:
    """Ceilings, baselines and every row's tau against each horizon's mean accuracy."""
    result: dict = {"horizons": {}, "rows": {}}
    reference = trained[horizons[0]]["acc"].mean(0)
    for epochs in horizons:
        truth = trained[epochs]["acc"].mean(0)
        result["horizons"][epochs] = {
            "mean_val_acc": float(truth.mean()), "ceiling": ceiling(trained[epochs]["acc"]),
            f"tau_with_{horizons[0]}_epochs": kendall(truth, reference),
            "train_seconds": trained[epochs]["train_seconds"], "wall_seconds": trained[epochs]["wall_seconds"],
            "baselines": {"params": kendall(trained[epochs]["params"], truth),
                          "flops": kendall(trained[epochs]["flops"], truth),
                          "one-epoch training": kendall(trained["one_epoch"], truth)}}
    for name, seeds in rows.items():
        result["rows"][name] = {}
        for epochs in horizons:
            truth = trained[epochs]["acc"].mean(0)
            taus = {s: kendall(score, truth) for s, score in seeds.items()}
            entry = {"tau_mean": float(np.mean(list(taus.values()))),
                     "tau_std": float(np.std(list(taus.values()), ddof=1)) if len(taus) > 1 else 0.0,
                     "seeds": len(taus), "per_seed": taus}
            one_shot = name.replace(name.split(" | ")[0], "one-shot", 1) if " | " in name else None
            if one_shot and one_shot != name and one_shot in rows:
                paired = [taus[s] - kendall(rows[one_shot][s], truth) for s in taus if s in rows[one_shot]]
                entry["delta_vs_one_shot"] = float(np.mean(paired))
            result["rows"][name][epochs] = entry
    return result


def print_summary(result: dict, horizons: list[int]) -> None:
    print("\n" + " " * 66 + "".join(f"{e:>9d} ep" for e in horizons))
    for key, label in (("mean_val_acc", "mean standalone val acc (%)"),):
        print(f"{label:66}" + "".join(f"{result['horizons'][e][key]:12.2f}" for e in horizons))
    print(f"{'ceiling (replicate tau)':66}" + "".join(f"{result['horizons'][e]['ceiling']['replicate_tau']:12.3f}"
                                                       for e in horizons))
    print(f"{'seed-to-seed tau':66}" + "".join(f"{result['horizons'][e]['ceiling']['seed_to_seed_tau']:12.3f}"
                                                for e in horizons))
    for b in ("params", "flops", "one-epoch training"):
        print(f"{'baseline: ' + b:66}" + "".join(f"{result['horizons'][e]['baselines'][b]:12.3f}" for e in horizons))
    for name, per in sorted(result["rows"].items(), key=lambda kv: -kv[1][horizons[-1]]["tau_mean"]):
        cells = "".join(f"{per[e]['tau_mean']:7.3f}" + (f"{per[e]['delta_vs_one_shot']:+5.2f}" if "delta_vs_one_shot"
                                                        in per[e] else " " * 5) for e in horizons)
        print(f"{name[:62]:62} {per[horizons[0]]['seeds']:3d}" + cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", default="8,32", help="ground-truth horizons; the first is the reference")
    parser.add_argument("--gt-seeds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="nasforge-runs/oneshot-study", help="folder of the study's ground_truth.db")
    parser.add_argument("--ranking", default=str(RESULTS / "oneshot_ranking.json"))
    parser.add_argument("--fewshot", default=str(RESULTS / "oneshot_fewshot_split_seeds.json"))
    parser.add_argument("--results", default=str(RESULTS / "oneshot_truth_horizon.json"))
    parser.add_argument("--train-only", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    horizons = [int(e) for e in args.epochs.split(",")]
    cfg = replace(RankingConfig(), gt_seeds=args.gt_seeds, workers=args.workers)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    trained = train_horizons(cfg, horizons, f"sqlite:///{Path(args.out) / 'ground_truth.db'}")
    if args.train_only:
        return
    result = rescore(trained, supernet_scores(Path(args.ranking), Path(args.fewshot), trained["archs"]), horizons)
    result["config"] = {**vars(args), "k": cfg.k, "C": cfg.C, "N": cfg.N, "data": cfg.data}
    write_json(args.results, result)
    print_summary(result, horizons)


if __name__ == "__main__":
    main()
