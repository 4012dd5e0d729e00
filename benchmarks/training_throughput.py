"""Training throughput (samples/s): nasforge's Trainer vs a plain hand-written PyTorch loop, in one run.

    .venv/bin/python benchmarks/training_throughput.py [--epochs 3] [--rounds 3] [--threads 1]
        [--json benchmarks/results/training_throughput.json]

Both train the same NAS-Bench-201 network (same seed, same initial weights) on the same digits
tensors with the same recipe: SGD with Nesterov momentum, weight decay, cosine schedule per step,
label smoothing, gradient clipping, no augmentation, and a validation pass after every epoch. The
plain loop is what one would write by hand with no framework. Rounds alternate (ours, plain, ours, plain, ...) so
that load from other processes hits both alike; the table reports the median samples/s of each and their ratio, by
wall clock and by process CPU time (which load from other processes moves far less: under load the wall-clock ratio
measures them). The JSON also records the date and the load average at the start and end. The Trainer's CPU time
covers its whole ``fit`` (its test pass too), its wall clock ``train_seconds``; the plain loop's both cover the loop.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import statistics
import time

import torch
from torch.nn import functional as F

from nasforge.data import load_dataset
from nasforge.models import create_model
from nasforge.spaces import get_space
from nasforge.training import TrainConfig, Trainer

from _results import RESULTS, write_json

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"


def make_model(C: int, N: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("nb201", get_space("nb201").parse(ARCH), num_classes=10, in_channels=1, C=C, N=N)


def plain_loop(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor,
               cfg: TrainConfig) -> float:
    """A hand-written loop with the same recipe; returns the training seconds (wall clock)."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    rest = [p for p in model.parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0}],
                          lr=cfg.lr, momentum=cfg.momentum, nesterov=True)
    steps = cfg.epochs * math.ceil(len(y) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = torch.Generator().manual_seed(0)
    n = len(y)
    start = time.perf_counter()
    for _ in range(cfg.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx], label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            (model(x_val).argmax(1) == y_val).float().mean().item()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=str(RESULTS / "training_throughput.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset("digits")
    cfg = TrainConfig(epochs=args.epochs, batch_size=64, augment=False)
    settings = [("search net C=8 N=1", 8, 1), ("final net C=16 N=4", 16, 4)]
    samples = cfg.epochs * len(data.y_train)
    rows, load = [], os.getloadavg()
    for label, C, N in settings:
        ours, plain, ours_cpu, plain_cpu = [], [], [], []
        for _ in range(args.rounds):
            cpu = time.process_time()
            result = Trainer(cfg).fit(make_model(C, N), data)
            ours_cpu.append(time.process_time() - cpu)
            ours.append(samples / result.train_seconds)
            cpu = time.process_time()
            seconds = plain_loop(make_model(C, N), data.x_train, data.y_train, data.x_val, data.y_val, cfg)
            plain_cpu.append(time.process_time() - cpu)
            plain.append(samples / seconds)
        row = {"setting": label, "ours_samples_per_s": statistics.median(ours),
               "plain_samples_per_s": statistics.median(plain), "ours_all": ours, "plain_all": plain,
               "ours_cpu_s_all": ours_cpu, "plain_cpu_s_all": plain_cpu}
        row["ratio"] = row["ours_samples_per_s"] / row["plain_samples_per_s"]
        row["cpu_ratio"] = statistics.median(plain_cpu) / statistics.median(ours_cpu)  # > 1: ours uses less CPU
        rows.append(row)
        print(f"{label:22s} ours {row['ours_samples_per_s']:8.0f} samples/s   plain loop "
              f"{row['plain_samples_per_s']:8.0f} samples/s   ratio {row['ratio']:.3f} (wall clock), "
              f"{row['cpu_ratio']:.3f} (CPU time)", flush=True)
    report = {"benchmark": "training_throughput", "date": datetime.date.today().isoformat(),
              "load_average": {"start": load, "end": os.getloadavg()}, "arch": ARCH,
              "data": "digits (1,079 training images, 8x8)", "epochs": args.epochs, "rounds": args.rounds,
              "threads": args.threads, "batch_size": cfg.batch_size, "rows": rows}
    write_json(args.json, report, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
