"""What the progress display costs a run of cheap trials: off, plain lines, and the rich bar, in one run.

    .venv/bin/python benchmarks/progress_overhead.py [--trials 2000] [--objectives 2] [--rounds 3]

A ``mo_random`` (or ``random``) study on the NAS-Bench-201 table, each trial a table lookup, so the progress
display's own work (the best values and, with several objectives, the Pareto front's size) is what differs.
Prints each mode's best wall time of ``--rounds`` interleaved rounds and its ratio to the run without progress
(the same study and seed each time). Each run starts after a full garbage collection: without it the previous
run's garbage was collected during the next one, which made whichever mode ran first in a round 1.4-1.5x slower.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import time

from nasforge import Study
from nasforge.benchmarks import load_nb201
from nasforge.experiment import progress


class _Terminal(io.StringIO):
    """A stream that says it is a terminal, so the rich bar is drawn (into memory)."""

    def isatty(self) -> bool:
        return True


def _run(table, trials: int, objectives: int, mode: str) -> float:
    """Seconds of one study of ``trials`` lookups with progress ``mode``: "off", "plain" or "bar"."""
    names = ["val_acc", "params"][:objectives]
    study = Study(table.space, "mo_random" if objectives > 1 else "random", objectives=names,
                  directions=["maximize", "minimize"][:objectives], seed=0)

    def lookup(arch):
        row = table.query(arch)
        return {"val_acc": row["val_acc"], "params": row["cifar100-val"]}

    original = progress.ProgressReporter.__init__

    def on_terminal(self, *args, **kwargs):
        kwargs["stream"] = _Terminal()
        original(self, *args, **kwargs)

    if mode == "bar":
        progress.ProgressReporter.__init__ = on_terminal
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            gc.collect()  # the previous run's garbage, which would otherwise be collected (and timed) in this one
            start = time.perf_counter()
            study.optimize(lookup, n_trials=trials, progress=mode != "off")
            return time.perf_counter() - start
    finally:
        progress.ProgressReporter.__init__ = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--objectives", type=int, choices=[1, 2], default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    table = load_nb201()
    _run(table, 50, args.objectives, "off")  # warm-up: imports and caches
    times = {"off": float("inf"), "plain": float("inf"), "bar": float("inf")}
    for _ in range(args.rounds):  # interleaved, best of the rounds: the machine's noise hits each mode alike
        for mode in times:
            times[mode] = min(times[mode], _run(table, args.trials, args.objectives, mode))
    for mode, seconds in times.items():
        print(f"{mode:>5}: {seconds:6.2f} s  ({seconds / times['off']:.2f}x the run without progress)")


if __name__ == "__main__":
    main()
