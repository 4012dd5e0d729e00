"""Does a stored ranking study's standalone ground truth reproduce on this machine? Retrains the K
architectures of a ``nasforge oneshot study`` JSON for the chosen ground-truth seeds into a fresh storage
(nothing is reused) and compares them with the stored per-seed accuracies and losses: identical
architectures, largest difference, and Kendall tau between the stored and the new ranking of each seed.
``--out`` keeps the new accuracies and losses too (written before any rescoring). With every ground-truth
seed retrained, ``--rescore`` takes the per-supernet losses that ``benchmarks/oneshot_supernet_settings.py``
stored for this sample and prints each setting's Kendall tau by loss (mean and std over its supernets, and their
ensemble) against both the stored and the new ground truth, beside both ceilings: every figure of one machine.
Bad ``--seeds`` and an unreadable ``--rescore`` file are refused before any training.

    python benchmarks/oneshot_gt_reproduce.py benchmarks/results/oneshot_ranking_s1_wide.json --seeds 0,1,2,3 \
        --rescore benchmarks/results/oneshot_supernet_settings_s1_tricks.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from nasforge.oneshot.study import RankingConfig, ceiling, kendall, study_data, train_standalone
from nasforge.spaces import get_space

from _results import int_list, write_json

PROTOCOL = ("space", "data", "data_dir", "noise", "val_fraction", "test_fraction", "k", "gt_seeds", "gt_epochs",
            "C", "N", "seed", "workers", "threads", "baseline_epochs")


def stored_study(path: str) -> tuple[dict, RankingConfig, list, object]:
    """A stored ranking study's JSON, its ground-truth protocol, its K architectures and its data set."""
    stored = json.loads(Path(path).read_text())
    cfg = RankingConfig(**{k: v for k, v in stored["config"].items() if k in PROTOCOL})
    space = get_space(cfg.space)
    data = study_data(cfg.data, cfg.data_dir, cfg.noise, cfg.val_fraction, cfg.test_fraction, cfg.seed)
    return stored, cfg, [space.parse(a) for a in stored["archs"]], data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study_json", help="a ranking study's JSON (config, archs, ground_truth)")
    parser.add_argument("--seeds", default="0", help="comma-separated ground-truth seeds to retrain")
    parser.add_argument("--out", help="write the comparison as JSON here")
    parser.add_argument("--rescore", help="supernet settings results (oneshot_supernet_settings.py --results) "
                        "to score against both ground truths")
    args = parser.parse_args()
    seeds = int_list(parser, "--seeds", args.seeds)
    stored, cfg, archs, data = stored_study(args.study_json)
    every_seed = ",".join(str(s) for s in range(cfg.gt_seeds))
    if len(set(seeds)) < len(seeds) or not all(0 <= s < cfg.gt_seeds for s in seeds):
        parser.error(f"--seeds must be distinct ground-truth seeds of the study ({every_seed}), got {args.seeds!r}")
    if args.rescore and sorted(seeds) != list(range(cfg.gt_seeds)):
        parser.error(f"--rescore needs every ground-truth seed retrained: --seeds {every_seed}")
    settings_results = read_settings_results(args.rescore) if args.rescore else None
    report = {"study": args.study_json, "seeds": {}}
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            start = time.perf_counter()
            fresh = train_standalone(cfg, archs, data, f"sqlite:///{folder}/gt.db", seeds=[seed])[0]
            acc = np.array([m["val_acc"] for m in fresh])
            loss = np.array([m["val_loss"] for m in fresh])
            old_acc = np.array(stored["ground_truth"]["acc"][seed])
            old_loss = np.array(stored["ground_truth"]["loss"][seed])
            row = {"identical_acc": int((acc == old_acc).sum()), "identical_loss": int((loss == old_loss).sum()),
                   "max_abs_diff_acc": float(np.abs(acc - old_acc).max()),
                   "max_abs_diff_loss": float(np.abs(loss - old_loss).max()),
                   "tau_acc_stored_vs_fresh": kendall(acc, old_acc),
                   "tau_loss_stored_vs_fresh": kendall(-loss, -old_loss),
                   "seconds": time.perf_counter() - start, "acc": acc.tolist(), "loss": loss.tolist()}
            report["seeds"][seed] = row
            print(f"seed {seed}: {row['identical_acc']}/{len(archs)} identical accuracies, {row['identical_loss']} "
                  f"identical losses; largest difference {row['max_abs_diff_acc']:.2f} points, loss "
                  f"{row['max_abs_diff_loss']:.4f}; tau stored vs fresh {row['tau_acc_stored_vs_fresh']:.3f} (acc), "
                  f"{row['tau_loss_stored_vs_fresh']:.3f} (loss); {row['seconds']:.0f} s", flush=True)
    if args.out:  # the retrained accuracies are kept whatever the rescoring does
        write_json(args.out, report)
    if settings_results is not None:
        fresh_acc = np.array([report["seeds"][s]["acc"] for s in range(cfg.gt_seeds)])
        report["rescored"] = rescore(settings_results, np.array(stored["ground_truth"]["acc"]), fresh_acc,
                                     np.array(stored["ground_truth"]["params"]))
        if args.out:
            write_json(args.out, report)


def read_settings_results(path: str) -> dict:
    """The supernet settings results at ``path`` (``oneshot_supernet_settings.py --results``) to rescore; a file
    that is missing or not such results stops the script with one line, before any training."""
    try:
        results = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SystemExit(f"--rescore {path}: cannot read it ({exc})") from None
    if not isinstance(results, dict) or not {"settings", "runs"} <= set(results):
        raise SystemExit(f"--rescore {path}: not the results of oneshot_supernet_settings.py (no settings and runs)")
    return results


def rescore(results: dict, stored_acc: np.ndarray, fresh_acc: np.ndarray, params: np.ndarray) -> dict:
    """Kendall tau by loss of every setting's supernets against the stored and the fresh ground truth (the
    ensemble averages the supernets' losses, as the settings script does; ``ensemble_4``: of seeds 0-3 and of
    4-7), and of the parameter-count baseline."""
    truths = {"stored": stored_acc, "fresh": fresh_acc}
    out = {"ceiling": {k: ceiling(acc)["replicate_tau"] for k, acc in truths.items()},
           "params_tau": {k: kendall(params, acc.mean(0)) for k, acc in truths.items()}, "settings": {}}
    print(f"ceiling (replicate tau): stored {out['ceiling']['stored']:.3f}, fresh {out['ceiling']['fresh']:.3f}; "
          f"stored vs fresh 4-seed means: tau {kendall(stored_acc.mean(0), fresh_acc.mean(0)):.3f}; baseline "
          f"params: stored {out['params_tau']['stored']:.3f}, fresh {out['params_tau']['fresh']:.3f}")
    for name in results["settings"]:
        runs = sorted((r for r in results["runs"] if r["setting"] == name), key=lambda r: r["seed"])
        scores = -np.array([r["loss"] for r in runs])
        row = {"seeds": [r["seed"] for r in runs]}
        for key, acc in truths.items():
            truth = acc.mean(0)
            taus = [kendall(score, truth) for score in scores]
            row[key] = {"tau": float(np.mean(taus)), "std": float(np.std(taus, ddof=1)), "per_seed": taus,
                        "ensemble": kendall(scores.mean(0), truth),
                        "ensemble_4": [kendall(scores[i:i + 4].mean(0), truth) for i in range(0, len(scores) - 3, 4)],
                        "share_of_ceiling": float(np.mean(taus)) / out["ceiling"][key]}
        out["settings"][name] = row
        print(f"{name:<24} {len(runs)} supernets: tau stored {row['stored']['tau']:.3f} +- {row['stored']['std']:.3f} "
              f"(ensemble {row['stored']['ensemble']:.3f}), fresh {row['fresh']['tau']:.3f} +- "
              f"{row['fresh']['std']:.3f} (ensemble {row['fresh']['ensemble']:.3f})")
    return out


if __name__ == "__main__":
    main()
