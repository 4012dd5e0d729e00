"""Start-up cost of ``import nasforge`` and of ``nasforge --help`` (builds the whole parser, as every command does) (best of N runs, each in a fresh
interpreter), minus a bare interpreter's start-up; and which heavy libraries the import loads.

    python benchmarks/import_time.py                      # this checkout
    python benchmarks/import_time.py --src /old/src       # another source tree (e.g. a git archive)

Writes benchmarks/results/import_time.json (``--out`` to change). Run it on an idle machine: the
figures are wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from _results import RESULTS, read_json, write_json

HEAVY = ["scipy", "pandas", "torch", "sqlalchemy", "sklearn", "matplotlib", "optuna", "xgboost", "lightgbm", "ray",
         "rich", "yaml"]


def best_wall(argv: list[str], env: dict, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def importtime_total(env: dict, runs: int) -> float:
    """Best ``-X importtime`` cumulative microseconds of the ``nasforge`` package, in seconds."""
    best = float("inf")
    for _ in range(runs):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import nasforge"], env=env,
                             capture_output=True, text=True, check=True).stderr
        for line in err.splitlines():
            match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| nasforge$", line)
            if match:
                best = min(best, int(match.group(1)) / 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", help="source folder holding the nasforge package (default: the installed one)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--label", default="current")
    parser.add_argument("--out", default=str(RESULTS / "import_time.json"))
    args = parser.parse_args()
    previous = read_json(args.out, {})  # other labels' rows; a damaged file stops the run before measuring
    env = dict(os.environ)
    if args.src:
        env["PYTHONPATH"] = str(Path(args.src).resolve())
    probe = f"import sys, json, nasforge; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                                       check=True).stdout)
    bare = best_wall([sys.executable, "-c", "pass"], env, args.runs)
    numpy_only = best_wall([sys.executable, "-c", "import numpy"], env, args.runs)
    result = {
        "label": args.label, "src": args.src or "installed", "runs": args.runs,
        "bare_python_s": round(bare, 4),
        "import_nasforge_s": round(best_wall([sys.executable, "-c", "import nasforge"], env, args.runs) - bare, 4),
        "import_numpy_s": round(numpy_only - bare, 4),
        "importtime_nasforge_s": round(importtime_total(env, args.runs), 4),
        "cli_help_s": round(best_wall([sys.executable, "-c", "from nasforge.cli import main; main(['--help'])"],
                                         env, args.runs) - bare, 4),
        "heavy_modules_loaded": loaded,
        "note": "wall times minus a bare interpreter's start-up; best of runs; shared 2-core machine",
    }
    previous[args.label] = result
    write_json(args.out, previous)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
