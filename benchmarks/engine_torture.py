"""kill -9 torture test: SIGKILL a running study at random moments, resume it, check the invariants.

    python benchmarks/engine_torture.py --runs 5 --kills 6 --trials 40 --json benchmarks/results/engine_torture.json
    python benchmarks/engine_torture.py --runs 5 --kills 6 --trials 40 --storage postgresql+psycopg://...

Each round starts a fresh process that creates or resumes the study, waits until it has made
progress, and kills its whole process group (driver and workers) with SIGKILL after a random
delay. A last round runs to the end. Checked: no trial seen COMPLETE is ever lost or changed,
no trial number or architecture is used twice, every proposal finished, and with one worker the
trial sequence equals an uninterrupted run with the same seed. ``--runs N`` repeats the whole
torture with seeds seed..seed+N-1 on fresh storage and sums the counts.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nasforge import Result, Study
from nasforge.experiment import TrialState
from nasforge.spaces import get_space

from _results import write_json

SPACE = get_space("nb201")
NAME = "torture"


class SleepyToy:
    """Deterministic toy metrics after a short sleep."""

    def __init__(self, sleep: float) -> None:
        self.sleep = sleep

    def evaluate(self, arch, fidelity=None):
        time.sleep(self.sleep)
        convs = sum(op.startswith("nor_conv") for op in arch.genotype)
        tie = sum(i * len(op) for i, op in enumerate(arch.genotype)) / 100.0
        return Result(metrics={"acc": 50.0 + 5 * convs + tie})


def run_once(args: argparse.Namespace) -> None:
    """One round: create or resume the study and optimize it to its total."""
    evaluator = SleepyToy(args.sleep)
    # kills of the whole run are not the trials' fault: let every killed trial be re-run
    options = dict(n_workers=args.workers, executor=args.executor, heartbeat_interval=0.5,
                   max_crash_reruns=args.kills + 1)
    try:
        study = Study.load(NAME, args.storage)
    except KeyError:
        study = Study(SPACE, "evolution", objectives="acc", seed=args.seed, name=NAME, storage=args.storage,
                      load_if_exists=True, population_size=10)
    if study.run_config:
        study.resume(evaluator, **options)
    else:
        study.optimize(evaluator, args.trials, **options)


def snapshot(storage: str) -> dict[int, tuple[str, str, dict]]:
    """Finished trials on disk: number -> (state, arch, metrics)."""
    try:
        study = Study.load(NAME, storage)
    except KeyError:
        return {}
    return {t.number: (t.state.value, SPACE.format(t.arch), t.metrics) for t in study.trials if t.done}


def torture(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    command = [sys.executable, __file__, "--run-once", "--storage", args.storage, "--trials", str(args.trials),
               "--workers", str(args.workers), "--executor", args.executor, "--sleep", str(args.sleep),
               "--seed", str(args.seed), "--kills", str(args.kills)]
    seen: dict[int, tuple[str, str, dict]] = {}
    lost = kills = 0
    start = time.perf_counter()
    for _ in range(args.kills):
        before = len(snapshot(args.storage))
        proc = subprocess.Popen(command, start_new_session=True)
        while proc.poll() is None and len(snapshot(args.storage)) <= before:
            time.sleep(0.05)
        if proc.poll() is not None:  # finished before we could kill it
            break
        time.sleep(float(rng.uniform(0.0, args.max_delay)))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        now = snapshot(args.storage)
        lost += sum(1 for n, record in seen.items() if now.get(n) != record)
        seen.update(now)
    subprocess.run(command, check=True)
    final = Study.load(NAME, args.storage)
    now = snapshot(args.storage)
    lost += sum(1 for n, record in seen.items() if now.get(n) != record)
    proposals = [t for t in final.trials if t.is_proposal]
    keys = [SPACE.canonical_key(t.arch) for t in proposals]
    numbers = [t.number for t in final.trials]
    result = {
        "kills": kills, "trials": len(final.trials), "proposals": len(proposals), "target": args.trials,
        "lost": lost, "duplicates": (len(keys) - len(set(keys))) + (len(numbers) - len(set(numbers))),
        "unfinished": sum(not t.done for t in final.trials),
        "rerun_after_kill": sum(t.attempts > 1 for t in final.trials),
        "complete": sum(t.state == TrialState.COMPLETE for t in final.trials),
        "workers": args.workers, "executor": args.executor, "seconds": round(time.perf_counter() - start, 1)}
    if args.workers == 1:
        reference = Study(SPACE, "evolution", objectives="acc", seed=args.seed, population_size=10)
        reference.optimize(SleepyToy(0.0), args.trials)
        result["exact_sequence"] = [t.arch for t in reference.trials] == [t.arch for t in final.trials]
    return result


def _forget(storage: str) -> None:
    """Start from a fresh study (a PostgreSQL database or SQLite file may hold one from a run before)."""
    from nasforge.experiment import get_storage

    store = get_storage(storage)
    if NAME in {s.name for s in store.list_studies()}:
        store.delete_study(NAME)
    store.close()


def _summary(runs: list[dict]) -> dict:
    sums = {k: sum(r[k] for r in runs) for k in ("kills", "lost", "duplicates", "unfinished", "rerun_after_kill")}
    exact = [r["exact_sequence"] for r in runs if "exact_sequence" in r]
    return {"runs": len(runs), **sums, "proposals": min(r["proposals"] for r in runs), "target": runs[0]["target"],
            "identical_sequence_runs": sum(exact) if exact else None, "exact_sequence": all(exact) if exact else None,
            "seconds": round(sum(r["seconds"] for r in runs), 1), "per_run": runs}


def _runs(args: argparse.Namespace, scratch: Path) -> list[dict]:
    """The ``--runs`` tortures, each on fresh storage: ``--storage`` without the study, else a new SQLite file in
    ``scratch``."""
    runs, given, first_seed = [], args.storage, args.seed
    for i in range(args.runs):
        args.seed = first_seed + i
        args.storage = given or f"sqlite:///{scratch / f'torture-{i}.db'}"
        _forget(args.storage)
        runs.append(torture(args))
        print(" | ".join(f"{k} {v}" for k, v in runs[-1].items()), flush=True)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default=None,
                        help="storage URL (default: a fresh SQLite file in a private temporary folder, removed at "
                             "the end)")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--trials", type=int, default=80)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--executor", default="inline", choices=["inline", "process"])
    parser.add_argument("--sleep", type=float, default=0.05, help="seconds per evaluation")
    parser.add_argument("--max-delay", type=float, default=0.3, help="longest random wait before a kill")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=1, help="repeat the torture on fresh storage")
    parser.add_argument("--json", help="write the result here")
    parser.add_argument("--run-once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_once:
        run_once(args)
        return
    with tempfile.TemporaryDirectory(prefix="nasforge-torture-") as scratch:  # mode 0700: no other user's files
        runs = _runs(args, Path(scratch))
    result = runs[0] if len(runs) == 1 else _summary(runs)
    if len(runs) > 1:
        print("total: " + " | ".join(f"{k} {v}" for k, v in result.items() if k != "runs"))
    if args.json:
        write_json(args.json, result, indent=2)


if __name__ == "__main__":
    main()
