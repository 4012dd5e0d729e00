"""Search-stage time of a small digits search per (workers, threads per worker), measured interleaved: why
``nasforge search`` defaults to 1 torch thread per worker.

Each round runs ``nasforge search --trials T --retrain 0 --search-epochs 1`` once per setting, in turn, so a
change of the machine's load hits every setting alike; ``search_seconds`` comes from the run's summary.json.
Prints each run, then per setting the median and its ratio to the fastest, with the load average before and after.

    python benchmarks/search_threads.py [--rounds 3] [--trials 4] [--json FILE]

``--json`` also writes the measurements there (e.g. ``benchmarks/results/search_threads.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _results import write_json

SETTINGS = ((1, 2), (1, 1), (2, 1))
"""(workers, threads per worker): the old default on 2 cores, one thread, and the new default on 2 cores."""


def search_seconds(workers: int, threads: int, trials: int, out: Path) -> float:
    """One search's stage-1 seconds as its summary.json records them."""
    cmd = [sys.executable, "-m", "nasforge", "search", "--trials", str(trials), "--retrain", "0",
           "--search-epochs", "1", "--workers", str(workers), "--threads", str(threads), "--seed", "0",
           "--out", str(out), "--no-progress"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return float(json.loads((out / "summary.json").read_text())["search_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="runs per setting, interleaved")
    parser.add_argument("--trials", type=int, default=4, help="search trials per run")
    parser.add_argument("--json", help="also write the measurements as JSON here")
    args = parser.parse_args()

    times: dict[str, list[float]] = {f"{w}x{t}": [] for w, t in SETTINGS}
    result = {"cpus": os.cpu_count(), "trials": args.trials, "rounds": args.rounds, "load_before": os.getloadavg()}
    print(f"{os.cpu_count()} CPUs, load average before {', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for workers, threads in SETTINGS:
                seconds = search_seconds(workers, threads, args.trials, Path(tmp) / f"r{r}_{workers}x{threads}")
                times[f"{workers}x{threads}"].append(seconds)
                print(f"round {r}: workers {workers} threads {threads}: {seconds:.1f} s "
                      f"(load {os.getloadavg()[0]:.1f})", flush=True)
    medians = {k: statistics.median(v) for k, v in times.items()}
    fastest = min(medians.values())
    for key, median in medians.items():
        print(f"workers x threads {key}: median {median:.1f} s, {median / fastest:.2f}x the fastest "
              f"(runs {', '.join(f'{s:.1f}' for s in times[key])})")
    print(f"load average after {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        write_json(args.json, {**result, "seconds": times, "median_ratio_to_fastest":
                               {k: m / fastest for k, m in medians.items()}, "load_after": os.getloadavg()})


if __name__ == "__main__":
    main()
