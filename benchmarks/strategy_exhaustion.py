"""When can a strategy no longer propose? Two figures for ``Strategy.ask``'s de-duplication.

1. *Failing children*: on NAS-Bench-201 only the first three evaluations succeed and every later one
   fails (as under aggressive pruning or out-of-memory cells). How many asks each strategy answers
   before ``SpaceExhausted`` (the space has 5,260 distinct cells), and the seconds they take.
2. *A used-up space*: a 54-architecture chain space, ``Study.optimize(n_trials=60, timeout=5)``: the
   seconds until the study stops, for model-based strategies whose every ask scores all candidates.

    .venv/bin/python benchmarks/strategy_exhaustion.py [--asks 2000] [--out benchmarks/results/strategy_exhaustion.json]
        [--failing NAME,...] [--used-up NAME,...]   (the rows to run; "" runs none of that part)

The rows run replace the stored rows of the same strategy in their part; the other stored rows are kept. A file
of failing-children rows of another ``--asks`` is not mixed with: choose another ``--out``.
"""

from __future__ import annotations

import argparse
import time
import warnings

from nasforge import Result, Study
from nasforge.spaces import get_space
from nasforge.spaces.chain import ChainSpace
from nasforge.strategies import SpaceExhausted, get_strategy

from _results import RESULTS, read_json, write_json

MULTI = ("nsga2", "mo_evolution", "qnehvi", "parego")


def failing_children(name: str, asks: int) -> dict:
    strategy = get_strategy(name, get_space("nb201"), seed=0)
    start, n = time.perf_counter(), 0
    try:
        while n < asks:
            arch = strategy.ask()
            n += 1
            score = ((float(n), -float(n)) if name in MULTI else float(n)) if n <= 3 else None
            strategy.tell(arch, score)
    except SpaceExhausted:
        pass
    return {"strategy": name, "asks_answered": n, "of": asks, "seconds": round(time.perf_counter() - start, 2)}


def used_up_space(name: str) -> dict:
    space = ChainSpace([["conv3", "conv5", "skip"]] * 3 + [["skip", "conv3"]], name="c54")

    def evaluate(arch):
        return Result(metrics={"val_acc": float(sum(len(x) for x in arch.genotype)),
                               "convs": float(sum(x != "skip" for x in arch.genotype))})

    kwargs = {"objectives": ["val_acc", "convs"], "directions": ["maximize", "minimize"]} if name in MULTI else {}
    start = time.perf_counter()
    study = Study(space, name, seed=0, **kwargs)
    study.optimize(evaluate, n_trials=60, timeout=5)
    return {"strategy": name, "trials": len(study.trials), "seconds_with_timeout_5": round(time.perf_counter() - start, 1)}


def merged(stored: list[dict], rows: list[dict]) -> list[dict]:
    """``stored`` rows with those of the strategies in ``rows`` replaced by them, in place; new strategies last."""
    new = {row["strategy"]: row for row in rows}
    kept = [new.pop(row["strategy"], row) for row in stored]
    return kept + list(new.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asks", type=int, default=2000)
    parser.add_argument("--out", default=str(RESULTS / "strategy_exhaustion.json"))
    parser.add_argument("--failing", default="evolution,local_search,npenas,nsga2,mo_evolution")
    parser.add_argument("--used-up", default="smac,qnehvi,parego,npenas,bananas,evolution,tpe")
    args = parser.parse_args()
    failing, used_up = list(filter(None, args.failing.split(","))), list(filter(None, args.used_up.split(",")))
    stored = read_json(args.out, {})  # the rows this run does not measure are kept
    asks_then = sorted({row["of"] for row in stored.get("failing_children", [])} - {args.asks})
    if failing and asks_then:
        raise SystemExit(f"{args.out} holds failing-children rows of --asks {asks_then[0]}, not {args.asks}; nothing "
                         "replaced (choose another --out to keep both)")
    warnings.simplefilter("ignore")
    result = {"failing_children": [], "used_up_space": []}
    for name in failing:
        result["failing_children"].append(row := failing_children(name, args.asks))
        print(row, flush=True)
    for name in used_up:
        result["used_up_space"].append(row := used_up_space(name))
        print(row, flush=True)
    write_json(args.out, {**stored, **{part: merged(stored.get(part, []), rows) for part, rows in result.items()}})


if __name__ == "__main__":
    main()
