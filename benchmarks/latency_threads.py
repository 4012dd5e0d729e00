"""Batch-1 CPU latency of one NB201 network (C=16, N=4, digits' 8x8 input) on 1 and 2 torch threads, alone
and beside busy processes: why ``measure_latency`` measures on one thread by default.

Per thread count: the median latency (``measure_latency``, 20 passes after 10 warm-up) of each of
``--rounds`` measurements and the wall time each measurement took (its 30 passes; outliers show there,
not in the median).

    python benchmarks/latency_threads.py [--busy 2] [--rounds 4] [--json FILE]

``--json`` also writes the measurements there (e.g. ``benchmarks/results/latency_threads.json``).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time

from _results import write_json

ARCH = "|avg_pool_3x3~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def _burn(seconds: float) -> None:
    """A busy torch process (two threads of matrix products), as a training worker beside the measurement."""
    import torch

    torch.set_num_threads(2)
    a = torch.randn(256, 256)
    end = time.time() + seconds
    while time.time() < end:
        a = torch.tanh(a @ a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--busy", type=int, default=2, help="busy torch processes beside the measurement")
    parser.add_argument("--rounds", type=int, default=4, help="measurements per thread count")
    parser.add_argument("--json", help="also write the measurements as JSON here")
    args = parser.parse_args()

    from nasforge import get_space
    from nasforge.models import create_model
    from nasforge.training import measure_latency

    model = create_model("nb201", get_space("nb201").parse(ARCH), num_classes=10, in_channels=1, C=16, N=4)
    burners = [mp.get_context("spawn").Process(target=_burn, args=(600.0,), daemon=True) for _ in range(args.busy)]
    for p in burners:
        p.start()
    time.sleep(3.0 if burners else 0.0)  # let them import torch and get busy
    result: dict = {"arch": ARCH, "busy": args.busy, "rounds": args.rounds, "threads": {},
                    "load_before": os.getloadavg()}
    try:
        for threads in (1, 2):
            medians, walls = [], []
            for _ in range(args.rounds):
                start = time.perf_counter()
                medians.append(measure_latency(model, (1, 8, 8), threads=threads))
                walls.append(time.perf_counter() - start)
            result["threads"][str(threads)] = {"median_latency_ms": medians, "measurement_seconds": walls}
            print(f"{threads} thread(s), {args.busy} busy processes: median latency "
                  f"{', '.join(f'{m:.2f}' for m in medians)} ms; each measurement took "
                  f"{', '.join(f'{w:.2f}' for w in walls)} s", flush=True)
    finally:
        for p in burners:
            p.terminate()
    if args.json:
        write_json(args.json, {**result, "load_after": os.getloadavg()})


if __name__ == "__main__":
    main()
