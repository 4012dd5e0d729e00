"""Does re-estimating BatchNorm statistics before validation (``TrainConfig(bn_mode="recalibrate")``, ``nasforge
search --bn-mode recalibrate``) make 1-epoch validation accuracy rank networks as longer training does?

    nice .venv/bin/python benchmarks/training_bn_recalibration.py [--archs 16] [--seed 1] [--threads 1]
        [--json benchmarks/results/training_bn_recalibration.json]

``--archs`` NAS-Bench-201 networks drawn with ``space.sample(default_rng(seed))`` (the search's own network size,
C=8 N=1, on digits, the default recipe with its crop augmentation) are each trained three times from the same
initial weights: 1 epoch with the running statistics training leaves (``inherited``, the default), 1 epoch with
them re-estimated on the training split before validating (``recalibrate``), and 4 epochs with the default. The
report gives the Kendall tau of each 1-epoch val_acc against the 4-epoch one (the reference ranking), the median
1-epoch val_acc, and what the re-estimation costs: the 1-epoch trainings' total seconds with it over without
(wall clock and process CPU time, which other load on the machine moves less), and the CPU time of one
re-estimation pass alone over that of the whole 1-epoch training it follows (the ratio of totals is within the noise
of trainings this short).
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import time

import numpy as np
import torch
from scipy.stats import kendalltau

from nasforge.data import load_dataset
from nasforge.models import create_model
from nasforge.spaces import get_space
from nasforge.training import TrainConfig, Trainer, recalibrate_batchnorm

from _results import RESULTS, write_json

C, N, LONG = 8, 1, 4


def train(arch, data, epochs: int, bn_mode: str) -> dict[str, float]:
    """One training of ``arch`` from the same initial weights: its val_acc and seconds (wall, CPU); after a default
    1-epoch training also the CPU seconds of one re-estimation pass over the training split, as the Trainer runs it."""
    torch.manual_seed(0)
    model = create_model("nb201", arch, num_classes=data.num_classes, in_channels=data.in_channels, C=C, N=N)
    cpu, wall = time.process_time(), time.perf_counter()
    result = Trainer(TrainConfig(epochs=epochs, bn_mode=bn_mode)).fit(model, data)
    row = {"val_acc": result.val_acc, "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    if epochs == 1 and bn_mode == "inherited":
        cpu, size = time.process_time(), TrainConfig().batch_size
        recalibrate_batchnorm(model, (data.x_train[i:i + size].clone() for i in range(0, len(data.y_train), size)))
        row["pass_cpu_s"] = time.process_time() - cpu
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=str(RESULTS / "training_bn_recalibration.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    space, data = get_space("nb201"), load_dataset("digits")
    rng = np.random.default_rng(args.seed)
    archs = list(dict.fromkeys(space.sample(rng) for _ in range(args.archs)))
    train(archs[0], data, 1, "recalibrate")  # untimed: the process's first training pays torch's warm-up (~1 s)
    rows, load = [], os.getloadavg()
    for i, arch in enumerate(archs, 1):
        modes = ("inherited", "recalibrate")[::1 if i % 2 else -1]  # alternately first: warm-up hits both alike
        row = {"arch": space.format(arch), **{mode: train(arch, data, 1, mode) for mode in modes}}
        row[f"epochs_{LONG}"] = train(arch, data, LONG, "inherited")
        rows.append(row)
        print(f"{i:2d}/{len(archs)} 1 epoch {row['inherited']['val_acc']:5.1f}  recalibrated "
              f"{row['recalibrate']['val_acc']:5.1f} | {LONG} epochs {row[f'epochs_{LONG}']['val_acc']:5.1f}",
              flush=True)
    reference = [r[f"epochs_{LONG}"]["val_acc"] for r in rows]
    summary = {}
    for mode in ("inherited", "recalibrate"):
        accs = [r[mode]["val_acc"] for r in rows]
        tau = kendalltau(accs, reference)
        summary[mode] = {"kendall_tau": float(tau.statistic), "p_value": float(tau.pvalue),
                         "median_val_acc": statistics.median(accs),
                         "wall_s": sum(r[mode]["wall_s"] for r in rows), "cpu_s": sum(r[mode]["cpu_s"] for r in rows)}
        print(f"1 epoch, {mode:11s}: Kendall tau vs {LONG}-epoch val_acc {tau.statistic:.2f} (p {tau.pvalue:.2f}), "
              f"median val_acc {summary[mode]['median_val_acc']:.1f}")
    cost = {k: summary["recalibrate"][k] / summary["inherited"][k] for k in ("wall_s", "cpu_s")}
    cost["pass_cpu_over_1_epoch_cpu"] = sum(r["inherited"]["pass_cpu_s"] for r in rows) / summary["inherited"]["cpu_s"]
    print(f"time with re-estimation / without, 1-epoch trainings: wall {cost['wall_s']:.2f}x, "
          f"CPU {cost['cpu_s']:.2f}x; one re-estimation pass alone: {cost['pass_cpu_over_1_epoch_cpu']:.1%} of the "
          "CPU time of a 1-epoch training")
    report = {"benchmark": "training_bn_recalibration", "date": datetime.date.today().isoformat(),
              "load_average": {"start": load, "end": os.getloadavg()}, "data": "digits",
              "network": f"nb201 C={C} N={N}", "recipe": "TrainConfig defaults (crop augmentation)",
              "reference_epochs": LONG, "seed": args.seed,
              "threads": args.threads, "summary": summary, "time_ratio": cost, "rows": rows}
    write_json(args.json, report, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
