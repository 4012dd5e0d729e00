"""Wall time of the main job (``nasforge search`` with its defaults) and its speed-up with 2 workers vs 1.

    .venv/bin/python benchmarks/training_mainjob.py [--runs 2 1:1 1] [--extra ARGS]
        [--json benchmarks/results/training_mainjob.json]

A run is ``WORKERS`` or ``WORKERS:THREADS`` (torch threads per worker; default cores // workers).

Each run is a fresh ``nasforge search`` process writing to a temporary folder; the first run's
Pareto front, summary and plot are kept under ``benchmarks/results/`` (``training_mainjob_front.json``,
``training_mainjob_pareto.png``). The machine's load averages are recorded before and after each run,
since other processes on the machine slow it down.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path("benchmarks/results")


def run_job(workers: int, threads: int | None, extra: list[str], out: Path) -> dict:
    cmd = [str(Path(sys.executable).parent / "nasforge"), "search", "--workers", str(workers), "--out", str(out),
           *(["--threads", str(threads)] if threads else []), *extra]
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    return {"workers": workers, "threads_per_worker": summary["threads_per_worker"], "wall_seconds": wall, "search_seconds": summary["search_seconds"],
            "retrain_seconds": summary["total_seconds"] - summary["search_seconds"],
            "best_test_acc": summary.get("best_test_acc"), "retrained_param_range": summary.get("retrained_param_range"),
            "front_size": summary["front_size"], "hypervolume": summary["hypervolume"],
            "load_before": load_before, "load_after": os.getloadavg(), "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=["2", "1:1", "1"], help="WORKERS or WORKERS:THREADS")
    parser.add_argument("--extra", default="", help="more nasforge search arguments, e.g. '--trials 40'")
    parser.add_argument("--json", default=str(RESULTS / "training_mainjob.json"))
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, spec in enumerate(args.runs):
            workers, _, threads = spec.partition(":")
            out = Path(tmp) / f"run{i}"
            run = run_job(int(workers), int(threads) if threads else None, shlex.split(args.extra), out)
            print(f"{run['workers']} worker(s) x {run['threads_per_worker']} thread(s): wall {run['wall_seconds']:6.1f} s (search {run['search_seconds']:.1f} s, "
                  f"retrain {run['retrain_seconds']:.1f} s); best test {run['best_test_acc']:.2f}%, "
                  f"front {run['front_size']}, params range {run['retrained_param_range']:.1f}x; "
                  f"load {run['load_before'][0]:.2f} -> {run['load_after'][0]:.2f}", flush=True)
            if i == 0:
                RESULTS.mkdir(parents=True, exist_ok=True)
                shutil.copy(out / "pareto.png", RESULTS / "training_mainjob_pareto.png")
                (RESULTS / "training_mainjob_front.json").write_text(json.dumps(run["summary"]["front"], indent=2))
            run.pop("summary")
            runs.append(run)
    report = {"benchmark": "training_mainjob", "cpu_count": os.cpu_count(), "extra_args": args.extra, "runs": runs}
    two = next((r for r in runs if r["workers"] == 2), None)
    for one in (r for r in runs if r["workers"] == 1 and two is not None):
        key = f"speedup_2w_vs_1w_{one['threads_per_worker']}t"
        report[key] = {"total": one["wall_seconds"] / two["wall_seconds"],
                       "search": one["search_seconds"] / two["search_seconds"]}
        print(f"speed-up 2 workers vs 1 worker x {one['threads_per_worker']} thread(s): total "
              f"{report[key]['total']:.2f}x, search stage {report[key]['search']:.2f}x")
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
