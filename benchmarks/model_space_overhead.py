"""Cost of building a network from a model space vs writing the same network by hand.

    .venv/bin/python benchmarks/model_space_overhead.py [--archs 12] [--repeats 30]
        [--json benchmarks/results/model_space_overhead.json]

The space is the digits CNN of ``examples/digits_cnn.py`` (4 decisions). For each of ``--archs``
sampled architectures, ``space.build(arch)`` and a hand-written plain module with the same layers
(``PlainDigitsCNN`` below: no choice primitives) are constructed ``--repeats`` times, alternating
(and swapping which goes first) so that load from other processes and allocator effects hit both
alike; the medians are compared with the time of one training epoch of that network on digits
(nasforge's Trainer, one thread). Also reported: creating the space itself (discovery, the
every-candidate dummy forward and the check of every ValueChoice value), a one-off cost per process.
Goal: build overhead under 10% of one epoch.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

from _results import CHECKOUT, RESULTS, write_json


def load_example():
    spec = importlib.util.spec_from_file_location("digits_cnn_example", CHECKOUT / "examples" / "digits_cnn.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class PlainDigitsCNN(nn.Module):
    """``DigitsCNN`` written by hand for one architecture: no choice primitives, the same layers."""

    def __init__(self, conv_bn, width: int, stem: str, depth: int, pool: str, num_classes: int = 10,
                 in_channels: int = 1) -> None:
        super().__init__()
        if stem == "sep3":
            self.stem = nn.Sequential(conv_bn(in_channels, in_channels, 3, groups=in_channels),
                                      conv_bn(in_channels, width, 1))
        else:
            self.stem = conv_bn(in_channels, width, 5 if stem == "conv5" else 3)
        self.blocks = nn.Sequential(*(conv_bn(width, width, 3) for _ in range(depth)))
        self.pool = nn.AvgPool2d(2) if pool == "avg" else nn.MaxPool2d(2)
        self.head = nn.Sequential(conv_bn(width, 2 * width, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(2 * width, num_classes))

    def forward(self, x):
        return self.head(self.pool(self.blocks(self.stem(x))))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=str(RESULTS / "model_space_overhead.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    from nasforge.data import load_dataset
    from nasforge.spaces.model_space import ModelSpace
    from nasforge.training import TrainConfig, Trainer, count_params

    example = load_example()
    load_before = os.getloadavg()
    creation = [timed(lambda: ModelSpace(example.DigitsCNN, input_shape=(1, 8, 8))) for _ in range(5)]
    space = ModelSpace(example.DigitsCNN, input_shape=(1, 8, 8))
    data = load_dataset("digits")
    rng = np.random.default_rng(args.seed)
    rows = []
    for arch in [space.sample(rng) for _ in range(args.archs)]:
        choice = space.to_params(arch)
        plain_args = (example.conv_bn, int(choice["width"]), choice["stem"], int(choice["depth"]), choice["pool"])
        assert count_params(space.build(arch)) == count_params(PlainDigitsCNN(*plain_args)), space.format(arch)
        built, plain = [], []
        for i in range(args.repeats):  # alternate, and swap which goes first (allocator effects hit both alike)
            pair = [(built, lambda: space.build(arch)), (plain, lambda: PlainDigitsCNN(*plain_args))]
            for times, make in (pair if i % 2 == 0 else pair[::-1]):
                times.append(timed(make))
        torch.manual_seed(0)
        epoch = Trainer(TrainConfig(epochs=1, seed=0)).fit(space.build(arch), data).train_seconds
        b, p = statistics.median(built), statistics.median(plain)
        rows.append({"arch": space.format(arch), "params": count_params(space.build(arch)), "build_ms": 1e3 * b,
                     "plain_ms": 1e3 * p, "overhead_ms": 1e3 * (b - p), "epoch_s": epoch,
                     "overhead_pct_of_epoch": 100 * (b - p) / epoch, "build_pct_of_epoch": 100 * b / epoch})
    load_after = os.getloadavg()

    print(f"{'architecture':<42} {'params':>8} {'build ms':>9} {'plain ms':>9} {'epoch s':>8} {'overhead':>9}")
    for r in rows:
        print(f"{r['arch']:<42} {r['params']:>8,d} {r['build_ms']:>9.2f} {r['plain_ms']:>9.2f} {r['epoch_s']:>8.2f} "
              f"{r['overhead_pct_of_epoch']:>8.2f}%")
    worst = max(rows, key=lambda r: r["overhead_pct_of_epoch"])
    summary = {
        "space_creation_ms_median": 1e3 * statistics.median(creation),
        "build_ms_median": statistics.median(r["build_ms"] for r in rows),
        "plain_ms_median": statistics.median(r["plain_ms"] for r in rows),
        "build_over_plain_median": statistics.median(r["build_ms"] / r["plain_ms"] for r in rows),
        "overhead_pct_of_epoch_median": statistics.median(r["overhead_pct_of_epoch"] for r in rows),
        "overhead_pct_of_epoch_max": worst["overhead_pct_of_epoch"],
        "epoch_s_median": statistics.median(r["epoch_s"] for r in rows),
        "goal_pct_of_epoch": 10.0,
    }
    print(f"space creation (once per process): {summary['space_creation_ms_median']:.1f} ms; build vs plain "
          f"(median): {summary['build_ms_median']:.2f} vs {summary['plain_ms_median']:.2f} ms "
          f"({summary['build_over_plain_median']:.2f}x); overhead {summary['overhead_pct_of_epoch_median']:.2f}% "
          f"of one epoch (max {summary['overhead_pct_of_epoch_max']:.2f}%; goal < 10%)")
    result = {"benchmark": "model_space_overhead", "archs": args.archs, "repeats": args.repeats, "threads": 1,
              "loadavg_before": load_before, "loadavg_after": load_after, "cpu_count": os.cpu_count(),
              "summary": summary, "rows": rows}
    write_json(args.json, result, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
