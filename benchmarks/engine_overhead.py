"""Per-trial overhead of ask + tell + store: nasforge vs Optuna, SQLite and in memory, in one run.

    .venv/bin/python benchmarks/engine_overhead.py [--trials 300] [--json benchmarks/results/engine_overhead.json]
    .venv/bin/python benchmarks/engine_overhead.py --optimize-only [--optimize-trials 2000] [--rounds 5]

No evaluation: each trial is asked, told a value and stored. For SQLite both libraries write a
file in the same temporary directory; after a trial's tell returns, an independent sqlite3
connection confirms (outside the timed section) that the trial is COMPLETE on disk. nasforge uses
WAL with a synced log per commit (``durability="full"``, the default); "normal" is shown too.

The optimize rows time whole in-memory loops in CPU time (``time.process_time``): nasforge's
``Study.optimize(lambda arch: 1.0, n_trials=N, progress=False)`` with random search on NB-201 and Optuna's
``study.optimize`` with a RandomSampler suggesting a categorical per NB-201 edge, alternating the two for
``--rounds`` rounds (medians). ``--optimize-only`` measures just these and keeps the file's other results.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from nasforge.experiment import Study
from nasforge.experiment.storage import get_storage
from nasforge.spaces import get_space

from _results import RESULTS, read_json, write_json

SPACE = get_space("nb201")
PARAMS = SPACE.categorical_params()


def _value(i: int) -> float:
    return float(np.sin(i) * 10 + 50)


def _timed(step, trials: int, path: Path | None, table: str) -> dict:
    """Time ``step(i) -> trial number`` (one ask + tell); every 10th trial, check from a separate
    connection that the told trial is already COMPLETE in ``table`` on disk."""
    times, checked = [], 0
    for i in range(trials):
        start = time.perf_counter()
        number = step(i)
        times.append(time.perf_counter() - start)
        if path is not None and i % 10 == 0:
            with sqlite3.connect(path) as raw:
                state = raw.execute(f"SELECT state FROM {table} WHERE number = ?", (number,)).fetchone()
            checked += state == ("COMPLETE",)
    return {"ms_per_trial": 1e3 * float(np.mean(times)), "durable_checks": checked}


def ours(strategy: str, path: Path | None, trials: int, durability: str = "full") -> dict:
    storage = get_storage(None if path is None else f"sqlite:///{path}", durability=durability)
    study = Study(SPACE, strategy, objectives="acc", seed=0, name="bench", storage=storage)

    def step(i: int) -> int:
        trial = study.ask()
        study.tell(trial, _value(i))
        return trial.number

    return _timed(step, trials, path, "nasforge_trials")


def optuna_run(sampler: str, path: Path | None, trials: int) -> dict:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cls = optuna.samplers.TPESampler if sampler == "tpe" else optuna.samplers.RandomSampler
    study = optuna.create_study(storage=None if path is None else f"sqlite:///{path}", sampler=cls(seed=0),
                                direction="maximize")

    def step(i: int) -> int:
        trial = study.ask()
        for name, choices in PARAMS.items():
            trial.suggest_categorical(name, choices)
        study.tell(trial, _value(i))
        return trial.number

    return _timed(step, trials, path, "trials")


def ours_optimize(trials: int) -> float:
    """CPU seconds of one in-memory ``Study.optimize`` of ``trials`` random NB-201 trials, no-op evaluator."""
    study = Study(SPACE, "random", objectives="acc", seed=0, name="bench")
    start = time.process_time()
    study.optimize(lambda arch: 1.0, n_trials=trials, progress=False)
    return time.process_time() - start


def optuna_optimize(trials: int) -> float:
    """CPU seconds of one in-memory Optuna ``study.optimize`` of ``trials`` RandomSampler trials."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), direction="maximize")

    def objective(trial) -> float:
        for name, choices in PARAMS.items():
            trial.suggest_categorical(name, choices)
        return 1.0

    start = time.process_time()
    study.optimize(objective, n_trials=trials)
    return time.process_time() - start


def optimize_rows(trials: int, rounds: int) -> dict:
    """Both in-memory optimize loops, alternated ``rounds`` times: CPU ms per trial (median, range) and the ratio."""
    SPACE.count_unique()  # the one-off NB-201 canonical table (random search's de-duplication) is not per trial
    ours_optimize(50), optuna_optimize(50)  # nor are the imports
    ours_s, theirs_s = [], []
    for _ in range(rounds):
        ours_s.append(ours_optimize(trials))
        theirs_s.append(optuna_optimize(trials))
    ours_med, theirs_med = float(np.median(ours_s)), float(np.median(theirs_s))
    return {"trials": trials, "rounds": rounds,
            "nasforge cpu ms/trial": {"median": 1e3 * ours_med / trials, "min": 1e3 * min(ours_s) / trials,
                                      "max": 1e3 * max(ours_s) / trials},
            "optuna cpu ms/trial": {"median": 1e3 * theirs_med / trials, "min": 1e3 * min(theirs_s) / trials,
                                    "max": 1e3 * max(theirs_s) / trials},
            "ratio (medians)": ours_med / theirs_med}


def print_optimize(row: dict) -> None:
    """The optimize rows of :func:`optimize_rows`, one line each, and their ratio."""
    for name in ("nasforge", "optuna"):
        ms = row[f"{name} cpu ms/trial"]
        print(f"{name} in-memory optimize: {ms['median']:.4f} ms CPU/trial (range {ms['min']:.4f}-{ms['max']:.4f})")
    print(f"nasforge / optuna in-memory optimize, CPU: {row['ratio (medians)']:.3f}x "
          f"({row['trials']} trials, {row['rounds']} alternating rounds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--json", default=str(RESULTS / "engine_overhead.json"))
    parser.add_argument("--optimize-trials", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--optimize-only", action="store_true", help="only the in-memory optimize rows")
    args = parser.parse_args()
    for option, value in (("--trials", args.trials), ("--optimize-trials", args.optimize_trials),
                          ("--rounds", args.rounds)):
        if value < 1:
            parser.error(f"{option} must be at least 1, got {value}")
    if args.optimize_only:
        stored = read_json(args.json, {})
        stored["optimize_memory"] = optimize_rows(args.optimize_trials, args.rounds)
        print_optimize(stored["optimize_memory"])
        write_json(args.json, stored, indent=2)
        return
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        rows["nasforge random, SQLite"] = ours("random", d / "a.db", args.trials)
        rows["nasforge evolution, SQLite"] = ours("evolution", d / "b.db", args.trials)
        rows["nasforge random, SQLite durability=normal"] = ours("random", d / "c.db", args.trials, "normal")
        rows["optuna RandomSampler, SQLite"] = optuna_run("random", d / "d.db", args.trials)
        rows["optuna TPESampler, SQLite"] = optuna_run("tpe", d / "e.db", args.trials)
        rows["nasforge random, memory"] = ours("random", None, args.trials)
        rows["optuna RandomSampler, memory"] = optuna_run("random", None, args.trials)
        rows["optuna TPESampler, memory"] = optuna_run("tpe", None, args.trials)
    checks = args.trials // 10 + (args.trials % 10 > 0)
    ratios = {
        "nasforge random / optuna random (SQLite)":
            rows["nasforge random, SQLite"]["ms_per_trial"] / rows["optuna RandomSampler, SQLite"]["ms_per_trial"],
        "nasforge evolution / optuna TPE (SQLite)":
            rows["nasforge evolution, SQLite"]["ms_per_trial"] / rows["optuna TPESampler, SQLite"]["ms_per_trial"],
    }
    print(f"{'configuration':45s} {'ms/trial':>9s} {'on disk after tell':>19s}")
    for name, row in rows.items():
        disk = f"{row['durable_checks']}/{checks}" if "SQLite" in name else "-"
        print(f"{name:45s} {row['ms_per_trial']:9.3f} {disk:>19s}")
    for name, ratio in ratios.items():
        print(f"{name}: {ratio:.3f}x (goal <= 0.3x)")
    optimize = optimize_rows(args.optimize_trials, args.rounds)
    print_optimize(optimize)
    write_json(args.json, {"trials": args.trials, "rows": rows, "ratios": ratios,
                           "sqlite_durability_checks": checks, "optimize_memory": optimize}, indent=2)


if __name__ == "__main__":
    main()
