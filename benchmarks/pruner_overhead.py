"""What a pruner costs per trial as a study grows: nasforge's median, asha and curve pruners vs Optuna's
MedianPruner, in one run.

    .venv/bin/python benchmarks/pruner_overhead.py [--trials 1500] [--out benchmarks/results/pruner_overhead.json]

Each trial is a NAS-Bench-201 table lookup that reports 5 intermediate values (a curve rising to its validation
accuracy), so the engine's and the pruner's own work is what is measured. Prints the process CPU milliseconds per
trial in each quarter of the run (a cost that grows from quarter to quarter grows with the number of trials) for
nasforge (random search, in memory) and for Optuna (RandomSampler, in memory, ``trial.report`` and
``should_prune`` at each step), and writes them to ``--out``.
"""

from __future__ import annotations

import argparse
import gc
import time
from datetime import date

from _results import RESULTS, write_json

from nasforge import Result, Study
from nasforge.benchmarks import load_nb201

STEPS = 5
PRUNERS = {"median": "median", "asha": {"name": "asha", "max_resource": STEPS}, "curve": "curve"}


def _quarters(stamps: list[float]) -> list[float]:
    """CPU milliseconds per trial in each quarter of the trials timed by ``stamps`` (one per finished trial)."""
    k = (len(stamps) - 1) // 4
    edges = stamps[0::k][:5]
    return [round(1e3 * (b - a) / k, 3) for a, b in zip(edges, edges[1:])]


def ours(table, pruner, trials: int) -> list[float]:
    """Per-quarter CPU ms per trial of a nasforge study with ``pruner``."""

    class Curve:
        def evaluate(self, arch, fidelity=None, reporter=None):
            value = table.query(arch)["val_acc"]
            for step in range(1, STEPS + 1):
                reporter.report(step, value * step / STEPS)
            return Result(metrics={"val_acc": value})

    study = Study(table.space, "random", objectives="val_acc", seed=0, dedup=False)
    gc.collect()
    stamps = [time.process_time()]
    study.optimize(Curve(), n_trials=trials, pruner=pruner, progress=False,
                   callbacks=[lambda *_: stamps.append(time.process_time())])
    return _quarters(stamps)


def optuna_median(table, trials: int) -> list[float]:
    """Per-quarter CPU ms per trial of an Optuna study with its MedianPruner on the same lookups."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    archs = list(table.space.enumerate()) if hasattr(table.space, "enumerate") else None
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0),
                                pruner=optuna.pruners.MedianPruner())

    def objective(trial):
        arch = archs[trial.suggest_int("i", 0, len(archs) - 1)]
        value = table.query(arch)["val_acc"]
        for step in range(1, STEPS + 1):
            trial.report(value * step / STEPS, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    gc.collect()
    stamps = [time.process_time()]
    study.optimize(objective, n_trials=trials, callbacks=[lambda *_: stamps.append(time.process_time())])
    return _quarters(stamps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1500)
    parser.add_argument("--out", default=str(RESULTS / "pruner_overhead.json"))
    args = parser.parse_args()
    table = load_nb201()
    ours(table, "median", 50)  # warm-up: imports and caches
    rows = {f"nasforge {name}": ours(table, pruner, args.trials) for name, pruner in PRUNERS.items()}
    rows["nasforge none"] = ours(table, None, args.trials)
    rows["optuna MedianPruner"] = optuna_median(table, args.trials)
    for name, quarters in rows.items():
        print(f"{name:>20}: CPU ms per trial by quarter {quarters}")
    write_json(args.out, {"date": date.today().isoformat(), "trials": args.trials, "steps": STEPS,
                          "cpu_ms_per_trial_by_quarter": rows})


if __name__ == "__main__":
    main()
