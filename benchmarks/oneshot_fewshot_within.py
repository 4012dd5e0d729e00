"""Where few-shot NAS loses to one-shot: within a split part, or across parts? Trains nothing.

    .venv/bin/python benchmarks/oneshot_fewshot_within.py [RANKING_JSON ... --out FILE]

Few-shot NAS is meant to help by reducing weight-sharing interference: each sub-supernet only trains the
architectures of its part, so it should rank the architectures *within* its part better than the one-shot
supernet does, while scores of different parts come from different networks and may be offset. This script reads
the per-seed scores that ``nasforge oneshot study`` (or ``benchmarks/oneshot_ranking.py``) stored and, per supernet
seed, splits the Kendall tau against the ground truth (mean standalone validation accuracy) into:

- ``within``: the tau inside each part (the architectures sharing the split decisions' options; parts with at
  least 4 architectures), averaged over parts, for one-shot and few-shot (both with BN recalibration);
- ``anchored``: few-shot scores shifted so that each part's mean equals the one-shot supernet's mean on that part
  (one-shot compares the parts, few-shot ranks inside them), and its tau over all K.

Default inputs are the stored digits-hard, second-sample and MNIST-8x8 studies, whose analysis it writes to
``benchmarks/results/oneshot_fewshot_within.json``; other inputs need ``--out`` (the stored analysis of the seven
studies is never replaced by another set's).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from nasforge.oneshot.study import kendall
from nasforge.spaces import get_space

from _results import RESULTS, write_json

DEFAULT_INPUTS = ["oneshot_ranking_default_here41.json", "oneshot_ranking_wide.json",
                  "oneshot_ranking_s1_wide8_here.json", "oneshot_ranking_wide_fewshot.json",
                  "oneshot_ranking_mnist8.json", "oneshot_ranking_mnist8_s23.json", "oneshot_ranking_mnist8_paper.json"]
ONE_SHOT_ROW = "SPOS + BN recalibration"
FEW_SHOT_ROW = "few-shot + recal"
MIN_PART = 4


def parts_of(result: dict) -> np.ndarray:
    """Each architecture's part: the options its genotype takes on the study's split decisions."""
    space = get_space(result["config"]["space"])
    split_on = result["config"]["split_on"]
    keys = [tuple(space.to_params(space.parse(text))[name] for name in split_on) for text in result["archs"]]
    index = {key: i for i, key in enumerate(sorted(set(keys)))}
    return np.array([index[key] for key in keys])


def decompose(one_shot: np.ndarray, few_shot: np.ndarray, truth: np.ndarray, parts: np.ndarray) -> dict:
    """One seed's overall, within-part and part-anchored Kendall taus."""
    anchored = few_shot.copy()
    within_one, within_few = [], []
    for part in np.unique(parts):
        members = parts == part
        anchored[members] += one_shot[members].mean() - few_shot[members].mean()
        if members.sum() >= MIN_PART:
            within_one.append(kendall(one_shot[members], truth[members]))
            within_few.append(kendall(few_shot[members], truth[members]))
    return {"one_shot": kendall(one_shot, truth), "few_shot": kendall(few_shot, truth),
            "anchored": kendall(anchored, truth), "within_one_shot": float(np.mean(within_one)),
            "within_few_shot": float(np.mean(within_few)), "parts_scored": len(within_one)}


def analyse(path: Path) -> dict:
    result = json.loads(path.read_text())
    truth = np.asarray(result["ground_truth"]["acc"], dtype=float).mean(axis=0)
    parts = parts_of(result)
    one_shot, few_shot = result["seed_scores"][ONE_SHOT_ROW], result["seed_scores"][FEW_SHOT_ROW]
    seeds = {seed: decompose(np.asarray(one_shot[seed]), np.asarray(few_shot[seed]), truth, parts)
             for seed in one_shot if seed in few_shot}
    keys = ["one_shot", "few_shot", "anchored", "within_one_shot", "within_few_shot"]
    return {"file": path.name, "split_on": result["config"]["split_on"], "k": len(truth),
            "parts": int(len(np.unique(parts))), "seeds": seeds,
            "mean": {key: float(np.mean([s[key] for s in seeds.values()])) for key in keys}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", type=Path, default=[RESULTS / name for name in DEFAULT_INPUTS])
    parser.add_argument("--out", type=Path, help="where to write the analysis (needed for other inputs)")
    args = parser.parse_args()
    if args.out is None and [p.resolve() for p in args.inputs] != [(RESULTS / n).resolve() for n in DEFAULT_INPUTS]:
        parser.error("other inputs than the stored studies need --out FILE (the stored analysis is kept)")
    studies = [analyse(path) for path in args.inputs]
    print(f"{'study':42} {'seeds':>5} {'one-shot':>8} {'few-shot':>8} {'anchored':>8} {'within 1':>8} {'within f':>8}")
    for study in studies:
        m = study["mean"]
        print(f"{study['file']:42} {len(study['seeds']):5d} {m['one_shot']:8.3f} {m['few_shot']:8.3f} "
              f"{m['anchored']:8.3f} {m['within_one_shot']:8.3f} {m['within_few_shot']:8.3f}")
    write_json(args.out or RESULTS / "oneshot_fewshot_within.json", {"studies": studies})


if __name__ == "__main__":
    main()
