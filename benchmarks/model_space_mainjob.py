"""The main job on a user-defined model space: ``nasforge search --space-module examples/digits_cnn.py:DigitsCNN``.

    .venv/bin/python benchmarks/model_space_mainjob.py [--trials 60] [--workers 2]
        [--json benchmarks/results/model_space_mainjob.json]

Runs the two-stage search of :mod:`nasforge.pipelines.search` (multi-objective: validation accuracy vs
parameters; search at 4 epochs, retrain up to 5 front members for 15 epochs on train + val) on the
digits CNN of ``examples/digits_cnn.py`` through the command line, exactly as a user would, and
records the wall time, the test accuracy of the network picked by validation (with how it was picked and the
highest retrained test accuracy beside it), the front's span in parameters and the machine's load average before
and after (the figures depend on it).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from _results import CHECKOUT, RESULTS, validation_pick, validation_pick_line, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=str(RESULTS / "model_space_mainjob.json"))
    args = parser.parse_args()

    from nasforge.cli import main as cli

    out = Path(tempfile.mkdtemp(prefix="model_space_mainjob_"))
    command = ["search", "--space-module", f"{CHECKOUT / 'examples' / 'digits_cnn.py'}:DigitsCNN",
               "--trials", str(args.trials), "--workers", str(args.workers), "--seed", str(args.seed),
               "--out", str(out), "--name", "digits-cnn"]
    load_before = os.getloadavg()
    start = time.perf_counter()
    code = cli(command)
    wall = time.perf_counter() - start
    load_after = os.getloadavg()
    summary = json.loads((out / "summary.json").read_text())
    front_params = [r["params"] for r in summary["front"]]
    result = {"benchmark": "model_space_mainjob", "command": "nasforge " + " ".join(command), "exit_code": code,
              "wall_seconds": wall, "search_seconds": summary.get("search_seconds"),
              "retrain_seconds": summary.get("retrain_seconds"), **validation_pick(summary),
              "best_arch": summary.get("best_arch"), "front_size": summary["front_size"],
              "front_params_min": min(front_params), "front_params_max": max(front_params),
              "front_param_range": summary["front_param_range"], "n_retrained": summary["n_retrained"],
              "retrained_param_range": summary.get("retrained_param_range"), "cpu_count": os.cpu_count(),
              "loadavg_before": load_before, "loadavg_after": load_after, "front": summary["front"]}
    write_json(args.json, result, indent=2)
    print(f"wall {wall:.0f} s (search {result['search_seconds']:.0f} s, retrain {result['retrain_seconds']:.0f} s); "
          f"{validation_pick_line(result)}; front of {result['front_size']} spans "
          f"{result['front_params_min']:,.0f}-{result['front_params_max']:,.0f} parameters "
          f"({result['front_param_range']:.1f}x); load average {load_before[0]:.1f} -> {load_after[0]:.1f}; "
          f"wrote {args.json}")


if __name__ == "__main__":
    main()
