"""How a study's per-trial cost grows with its size: random search without de-duplication on the NAS-Bench-201
table (an evaluation costs nothing), in memory and in SQLite, time per trial in each tenth of the run; then the
seconds `nasforge trials` and `nasforge status` take on the SQLite study. Writes the figures as the ``--label``
entry of benchmarks/results/study_scale.json (``--out`` to change); the other entries are kept.

    .venv/bin/python benchmarks/study_scale.py [--trials 20000] [--sqlite-trials 5000] [--label current]

Run it again with PYTHONPATH=<another checkout>/src and another ``--label`` to measure that code on the same machine
in the same session (the stored file: ``today`` for this code, ``before`` for commit 8214923).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from nasforge import Study, TableEvaluator
from nasforge.benchmarks import load_nb201

from _results import CHECKOUT, RESULTS, read_json, write_json


def per_tenth(storage: str, trials: int) -> dict[str, object]:
    """Milliseconds per trial in each tenth of a ``trials``-trial random search stored in ``storage``."""
    table = load_nb201()
    study = Study(table.space, "random", objectives="val_acc", directions="maximize", seed=0, name="scale",
                  storage=storage, dedup=False)
    stamps: list[float] = []
    start = time.perf_counter()
    study.optimize(TableEvaluator(table), n_trials=trials, callbacks=[lambda *_: stamps.append(time.perf_counter())])
    tenth = trials // 10
    edges = [start, *stamps[tenth - 1::tenth]]
    return {"trials": trials, "seconds": round(stamps[-1] - start, 2),
            "ms_per_trial_by_tenth": [round(1000 * (b - a) / tenth, 3) for a, b in zip(edges, edges[1:])]}


def command_seconds(argv: list[str]) -> float | None:
    """Wall seconds of one ``nasforge`` command (output discarded); None when the code measured lacks it."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "nasforge", *argv], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    return round(time.perf_counter() - start, 2) if done.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20000, help="trials of the in-memory study")
    parser.add_argument("--sqlite-trials", type=int, default=5000, help="trials of the SQLite study")
    parser.add_argument("--label", default="current", help="the entry of --out these figures are written to")
    parser.add_argument("--out", default=str(RESULTS / "study_scale.json"))
    args = parser.parse_args()
    stored = read_json(args.out, {})  # other labels' entries; a damaged file stops the run before measuring
    if not isinstance(stored.get(args.label, {}), dict):
        parser.error(f"--label {args.label!r} names a field of {args.out}, not an entry of figures: choose another")
    import nasforge

    result: dict[str, object] = {"code": str(Path(nasforge.__file__).parents[1]), "checkout": str(CHECKOUT),
                                 "date": date.today().isoformat(), "memory": per_tenth("memory", args.trials)}
    print("memory", result["memory"])
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'scale.db'}"
        result["sqlite"] = per_tenth(url, args.sqlite_trials)
        print("sqlite", result["sqlite"])
        result["commands_seconds"] = {" ".join(argv): command_seconds([*argv, "scale", "--storage", url])
                                      for argv in (["trials"], ["trials", "--limit", "10"], ["status"])}
        print("commands", result["commands_seconds"])
    stored[args.label] = result
    write_json(args.out, stored)


if __name__ == "__main__":
    main()
