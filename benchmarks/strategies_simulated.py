"""Strategies against simulated wall-clock time: 8 asynchronous workers on NAS-Bench-201 (CIFAR-10 val).

Training times and learning curves are modelled (nasforge.analysis.simulate.ModelledCurves: seconds per
epoch = 10 + conv proxy, saturating curves with noise ending at the table's 12-epoch value). Regret of the
incumbent (best full-budget result) vs simulated hours; the same as
``nasforge bench --workers-simulated 8`` with a fixed horizon.

    .venv/bin/python benchmarks/strategies_simulated.py [--seeds 20] [--hours 6] [--workers 8]
        [--strategies random,evolution,hyperband,asha,bohb] [--slow bananas --slow-seeds 3]

``--pruners none,median,asha,curve`` runs every strategy once per pruner (groups ``name+pruner``): each
evaluation then reports its modelled curve after every epoch and the pruner may stop it, as the
engine's ``pruner=`` does with a Reporter.

    .venv/bin/python benchmarks/strategies_simulated.py --strategies random,evolution --slow "" \
        --pruners none,median,asha,curve --out benchmarks/results/strategies_simulated_pruners

Groups are merged into ``--out``/simulated.json one at a time, each with its own ``workers`` and ``hours``; the
summary's checkpoints are 1, 2 and 4 hours where they fall inside ``--hours``, and ``--hours`` itself.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

from nasforge.analysis.simulate import ModelledCurves, compare_simulated
from nasforge.benchmarks import load_nb201

from _results import RESULTS, read_json, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--strategies", default="random,evolution,hyperband,asha,bohb")
    parser.add_argument("--slow", default="bananas", help="expensive strategies, run with --slow-seeds only")
    parser.add_argument("--slow-seeds", type=int, default=3)
    parser.add_argument("--pruners", default="none", help="pruners to combine with every strategy ('none': off)")
    parser.add_argument("--out", default=str(RESULTS / "strategies_simulated"))
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    bench = ModelledCurves(load_nb201())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "simulated.json"  # groups are merged into it one at a time, so runs can be split
    results = per_group_settings(read_json(path, {"groups": {}}))
    checkpoints = [h for h in (1.0, 2.0, 4.0) if h < args.hours] + [args.hours]
    groups = [(s, args.seeds) for s in args.strategies.split(",") if s] + \
             [(s, args.slow_seeds) for s in args.slow.split(",") if s]
    pruners = [p for p in args.pruners.split(",") if p]
    for (name, seeds), pruner in itertools.product(groups, pruners):
        start = time.perf_counter()
        report = compare_simulated(bench, [name], seeds=seeds, n_workers=args.workers, hours=args.hours,
                                   name="nb201-cifar10-val (modelled times/curves)",
                                   pruner=None if pruner == "none" else pruner)
        row = report.table(checkpoints)[0]
        label = name if pruner == "none" else f"{name}+{pruner}"
        row.update({"strategy": label, "seeds": seeds, "pruned": report.stats[name]["pruned"],
                    "wall_seconds": time.perf_counter() - start})
        results["groups"][label] = {"summary": row, "workers": args.workers, "horizon_hours": args.hours,
                                    "hours": report.hours.tolist(),
                                    "curves": {k: v.tolist() for k, v in report.curves[name].items()}}
        write_json(path, results)
        print("  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()), flush=True)
    _plot(results, out / "simulated_regret.png")


def per_group_settings(results: dict) -> dict:
    """``results`` with the run-wide ``workers`` and ``hours`` of files written before each group kept its own
    moved into the groups lacking them (the only settings those groups were stored with)."""
    run = {"workers": results.pop("workers", None), "horizon_hours": results.pop("hours", None)}
    for group in results["groups"].values():
        for key, value in run.items():
            if value is not None:
                group.setdefault(key, value)
    return results


def _plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    workers = {group.get("workers") for group in results["groups"].values()}
    for name, group in results["groups"].items():
        each = "" if len(workers) == 1 else f", {group.get('workers', '?')} workers"
        line, = ax.plot(group["hours"], group["curves"]["mean"],
                        label=f"{name} ({group['summary']['seeds']} seeds{each})")
        ax.fill_between(group["hours"], group["curves"]["q25"], group["curves"]["q75"], color=line.get_color(),
                        alpha=0.12)
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_xlabel(f"simulated wall-clock hours ({workers.pop() if len(workers) == 1 else 'several'} "
                  f"asynchronous workers)")

    ax.set_ylabel("regret of val_acc (mean, IQR band)")
    ax.set_title("NAS-Bench-201 CIFAR-10, modelled training times and curves")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
