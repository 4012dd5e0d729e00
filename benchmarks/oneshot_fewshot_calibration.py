"""Does few-shot rank better once its parts are put on a common scale? An offline check on a stored ranking
study (``nasforge oneshot study`` JSON with per-seed scores), no training.

Few-shot splits the supernet on ``edge_0_3`` into one part per operation; inside a part it ranks better
than one-shot, across parts worse. Here each part's few-shot scores are shifted so that their mean is the
mean of the same architectures' one-shot (or parent) scores: the parts' order comes from the single
supernet, the order inside a part from few-shot. Kendall tau with the ground truth, per supernet seed.

    python benchmarks/oneshot_fewshot_calibration.py benchmarks/results/oneshot_ranking_s1_wide8.json
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.stats import kendalltau

ONE_SHOT, PARENT, FEW_SHOT = "SPOS + BN recalibration", "few-shot's parent (75 ep) + recal", "few-shot + recal"


def op_on_edge_0_3(arch: str) -> str:
    """The operation of edge 0 -> 3 in an NB201 string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
    return arch.split("+")[2].strip("|").split("|")[0].split("~")[0]


def calibrated(scores: np.ndarray, reference: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """``scores`` shifted per part to the part's mean ``reference`` score."""
    out = scores.copy()
    for part in set(parts):
        inside = parts == part
        out[inside] += reference[inside].mean() - scores[inside].mean()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study_json", help="a ranking study's JSON (with seed_scores)")
    args = parser.parse_args()
    study = json.load(open(args.study_json))
    truth = np.asarray(study["ground_truth"]["acc"], dtype=float).mean(0)  # the mean over ground-truth seeds
    parts = np.array([op_on_edge_0_3(a) for a in study["archs"]], dtype=object)
    seeds = study["seed_scores"][ONE_SHOT]
    names = ("one-shot", "parent", "few-shot", "few-shot, parts on one-shot's scale",
             "few-shot, parts on the parent's scale")
    rows: dict[str, list[float]] = {name: [] for name in names}
    for seed in seeds:
        one, parent, few = (np.asarray(study["seed_scores"][name][seed], dtype=float)
                            for name in (ONE_SHOT, PARENT, FEW_SHOT))
        for name, scores in zip(names, (one, parent, few, calibrated(few, one, parts), calibrated(few, parent, parts))):
            rows[name].append(kendalltau(scores, truth)[0])
    print(f"{args.study_json}: K={len(truth)}, {len(seeds)} supernet seeds, parts "
          f"{dict(sorted((str(p), int((parts == p).sum())) for p in set(parts)))}")
    for name, taus in rows.items():
        print(f"{name:40s} tau {np.mean(taus):+.3f} ± {np.std(taus, ddof=1):.3f}   per seed "
              + " ".join(f"{t:.2f}" for t in taus))


if __name__ == "__main__":
    main()
