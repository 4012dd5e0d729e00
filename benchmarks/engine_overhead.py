"""Per-trial overhead of ask + tell + store: nasforge vs Optuna, SQLite and in memory, in one run.

    .venv/bin/python benchmarks/engine_overhead.py [--trials 300] [--json benchmarks/results/engine_overhead.json]

No evaluation: each trial is asked, told a value and stored. For SQLite both libraries write a
file in the same temporary directory; after a trial's tell returns, an independent sqlite3
connection confirms (outside the timed section) that the trial is COMPLETE on disk. nasforge uses
WAL with a synced log per commit (``durability="full"``, the default); "normal" is shown too.
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

from _results import RESULTS, write_json

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--json", default=str(RESULTS / "engine_overhead.json"))
    args = parser.parse_args()
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
    write_json(args.json, {"trials": args.trials, "rows": rows, "ratios": ratios,
                           "sqlite_durability_checks": checks}, indent=2)


if __name__ == "__main__":
    main()
