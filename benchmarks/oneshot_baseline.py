"""The ranking study's short-training baseline, trained again with its own seed: Kendall tau and Spearman of a
1-epoch standalone training (seed ``BASELINE_SEED``, independent of every ground-truth seed) against a stored
study's ground truth, beside the stored baseline's (older studies trained it with ground-truth seed 0, whose
initial weights and batch order it then shared). Nothing else is trained.

    python benchmarks/oneshot_baseline.py benchmarks/results/oneshot_ranking_s1_wide8_here.json \\
        [--out benchmarks/results/oneshot_baseline_s1.json]
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

from oneshot_gt_reproduce import stored_study

from nasforge.oneshot.study import BASELINE_SEED, kendall, spearman, train_standalone

from _results import write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study_json", help="a ranking study's JSON (config, archs, ground_truth)")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    stored, cfg, archs, data = stored_study(args.study_json)
    truth = np.array(stored["ground_truth"]["acc"]).mean(0)
    with tempfile.TemporaryDirectory() as folder:
        runs = train_standalone(cfg, archs, data, f"sqlite:///{folder}/baseline.db", epochs=cfg.baseline_epochs,
                                seeds=[BASELINE_SEED])[0]
    fresh = np.array([m["val_acc"] for m in runs])
    old = np.array(stored["ground_truth"]["one_epoch_acc"])
    report = {"study": args.study_json, "baseline_seed": BASELINE_SEED, "epochs": cfg.baseline_epochs,
              "tau": kendall(fresh, truth), "spearman": spearman(fresh, truth),
              "stored_seed0_tau": kendall(old, truth), "stored_seed0_spearman": spearman(old, truth),
              "one_epoch_acc": fresh.tolist()}
    print(f"{cfg.baseline_epochs}-epoch baseline, seed {BASELINE_SEED}: tau {report['tau']:+.3f}, spearman "
          f"{report['spearman']:+.3f} (stored, seed 0: tau {report['stored_seed0_tau']:+.3f}, spearman "
          f"{report['stored_seed0_spearman']:+.3f})")
    if args.out:
        write_json(args.out, report)


if __name__ == "__main__":
    main()
