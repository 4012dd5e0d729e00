"""DARTS, GDAS and DARTS-PT on the NB201 space: the derived architecture's standalone accuracy vs the best and
median of the ranking study's K architectures, with and without anti-collapse tricks.

    .venv/bin/python benchmarks/oneshot_derive.py --study nasforge-runs/oneshot-study [--seeds 3] [--epochs 15]
        [--json benchmarks/results/oneshot_derive.json]

Reads the ranking study's ``ranking.json`` (its K architectures' mean standalone validation accuracy) and trains
every derived architecture with the same ground-truth protocol (same data split, C, N, epochs, seeds; the
trainings are stored in the study's ground-truth database, so reruns reuse them). Methods, each with
``--seeds`` search seeds: DARTS (first order), DARTS + tricks (warm-up, SDARTS-RS, DARTS+ early stop), GDAS,
GDAS + tricks (warm-up, path dropout), DARTS-PT on the plain and on the tricked DARTS supernet. The tricks'
warm-up is 5 epochs, so ``--epochs`` must be above 5.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from nasforge.oneshot import OneShotConfig, build_supernet, derive_argmax, perturbation_select, train_supernet
from nasforge.oneshot.study import train_standalone
from nasforge.spaces import get_space

from _results import RESULTS, write_json
from oneshot_gt_reproduce import stored_study

METHODS = {
    "darts": OneShotConfig(method="darts"),
    "darts + tricks": OneShotConfig(method="darts", warmup_epochs=5, sdarts="random", sdarts_epsilon=0.3,
                                    early_stop_skips=3),
    "gdas": OneShotConfig(method="gdas"),
    "gdas + tricks": OneShotConfig(method="gdas", warmup_epochs=5),  # path dropout does not act on GDAS
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="nasforge-runs/oneshot-study", help="folder of a ranking study")
    parser.add_argument("--seeds", type=int, default=3, help="search seeds per method")
    parser.add_argument("--epochs", type=int, default=15, help="supernet epochs")
    parser.add_argument("--json", default=str(RESULTS / "oneshot_derive.json"))
    args = parser.parse_args()
    warmup = max(base.warmup_epochs for base in METHODS.values())
    if args.epochs <= warmup:  # refused, not scaled: the tricked rows keep the warm-up of the stored results
        parser.error(f"--epochs must be above the tricks' {warmup} warm-up epochs, got {args.epochs}")
    torch.set_num_threads(1)
    study, cfg, _, data = stored_study(Path(args.study) / "ranking.json")  # its ground-truth protocol only
    storage = f"sqlite:///{Path(args.study) / 'ground_truth.db'}"
    space = get_space(cfg.space)
    truth = np.array(study["ground_truth"]["acc"]).mean(0)

    def standalone(arch) -> float:
        return float(np.mean([seed[0]["val_acc"] for seed in train_standalone(cfg, [arch], data, storage)]))

    rows = []
    for name, base in METHODS.items():
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            net = build_supernet(space, data.num_classes, data.in_channels, C=cfg.C, N=cfg.N)
            start = time.perf_counter()
            record = train_supernet(net, data, replace(base, epochs=args.epochs, seed=seed),
                                    on_epoch=lambda e, h: print(f"  {name} seed {seed} epoch {e}: {h} "
                                                                f"({time.perf_counter() - start:.0f} s)", flush=True))
            derived = {name: derive_argmax(net)}
            if name.startswith("darts"):
                start = time.perf_counter()
                derived[name.replace("darts", "darts-pt")] = perturbation_select(net, data, seed=seed)[0]
                pt_seconds = time.perf_counter() - start
            for method, arch in derived.items():
                acc = standalone(arch)
                genotype = space.to_params(arch)
                rows.append({"method": method, "seed": seed, "arch": space.format(arch), "standalone_val_acc": acc,
                             "skips": sum(v == "skip_connect" for v in genotype.values()),
                             "nones": sum(v == "none" for v in genotype.values()),
                             "supernet_seconds": record.train_seconds, "stopped_early_at": record.stopped_early_at,
                             "pt_seconds": pt_seconds if "pt" in method else None, "tricks": record.tricks})
                print(f"{method:<18} seed {seed}: {acc:5.1f}%  skips {rows[-1]['skips']} none {rows[-1]['nones']}  "
                      f"{rows[-1]['arch']}", flush=True)
    summary = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        accs = [r["standalone_val_acc"] for r in rows if r["method"] == method]
        summary[method] = {"mean": float(np.mean(accs)), "min": float(np.min(accs)), "max": float(np.max(accs)),
                           "n": len(accs)}
    result = {"k_best": float(truth.max()), "k_median": float(np.median(truth)), "k": len(truth),
              "seeds": args.seeds, "epochs": args.epochs, "rows": rows, "summary": summary,
              "note": "measured on a shared, loaded 2-core machine"}
    print(f"\nK={len(truth)} archs: best {truth.max():.1f}%, median {np.median(truth):.1f}%")
    print("| method | mean | min | max | n |\n|---|---|---|---|---|")
    for method, s in summary.items():
        print(f"| {method} | {s['mean']:.1f} | {s['min']:.1f} | {s['max']:.1f} | {s['n']} |")
    write_json(args.json, result)


if __name__ == "__main__":
    main()
