"""``nasforge bench`` on a chain-space table of one's own, through the CLI (issue 10's first complaint).

Builds a chain space (6 layers x {conv3, conv5, conv7, skip} = 4,096 architectures), a table of all of
them with a synthetic accuracy (an additive layer score plus a deterministic interaction term), then
runs ``nasforge bench --table chain.csv --space chain --objective acc`` twice in a fresh process: once
inferring the layers from the table, once with ``--space-config layers.yaml``. Writes
benchmarks/results/bench_chain_cli.json (wall times, regret table, the inferred-space message; ``--out`` to change).

    python benchmarks/bench_chain_cli.py [--seeds 20] [--trials 100] [--out benchmarks/results/bench_chain_cli.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nasforge.spaces import ChainSpace

from _results import RESULTS, write_json

CHOICES = ["conv3", "conv5", "conv7", "skip"]


def write_table(folder: Path) -> Path:
    space = ChainSpace([CHOICES] * 6)
    score = {"conv3": 1.0, "conv5": 1.6, "conv7": 1.9, "skip": 0.0}
    rows = ["arch,acc,params"]
    for arch in space.enumerate():
        g = arch.genotype
        base = sum(score[c] * (1 + i / 5) for i, c in enumerate(g))
        clash = 1.5 * sum(a == b == "conv7" for a, b in zip(g, g[1:]))  # neighbours interact
        params = sum({"conv3": 9, "conv5": 25, "conv7": 49, "skip": 0}[c] for c in g)
        rows.append(f"{space.format(arch)},{60 + 2.5 * base - clash:.3f},{params}")
    path = folder / "chain.csv"
    path.write_text("\n".join(rows) + "\n")
    (folder / "layers.yaml").write_text("".join(f"- [{', '.join(CHOICES)}]\n" for _ in range(6)))
    return path


def run(argv: list[str], cwd: Path) -> dict:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "nasforge", *argv], cwd=cwd, capture_output=True, text=True)
    return {"argv": ["nasforge", *argv], "exit": done.returncode, "wall_s": round(time.perf_counter() - start, 2),
            "stdout": done.stdout, "stderr": done.stderr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--out", default=str(RESULTS / "bench_chain_cli.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_table(folder)
        common = ["bench", "--table", "chain.csv", "--space", "chain", "--objective", "acc", "--secondary", "params",
                  "--strategies", "random,evolution,local_search", "--seeds", str(args.seeds), "--trials",
                  str(args.trials), "--workers", "1"]
        inferred = run([*common, "--out", "inferred"], folder)
        pinned = run([*common, "--space-config", "layers.yaml", "--out", "pinned"], folder)
        reports = [json.loads((folder / name / "bench.json").read_text()) if run_["exit"] == 0 else None
                   for name, run_ in (("inferred", inferred), ("pinned", pinned))]
    result = {"table_rows": 4 ** 6, "seeds": args.seeds, "trials": args.trials, "inferred": inferred,
              "pinned": pinned, "same_curves": bool(reports[0]) and reports[0]["curves"] == reports[1]["curves"],
              "optimum": reports[0] and reports[0]["optimum"],
              "note": "wall time includes interpreter start-up, import and table loading; shared, loaded 2-core machine"}
    write_json(args.out, result)
    print(inferred["stderr"] + inferred["stdout"])
    print(f"inferred: exit {inferred['exit']}, {inferred['wall_s']} s; pinned: exit {pinned['exit']}, "
          f"{pinned['wall_s']} s")


if __name__ == "__main__":
    main()
