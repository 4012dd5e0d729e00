"""DARTS and GDAS on the DARTS cell space (small supernet, digits): supernet wall time, derived genotype, and
the derived architecture's standalone accuracy next to that of random architectures of the space.

    .venv/bin/python benchmarks/oneshot_darts_space.py [--data digits] [--seeds 2] [--random 6] [--pt]
        [--json benchmarks/results/oneshot_darts_space.json]

Each method trains ``build_supernet("darts", C=--C, N=1)`` exactly as ``nasforge oneshot train --space darts``
does, derives with DARTS's rule (``derive_argmax``), then trains the derived network standalone
(``DartsNetwork``, C=--standalone-C, N=1, --standalone-epochs epochs, seed 0, ``nasforge.training.Trainer``).
The reference is ``--random`` architectures sampled uniformly from the space, trained the same way.
``--pt`` also derives with DARTS-PT (``perturbation_select``) from every DARTS supernet, selecting on the
architecture half of the training split that supernet trained on (its seed), never on the validation images.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
import torch

from nasforge.models import create_model
from nasforge.oneshot import OneShotConfig, build_supernet, derive_argmax, perturbation_select, train_supernet
from nasforge.oneshot.study import study_data
from nasforge.spaces import get_space
from nasforge.training import TrainConfig, Trainer

from _results import RESULTS, write_json

METHODS = {
    "darts": OneShotConfig(method="darts", epochs=10),
    "darts + tricks": OneShotConfig(method="darts", epochs=10, warmup_epochs=2, sdarts="random",
                                    sdarts_epsilon=0.3, early_stop_skips=4),
    "gdas": OneShotConfig(method="gdas", epochs=30),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--seeds", type=int, default=2, help="search seeds per method")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of the methods")
    parser.add_argument("--C", type=int, default=4, help="supernet base channels")
    parser.add_argument("--random", type=int, default=6, help="random architectures trained as the reference")
    parser.add_argument("--standalone-C", type=int, default=8)
    parser.add_argument("--standalone-epochs", type=int, default=10)
    parser.add_argument("--pt", action="store_true", help="also derive with DARTS-PT from the DARTS supernets")
    parser.add_argument("--json", default=str(RESULTS / "oneshot_darts_space.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = get_space("darts")
    data = study_data(args.data)
    cache: dict[str, dict] = {}

    def standalone(arch) -> dict:
        key = space.format(space.canonical(arch))
        if key not in cache:
            torch.manual_seed(0)
            net = create_model("darts", arch, num_classes=data.num_classes, in_channels=data.in_channels,
                               C=args.standalone_C, N=1)
            result = Trainer(TrainConfig(epochs=args.standalone_epochs, seed=0)).fit(net, data)
            cache[key] = {"val_acc": result.val_acc, "train_seconds": result.train_seconds}
        return cache[key]

    rng = np.random.default_rng(0)
    reference = []
    for i in range(args.random):
        arch = space.sample(rng)
        reference.append({"arch": space.format(arch), **standalone(arch)})
        print(f"random {i}: {reference[-1]['val_acc']:.1f}% ({reference[-1]['train_seconds']:.0f} s)", flush=True)
    rows = []
    for name in args.methods.split(","):
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            net = build_supernet(space, data.num_classes, data.in_channels, C=args.C, N=1)
            record = train_supernet(net, data, replace(METHODS[name], seed=seed))
            derived = {name: (derive_argmax(net), None)}
            if args.pt and name.startswith("darts"):
                start = time.perf_counter()
                arch = perturbation_select(net, data, seed=seed)[0]
                derived[name.replace("darts", "darts-pt")] = (arch, time.perf_counter() - start)
            for method, (arch, pt_seconds) in derived.items():
                params = space.to_params(arch)
                rows.append({"method": method, "seed": seed, "arch": space.format(arch), **standalone(arch),
                             "supernet_seconds": record.train_seconds, "pt_seconds": pt_seconds,
                             "epochs_run": len(record.history), "stopped_early_at": record.stopped_early_at,
                             "tricks": record.tricks, "skips": sum(v == "skip_connect" for v in params.values()),
                             "final_train_loss": record.history[-1]["train_loss"]})
                r = rows[-1]
                print(f"{method} seed {seed}: supernet {r['supernet_seconds']:.0f} s ({r['epochs_run']} epochs), "
                      f"standalone {r['val_acc']:.1f}%, skips {r['skips']}/16\n  {r['arch']}", flush=True)
    ref = np.array([r["val_acc"] for r in reference])
    summary = {m: {"mean": float(np.mean([r["val_acc"] for r in rows if r["method"] == m])),
                   "accs": [r["val_acc"] for r in rows if r["method"] == m],
                   "supernet_seconds": [round(r["supernet_seconds"], 1) for r in rows if r["method"] == m]}
               for m in dict.fromkeys(r["method"] for r in rows)}
    result = {"data": args.data, "C": args.C, "standalone_C": args.standalone_C,
              "standalone_epochs": args.standalone_epochs, "random": reference,
              "random_best": float(ref.max()) if len(ref) else None,
              "random_median": float(np.median(ref)) if len(ref) else None,
              "rows": rows, "summary": summary, "note": "measured on a shared, loaded 2-core machine, 1 thread"}
    print(json.dumps({"random_best": result["random_best"], "random_median": result["random_median"],
                      "summary": summary}, indent=1))
    write_json(args.json, result)


if __name__ == "__main__":
    main()
