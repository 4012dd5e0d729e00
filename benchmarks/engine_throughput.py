"""Throughput of the optimize loop with a sleeping evaluator: 1/2/4 process workers and Ray, vs ideal.

    .venv/bin/python benchmarks/engine_throughput.py [--trials 32] [--sleep 0.2] [--no-ray]

Every configuration runs the same study (random search, SQLite storage) with an evaluator that
sleeps ``--sleep`` seconds. "loop" time runs from the first trial's start to the last one's end;
"wall" adds starting the workers. Efficiency = ideal time (trials x sleep / workers) / loop time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from nasforge import Result, Study
from nasforge.spaces import get_space

from _results import RESULTS, read_json, write_json

SPACE = get_space("nb201")


class Sleeper:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def evaluate(self, arch, fidelity=None):
        time.sleep(self.seconds)
        return Result(metrics={"acc": float(len(set(arch.genotype)))}, cost=self.seconds)


def measure(executor: str, workers: int, trials: int, sleep: float, db: Path, options: dict | None = None) -> dict:
    study = Study(SPACE, "random", objectives="acc", seed=0, name=f"{executor}-{workers}", storage=f"sqlite:///{db}")
    start = time.perf_counter()
    study.optimize(Sleeper(sleep), trials, n_workers=workers, executor=executor, executor_options=options)
    wall = time.perf_counter() - start
    loop = max(t.finished_at for t in study.trials) - min(t.started_at for t in study.trials)
    ideal = trials * sleep / workers
    return {"executor": executor, "workers": workers, "trials": len(study.trials), "wall_s": round(wall, 3),
            "loop_s": round(loop, 3), "ideal_s": round(ideal, 3), "efficiency": round(ideal / loop, 3),
            "trials_per_s": round(trials / loop, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--sleep", type=float, default=0.2)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--json", default=str(RESULTS / "engine_throughput.json"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "throughput.db"
        rows.append(measure("inline", 1, args.trials, args.sleep, db))
        for workers in (1, 2, 4):
            rows.append(measure("process", workers, args.trials, args.sleep, db))
        if not args.no_ray:
            import ray

            ray.init(num_cpus=4, include_dashboard=False)  # started here, so that every run finds it warm
            try:
                measure("ray", 4, 8, args.sleep, Path(tmp) / "warmup.db", {})  # start Ray's workers first
                for workers in (2, 4):
                    rows.append(measure("ray", workers, args.trials, args.sleep, db, {}))
            finally:
                ray.shutdown()
    base = rows[1]["loop_s"]
    for row in rows:
        row["speedup_vs_1_process"] = round(base / row["loop_s"], 2)
    header = ("executor", "workers", "loop s", "ideal s", "wall s", "efficiency", "speed-up")
    print(f"{header[0]:8s} " + " ".join(f"{h:>{max(7, len(h))}s}" for h in header[1:]))
    for r in rows:
        print(f"{r['executor']:8s} {r['workers']:7d} {r['loop_s']:7.2f} {r['ideal_s']:7.2f} {r['wall_s']:7.2f} "
              f"{r['efficiency']:10.2f} {r['speedup_vs_1_process']:8.2f}")
    if args.no_ray:  # the stored Ray rows stay, marked as an earlier run's (docs/engine.md quotes them)
        rows += [{**row, "note": row.get("note", "measured in an earlier run (this one ran with --no-ray)")}
                 for row in read_json(args.json, {}).get("rows", []) if row.get("executor") == "ray"]
    write_json(args.json, {"sleep_s": args.sleep, "rows": rows}, indent=2)


if __name__ == "__main__":
    main()
