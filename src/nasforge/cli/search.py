"""``nasforge search``: multi-objective NAS with real training, in two stages.

Stage 1 searches at low fidelity (a narrow, shallow network trained for a few epochs; its cost
metrics are those of the full-size network it stands for, the one to be deployed); stage 2
retrains the chosen architectures (the Pareto front, or an even spread of it) at full fidelity on
train + validation and reports their test accuracy. Everything lands in ``--out``: the study's SQLite
file, the trials CSV, the front as JSON and a Pareto-front PNG.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import UsageError

METRICS = ("val_acc", "test_acc", "val_loss", "train_loss", "params", "flops", "latency_ms", "train_seconds")
MAXIMIZED = ("val_acc", "test_acc")


@dataclass(frozen=True)
class Preset:
    """Network sizes and epochs of the two stages for one search space; ``final_lr`` is the peak
    learning rate of the longer, deeper final training (lower than the search's for stability)."""

    search_C: int
    search_N: int | None
    search_epochs: int
    final_C: int
    final_N: int | None
    final_epochs: int
    final_lr: float = 0.05


PRESETS: dict[str, Preset] = {
    "nb201": Preset(search_C=8, search_N=1, search_epochs=4, final_C=16, final_N=4, final_epochs=30),
    "darts": Preset(search_C=4, search_N=1, search_epochs=3, final_C=8, final_N=2, final_epochs=15),
    "nb101": Preset(search_C=8, search_N=1, search_epochs=4, final_C=16, final_N=2, final_epochs=15),
    "proxylessnas": Preset(search_C=8, search_N=None, search_epochs=4, final_C=16, final_N=None, final_epochs=15),
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="multi-objective NAS with real training (search, then retrain the front)",
                       description="Search a space at low fidelity on real data, then retrain the Pareto front at "
                                   "full fidelity and report test accuracy, parameters, FLOPs and latency.")
    p.add_argument("--space", default="nb201", help=f"search space with a network (default: nb201; {list(PRESETS)})")
    p.add_argument("--data", default="digits", help="digits (embedded), cifar10, cifar100, npz or folder")
    p.add_argument("--data-dir", help="folder (CIFAR batches, image folder) or .npz file for --data")
    p.add_argument("--objectives", default="val_acc:max,params:min",
                   help=f"comma-separated metric[:max|:min] (default: val_acc:max,params:min); metrics: {list(METRICS)}")
    p.add_argument("--strategy", default="mo_evolution", help="search strategy (default: mo_evolution)")
    p.add_argument("--trials", type=int, default=60, help="search trials in stage 1 (default: 60)")
    p.add_argument("--budget", type=float, default=None, help="time limit of stage 1 in seconds (default: none)")
    p.add_argument("--workers", type=int, default=2, help="parallel worker processes (default: 2)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per worker (default: CPU cores // workers, at least 1)")
    p.add_argument("--storage", help="study storage URL (default: sqlite:///<out>/study.db)")
    p.add_argument("--out", default=None, help="output folder (default: ./nasforge-runs/<name>)")
    p.add_argument("--name", default=None, help="study name (default: search-<space>-<data>-<time>)")
    p.add_argument("--retrain", type=int, default=5, help="architectures retrained in stage 2 (default: 5; 0 skips)")
    p.add_argument("--search-epochs", type=int, help="epochs per search trial (default: per-space preset)")
    p.add_argument("--final-epochs", type=int, help="epochs of the final retraining (default: per-space preset)")
    p.add_argument("--pruner", default=None,
                   help="stop weak search trials early on their validation curve: median or asha (default: none; "
                        "it judges the first objective only, so it can cut cheap but less accurate networks)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def parse_objectives(text: str) -> tuple[list[str], list[str]]:
    """``"val_acc:max,params:min"`` -> (names, directions); accuracies default to max, the rest to min."""
    names, directions = [], []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        name, _, sense = item.partition(":")
        if name not in METRICS:
            raise UsageError(f"unknown objective {name!r}; choose from {list(METRICS)}")
        if sense not in ("", "max", "min"):
            raise UsageError(f"objective {item!r}: direction must be 'max' or 'min', got {sense!r}")
        names.append(name)
        directions.append({"max": "maximize", "min": "minimize"}.get(sense) or
                          ("maximize" if name in MAXIMIZED else "minimize"))
    if not names:
        raise UsageError(f"no objectives in {text!r}")
    if len(set(names)) != len(names):
        raise UsageError(f"objective listed twice in {text!r}")
    return names, directions


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    if args.space not in PRESETS:
        raise UsageError(f"no network preset for space {args.space!r}; choose from {list(PRESETS)}")
    if args.trials < 1 or args.workers < 1 or args.retrain < 0 or (args.threads is not None and args.threads < 1):
        raise UsageError(f"need --trials >= 1, --workers >= 1, --retrain >= 0, --threads >= 1 (got {args.trials}, "
                         f"{args.workers}, {args.retrain}, {args.threads})")
    objectives, directions = parse_objectives(args.objectives)
    preset = PRESETS[args.space]
    name = args.name or f"search-{args.space}-{args.data}-{time.strftime('%Y%m%d-%H%M%S')}"
    out = Path(args.out or Path("nasforge-runs") / name)
    out.mkdir(parents=True, exist_ok=True)
    console = Console(width=None if sys.stdout.isatty() else 160)
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.workers)
    start = time.perf_counter()

    from ..data import load_dataset

    data = load_dataset(args.data, args.data_dir, seed=args.seed)  # fail fast on bad data, before any worker
    console.print(f"[bold]nasforge search[/]: space {args.space}, {data}, objectives "
                  f"{', '.join(f'{o} ({d})' for o, d in zip(objectives, directions))}, {args.workers} worker(s) x "
                  f"{threads} thread(s), output {out}")

    study = _search(args, objectives, directions, preset, threads, name, out)
    search_seconds = time.perf_counter() - start
    front = study.pareto_front()
    if not front:
        raise UsageError("no search trial completed; see the errors in trials.csv")
    chosen = choose_for_retraining(front, objectives, directions, args.retrain)
    retrained = _retrain(args, chosen, preset, threads) if chosen else {}
    study.set_user_attr("retrained", {str(n): r.to_json() for n, r in retrained.items()})  # stored with the study
    total = time.perf_counter() - start
    summary = _report(study, front, retrained, objectives, directions, out, console)
    summary.update({"search_seconds": search_seconds, "total_seconds": total, "workers": args.workers,
                    "threads_per_worker": threads, "space": args.space, "data": args.data, "name": name})
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    console.print(f"search {search_seconds:.0f} s, total {total:.0f} s; wrote {out / 'trials.csv'}, "
                  f"{out / 'pareto.png'}, {out / 'front.json'}, {out / 'summary.json'}")
    return 0


def _search(args: argparse.Namespace, objectives: list[str], directions: list[str], preset: Preset,
            threads: int, name: str, out: Path):
    """Stage 1: the low-fidelity multi-objective search, stored in ``--storage``."""
    from ..evaluators.training import TrainingEvaluator
    from ..experiment import Study
    from ..spaces import get_space

    space = get_space(args.space)
    final_size = {"C": preset.final_C, **({"N": preset.final_N} if preset.final_N is not None else {})}
    evaluator = TrainingEvaluator(args.data, args.data_dir, data_seed=args.seed, C=preset.search_C,
                                  N=preset.search_N, train={"epochs": args.search_epochs or preset.search_epochs},
                                  threads=threads, seed=args.seed, deploy=final_size)
    storage = args.storage or f"sqlite:///{out / 'study.db'}"
    study = Study(space, args.strategy, objectives=objectives, directions=directions, seed=args.seed, name=name,
                  storage=storage)
    study.optimize(evaluator, n_trials=args.trials, timeout=args.budget, n_workers=args.workers,
                   executor="process" if args.workers > 1 else "inline", progress=True, pruner=args.pruner,
                   evaluator_spec=evaluator.spec(),
                   executor_options={"threads_per_worker": threads} if args.workers > 1 else None)
    study.trials_dataframe().to_csv(out / "trials.csv", index=False)
    return study


def choose_for_retraining(front: list, objectives: list[str], directions: list[str], k: int) -> list:
    """Up to ``k`` front trials spread evenly along the first objective, always including both ends.

    Trials tied on every objective count once (the earliest is kept)."""
    import numpy as np

    if k == 0:
        return []
    distinct: dict[tuple, Any] = {}
    for t in sorted(front, key=lambda t: t.number):
        distinct.setdefault(tuple(t.metrics[o] for o in objectives), t)
    sign = 1.0 if directions[0] == "maximize" else -1.0
    ordered = sorted(distinct.values(), key=lambda t: (sign * t.metrics[objectives[0]], -t.number), reverse=True)
    if len(ordered) <= k:
        return ordered
    picks = sorted(set(np.linspace(0, len(ordered) - 1, k).round().astype(int).tolist()))
    return [ordered[i] for i in picks]


def _retrain(args: argparse.Namespace, chosen: list, preset: Preset, threads: int) -> dict:
    """Stage 2: full-fidelity retraining on train + validation, on the engine's workers; trial number -> Result."""
    from ..evaluators.training import TrainingEvaluator
    from ..experiment.executors import Task, get_executor
    from ..experiment.progress import ProgressReporter

    evaluator = TrainingEvaluator(args.data, args.data_dir, data_seed=args.seed, C=preset.final_C, N=preset.final_N,
                                  train={"epochs": args.final_epochs or preset.final_epochs, "lr": preset.final_lr},
                                  threads=threads,
                                  seed=args.seed, merge_val=True)
    workers = min(args.workers, len(chosen))
    pool = get_executor("process" if workers > 1 else "inline", n_workers=workers,
                        **({"threads_per_worker": threads} if workers > 1 else {}))
    progress = ProgressReporter("retrain", len(chosen))
    results: dict = {}
    pool.start(evaluator, lambda number, step, value: False)
    try:
        for trial in sorted(chosen, key=lambda t: -t.metrics.get("params", 0.0)):  # largest first: shorter makespan
            pool.submit(Task(trial.number, trial.arch))
        while len(results) < len(chosen):
            results.update(pool.poll(1.0))
            failed = sum(not r.ok for r in results.values())
            best = max((r.metrics["test_acc"] for r in results.values() if r.ok), default=None)
            progress.update(len(results), failed, min(workers, len(chosen) - len(results)), best)
    finally:
        pool.shutdown()
        progress.close()
    return results


def _report(study, front: list, retrained: dict, objectives: list[str], directions: list[str], out: Path,
            console: Any) -> dict:
    """Print the front, save the PNG and JSON; return the summary figures."""
    import numpy as np
    from rich.table import Table

    from ..analysis.pareto import hypervolume, plot_front, to_maximization

    table = Table(title=f"Pareto front of {study.name} ({len(front)} of {len(study.completed())} complete trials); "
                        "test %: retrained at full size on train + val; cost of the full-size network")
    for column in ("trial", "architecture", "search val %", "test %", "params", "FLOPs", "latency ms"):
        table.add_column(column, justify="left" if column == "architecture" else "right")
    rows = []
    for t in sorted(front, key=lambda t: (t.metrics["params"], t.number)):
        final = retrained.get(t.number)
        row = {"trial": t.number, "arch": study.space.format(t.arch), "search_val_acc": t.metrics.get("val_acc"),
               "test_acc": final.metrics.get("test_acc") if final is not None and final.ok else None,
               "params": t.metrics.get("params"), "flops": t.metrics.get("flops"),
               "latency_ms": t.metrics.get("latency_ms"), "trained_params": t.metrics.get("trained_params"),
               "retrain_error": final.error if final is not None and not final.ok else None}
        rows.append(row)
        table.add_row(str(t.number), row["arch"], _fmt(row["search_val_acc"], ".2f"), _fmt(row["test_acc"], ".2f"),
                      _fmt(row["params"], ",.0f"), _fmt(row["flops"], ",.0f"), _fmt(row["latency_ms"], ".2f"))
    console.print(table)
    (out / "front.json").write_text(json.dumps(rows, indent=2))

    done = study.completed()
    values = np.array([[t.metrics[o] for o in objectives] for t in done])
    points = to_maximization(values, directions)
    signs = to_maximization(np.ones((1, len(objectives))), directions)[0]
    reference = points.min(0) - 1e-9 * (np.abs(points.min(0)) + 1)  # just beyond the worst trial
    front_params = [r["params"] for r in rows]
    summary: dict[str, Any] = {"n_trials": len(study.trials), "n_complete": len(done), "front_size": len(front),
                               "front_param_range": max(front_params) / min(front_params),
                               "objectives": objectives, "directions": directions,
                               "hypervolume": hypervolume(points, reference),
                               "hypervolume_reference": (reference * signs).tolist(), "front": rows}
    finals = [r for r in rows if r["test_acc"] is not None]
    if finals:
        best = max(finals, key=lambda r: r["test_acc"])
        params = [r["params"] for r in finals]
        summary.update({"best_test_acc": best["test_acc"], "best_arch": best["arch"],
                        "retrained_param_range": max(params) / min(params)})
        console.print(f"best retrained test accuracy {best['test_acc']:.2f}% ({best['arch']}); retrained "
                      f"architectures span {summary['retrained_param_range']:.1f}x in parameters")
    front_numbers = {t.number for t in front}
    x = np.array([t.metrics["params"] for t in done])
    y = np.array([t.metrics[objectives[0]] for t in done])
    extra = (np.array([r["params"] for r in finals]), np.array([r["test_acc"] for r in finals]),
             "retrained test acc") if finals else None
    plot_front(str(out / "pareto.png"), x, y, np.array([i for i, t in enumerate(done) if t.number in front_numbers]),
               "parameters (full-size network)", objectives[0], title=f"{study.name}: {', '.join(objectives)}",
               extra=extra)
    return summary


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)
