"""Multi-objective strategies on the NAS-Bench-201 table (CIFAR-10 validation accuracy), ours vs Optuna NSGA-II.

Objectives: maximize val_acc, minimize a cost. Three settings:
- ``conv``: the conv proxy (3x3 = 9, 1x1 = 1, else 0, summed over the 6 edges); 17-point true front;
  hypervolume reference (0, 55);
- ``params``: real parameter counts (millions) of the NB201 network (C=16, N=5, 10 classes) from the
  network builder (nasforge.models + training.cost); reference (0, 1.1 x the largest count);
- ``params_constrained``: as ``params`` with the constraint ``params <= median`` (the strategies get it
  as ``constraints=[...]``, Optuna as the violation each told score carries, which the Optuna adapter passes to
  ``trial.set_constraint``); front and hypervolume over feasible points.

The peer ``optuna_nsga2`` is Optuna's NSGA-II charged as our strategies are: a repeated architecture is told its
known score, not evaluated again (``dedup=True``, as ``peer_settings`` runs the single-objective peers), with
``nsga2``'s population of 20; ``optuna_nsga2+plain`` is Optuna as it comes (repeats evaluated, population 50; the
``optuna_nsga2`` rows stored before 2026-12-07 are this one). Their rows record Optuna's version and the sampler's
resolved settings under ``"optuna"``.

Per strategy and seed: 1 - HV(found)/HV(true front) at 100 and 300 evaluations, how many of the true
front's objective vectors were evaluated by 300, and how many points of the representatives' front (the front of
the results of each canonical form's representative, the cell the exhaustive optimizer scores: what a strategy
scoring representatives aims at; ``found_reachable_front``), and of how many
true front points the network was trained, whichever cell of its canonical form (``found_networks``). Runs call
ask/tell directly (no Study: the loop is the same).
A strategy named ``NAME+known`` gets the cost as a known function of the architecture
(``surrogates=[None, {"name": "known", "cost": "conv_proxy" or "params", "sign": -1}]``; for ``params`` also
``"metric": "params"``, so the constraint is checked before proposing): ``ts_hvi+known``, ``qnehvi+known``.
Each setting also prints the ceiling of strategies that score canonical representatives (the model-based
proposals of ts_hvi and qnehvi): how many true front points they can reach and the best gap; and how many distinct
networks (canonical forms) the true front's points are, all of which a de-duplicating strategy that evaluates the
right cell of each form can find (nsga2, mo_evolution and Optuna evaluate whichever cell they propose first, and
exceed the representatives' ceiling). Rows are written to ``--out`` as they finish, merged into the settings and
rows already there (a run with other seeds, trials, rule or strategy keyword arguments is refused: choose another
``--out``).

``NAME+known+oracleE`` (e.g. ``ts_hvi+known+oracle0.5``) asks how good a model must be: its accuracy
"surrogate" knows the table (:class:`OracleSurrogate`: the table's value plus a Gaussian error of sd E
fixed per architecture, predicted with std E). For ``ts_hvi`` every row also reports how its final
accuracy model errs on the front's *contenders* (the representatives within 1 point of the best
accuracy at their cost, feasible, no costlier than the front's costliest point) that it did not
evaluate: RMSE, median absolute error, the share off by more than 3 points, the median predicted std;
and, for the reachable front points it missed, where that model ranks each among the unevaluated
cells of its cost, by how much it under-predicts it and with what std (``missed_points``).

    .venv/bin/python benchmarks/strategies_mo.py [--seeds 100] [--first-seed 0] [--trials 300] [--workers 2]
        [--settings conv,params,params_constrained]
        [--strategies mo_random,mo_evolution,nsga2,optuna_nsga2,optuna_nsga2+plain] [--slow-seeds 3]
        [--slow parego]
    .venv/bin/python benchmarks/strategies_mo.py --settings conv --ask-times 100,1000 \
        --strategies ts_hvi+known,qnehvi+known --out benchmarks/results/strategies_mo_ask_times.json
"""

from __future__ import annotations

import argparse
import json
import time
from multiprocessing import get_context

import numpy as np

from nasforge import pareto
from nasforge.spaces.nb201 import conv_proxy
from nasforge.benchmarks import load_nb201
from nasforge.strategies import get_strategy
from nasforge.strategies.constraints import constrain
from nasforge.strategies.model_based import unique_architectures
from nasforge.strategies.model_based.costs import make_cost
from nasforge.strategies.model_based.surrogates import Surrogate

from _results import RESULTS, read_json, write_json

PARAMS_COST = {"name": "params", "num_classes": 10, "scale": 1e-6}  # millions, NB201 network C=16, N=5
PLAIN_PEER = "optuna_nsga2+plain"  # Optuna's NSGA-II as it comes: repeats evaluated, population 50
NSGA2_POPULATION = 20  # nsga2's default population, which the charged Optuna peer gets too

_CTX: dict = {}


class OracleSurrogate(Surrogate):
    """Benchmark only: the table's validation accuracy plus an error of sd ``error`` fixed per canonical
    form (drawn once from ``seed``), predicted with std ``error``: a surrogate of known quality."""

    def __init__(self, space, table, error: float, seed: int) -> None:
        super().__init__(space)
        reps, self._row = unique_architectures(space)
        noise = np.random.default_rng(10_000 + seed).normal(0.0, error, len(reps))
        self._mean = np.array([table.value(a, "val_acc") for a in reps]) + noise
        self.error = error

    def fit(self, archs, y, seed):
        return self

    def predict(self, archs, pending=()):
        rows = [self._row[self.space.canonical_key(a)] for a in archs]
        return self._mean[rows], np.full(len(rows), self.error)


def setting(name: str, table) -> dict:
    space = table.space
    archs = list(space.enumerate())
    acc = np.array([table.value(a, "val_acc") for a in archs])
    if name == "conv":
        cost_of = conv_proxy
        cost = np.array([conv_proxy(a) for a in archs], dtype=float)
        ref, constraint = (0.0, 55.0), None
    else:
        cost_of = make_cost(PARAMS_COST, space)  # one network skeleton per cell, operations tallied
        cost = np.array([cost_of(a) for a in archs])
        ref = (0.0, 1.1 * float(cost.max()))
        constraint = f"params <= {float(np.median(cost)):.6f}" if name == "params_constrained" else None
    feasible = np.ones(len(archs), bool) if constraint is None else cost <= float(constraint.split()[-1])
    points = np.c_[acc, cost]
    dirs = ["maximize", "minimize"]
    front = pareto.pareto_front(points[feasible], dirs)
    true_points = points[feasible][front]
    # the ceiling of strategies that score representatives: they evaluate one cell per canonical form, the exhaustive
    # optimizer's representative, while the table gives identical functions different accuracies
    reps = unique_architectures(space)[0]
    true_networks = {space.canonical_key(archs[i]) for i in np.flatnonzero(feasible)[front]}
    rep_acc, rep_cost = np.array([table.value(a, "val_acc") for a in reps]), np.array([cost_of(a) for a in reps])
    ok = rep_cost <= (float(constraint.split()[-1]) if constraint else np.inf)
    rep_points = np.c_[rep_acc, rep_cost][ok]
    rep_front = rep_points[pareto.pareto_front(rep_points, dirs)]
    true_hv = pareto.hypervolume(true_points, ref, dirs)
    ceiling = {"reachable_points": len({tuple(p) for p in true_points} & {tuple(p) for p in rep_points}),
               "best_gap": 1.0 - pareto.hypervolume(rep_front, ref, dirs) / true_hv,
               "reachable_front_points": len(rep_front),
               "front_networks": len(true_networks)}  # de-duplication's own ceiling: one cell per form
    # the front's contenders: representatives within 1 point of the best accuracy at their cost
    best_at = {c: rep_acc[ok & (rep_cost == c)].max() for c in np.unique(rep_cost[ok])}
    near = ok & (rep_cost <= true_points[:, 1].max()) & \
        np.array([o and acc >= best_at[c] - 1.0 for o, acc, c in zip(ok, rep_acc, rep_cost)])
    contenders = ([reps[i] for i in np.flatnonzero(near)], rep_acc[near])
    # each reachable front point's representative and the feasible representatives of its cost
    reachable = [(int(np.flatnonzero(ok & (rep_acc == a) & (rep_cost == c))[0]), np.flatnonzero(ok & (rep_cost == c)))
                 for a, c in true_points if np.any(ok & (rep_acc == a) & (rep_cost == c))]
    known = {"name": "known", "cost": "conv_proxy", "sign": -1} if name == "conv" else \
        {"name": "known", "cost": PARAMS_COST, "sign": -1, "metric": "params"}  # constraints on it are screened
    return {"name": name, "space": space, "known": known, "table": table, "ref": ref, "constraint": constraint,
            "cost": cost_of,
            "true": {tuple(p) for p in true_points}, "hv": true_hv, "ceiling": ceiling, "contenders": contenders,
            "reps": (reps, rep_acc), "reachable": reachable, "reachable_front": {tuple(p) for p in rep_front},
            "true_networks": true_networks}


def make(strategy: str, cfg: dict, seed: int):
    """``NAME`` or ``NAME+known``: the second objective (the cost) as a known function of the
    architecture (``surrogates=[None, known]``) instead of a model."""
    space, constraint = cfg["space"], cfg["constraint"]
    constraints = [constraint] if constraint else None
    kwargs = cfg["strategy_kwargs"]
    if "+oracle" in strategy:  # NAME+known+oracleE: the accuracy model is the table plus an error of sd E
        strategy, error = strategy.split("+oracle")
        oracle = OracleSurrogate(space, cfg["table"], float(error), seed)
        return get_strategy(strategy[: -len("+known")], space, seed=seed, constraints=constraints,
                            surrogates=[oracle, cfg["known"]], **kwargs)
    if strategy.endswith("+known"):
        return get_strategy(strategy[: -len("+known")], space, seed=seed, constraints=constraints,
                            surrogates=[None, cfg["known"]], **kwargs)
    if strategy in ("optuna_nsga2", PLAIN_PEER):
        return optuna_nsga2(space, seed, plain=strategy == PLAIN_PEER)
    return get_strategy(strategy, space, seed=seed, constraints=constraints, **kwargs)


def optuna_nsga2(space, seed: int, plain: bool):
    """Optuna's NSGA-II charged as our strategies are (``dedup=True``: a repeat is told its known score, as
    ``peer_settings`` runs the single-objective peers) with their population of 20; ``plain``: Optuna as it comes
    (repeats evaluated, population 50). A constraint's violation reaches Optuna with each told score."""
    import optuna

    from nasforge.strategies.optuna_adapter import OptunaStrategy

    sampler = optuna.samplers.NSGAIISampler(seed=seed, **({} if plain else {"population_size": NSGA2_POPULATION}))
    return OptunaStrategy(space, seed=seed, dedup=not plain, sampler=sampler, n_objectives=2)


def run(args: tuple[str, str, int, int]) -> dict:
    strategy_name, setting_name, seed, trials = args
    cfg = _CTX[setting_name]
    dirs = ["maximize", "minimize"]
    strategy = make(strategy_name, cfg, seed)
    got, feasible, keys, out = [], [], [], {}
    start = time.perf_counter()
    for i in range(trials):
        arch = strategy.ask()
        acc, cost = cfg["table"].value(arch, "val_acc"), float(cfg["cost"](arch))
        metrics = {"val_acc": acc, "params": cost}
        strategy.tell(arch, constrain((acc, -cost), metrics, [cfg["constraint"]] if cfg["constraint"] else None))
        got.append((acc, cost))
        keys.append(cfg["space"].canonical_key(arch))
        feasible.append(cfg["constraint"] is None or cost <= float(cfg["constraint"].split()[-1]))
        if i + 1 in (100, 300, trials):
            pts = np.array(got)[np.array(feasible)]
            hv = pareto.hypervolume(pts, cfg["ref"], dirs) if len(pts) else 0.0
            out[f"gap@{i + 1}"] = 1.0 - hv / cfg["hv"]
    evaluated = {p for p, ok in zip(got, feasible) if ok}
    hits = cfg["true"] & evaluated
    out["found"] = len(hits)
    # the representatives' front: what a strategy scoring representatives aims at
    out["found_reachable_front"] = len(cfg["reachable_front"] & evaluated)
    # true front points whose network was trained (the same canonical form, whichever cell of it)
    out["found_networks"] = len(cfg["true_networks"] & {k for k, ok in zip(keys, feasible) if ok})
    out["hits"] = sorted(hits)
    out["seconds"] = time.perf_counter() - start
    out["library"] = strategy.library_settings()  # Optuna's version and sampler settings for the peers
    if hasattr(strategy, "models"):  # ts_hvi: how its final accuracy model errs where the front is decided
        seen = {cfg["space"].canonical_key(a) for a, _ in strategy.archive}
        unseen = [i for i, a in enumerate(cfg["contenders"][0]) if cfg["space"].canonical_key(a) not in seen]
        out["contenders_unseen"] = len(unseen)
        if unseen:  # a seed can evaluate every contender (under a tight constraint there are few)
            mean, std = strategy.models()[0].predict([cfg["contenders"][0][i] for i in unseen])
            error = np.abs(mean - cfg["contenders"][1][unseen])
            out.update({"contender_rmse": float(np.sqrt(np.mean(error ** 2))),
                        "contender_median_abs_error": float(np.median(error)),
                        "contender_share_off_by_3": float(np.mean(error > 3)),
                        "contender_median_std": float(np.median(std))})
        out.update(missed_points(strategy, cfg, seen))
    return out


def missed_points(strategy, cfg: dict, seen: set) -> dict:
    """For each reachable front point the search missed: how many unevaluated cells of the same cost its
    final accuracy model ranks above the point's cell (0: it is the model's first pick there), by how
    much it under-predicts the cell, and the cell's predicted std."""
    reps, rep_acc = cfg["reps"]
    space, rows = cfg["space"], []
    mean, std = strategy.models()[0].predict(reps)
    for best, level in cfg["reachable"]:
        if space.canonical_key(reps[best]) in seen:
            continue
        unseen = [i for i in level if space.canonical_key(reps[i]) not in seen]
        rows.append((int(np.sum(mean[unseen] > mean[best])), rep_acc[best] - mean[best], std[best]))
    return {"missed_points": [list(map(float, r)) for r in rows]}


def pool_missed(runs: list[dict]) -> dict:
    """The missed front points of all seeds: how many, the median number of cells ranked above them, the
    share with 20 or more above, the median under-prediction and std."""
    missed = np.array([m for r in runs for m in r["missed_points"]]).reshape(-1, 3)
    if not len(missed):
        return {"count": 0}
    rank, under, std = missed.T
    return {"count": len(missed), "median_rank": float(np.median(rank)),
            "share_ranked_below_20": float(np.mean(rank >= 20)),
            "median_underprediction": float(np.median(under)), "median_std": float(np.median(std))}


def ask_times(strategy_name: str, cfg: dict, sizes: list[int]) -> dict:
    """CPU seconds of one ask after ``n`` random table results were told (mean of 3; first in parentheses)."""
    out = {}
    for n in sizes:
        strategy = make(strategy_name, cfg, 0)
        rng = np.random.default_rng(0)
        for _ in range(n):
            arch = cfg["space"].sample(rng)
            if strategy.known_score(arch) is not None:
                continue
            metrics = {"val_acc": cfg["table"].value(arch, "val_acc"), "params": float(cfg["cost"](arch))}
            strategy.tell(arch, constrain((metrics["val_acc"], -metrics["params"]), metrics,
                                          [cfg["constraint"]] if cfg["constraint"] else None))
        times = []
        for _ in range(3):
            start = time.process_time()
            arch = strategy.ask()
            times.append(time.process_time() - start)
            metrics = {"val_acc": cfg["table"].value(arch, "val_acc"), "params": float(cfg["cost"](arch))}
            strategy.tell(arch, constrain((metrics["val_acc"], -metrics["params"]), metrics,
                                          [cfg["constraint"]] if cfg["constraint"] else None))
        out[str(n)] = {"mean": float(np.mean(times)), "first": times[0]}
        print(f"{strategy_name:18} ask at {n:5d} results: {np.mean(times):.3f} s (first {times[0]:.3f})", flush=True)
    return out


def stored_run(path: str, run: dict, empty: dict) -> dict:
    """The results stored at ``path`` to merge this run's rows into (``run`` and ``empty`` when there are none);
    stops with one line when they were measured with other ``run`` settings, which the merged rows would then
    wrongly claim."""
    stored = read_json(path, {})
    if not stored:
        return {**run, **empty}
    for key, value in run.items():
        if stored.get(key) != value:
            raise SystemExit(f"{path} holds results of a run with {key} {stored.get(key)!r}, not {value!r}; "
                             f"choose another --out to keep both")
    return {**empty, **stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1 "
                        "(a replication on new seeds)")
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--settings", default="conv,params,params_constrained")
    parser.add_argument("--strategies", default="mo_random,mo_evolution,nsga2,optuna_nsga2,optuna_nsga2+plain")
    parser.add_argument("--slow", default="parego", help="expensive strategies, run with --slow-seeds only")
    parser.add_argument("--slow-seeds", type=int, default=3)
    parser.add_argument("--slow-trials", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ask-times", default="", help="e.g. 100,1000: only time asks after that many "
                        "random results, for --strategies, in the first setting")
    parser.add_argument("--out", default=str(RESULTS / "strategies_mo.json"))
    parser.add_argument("--strategy-kwargs", type=json.loads, default={},
                        help='JSON keyword arguments for every strategy but Optuna\'s, e.g. \'{"samples": 4}\'')
    parser.add_argument("--canonical-rule", default="network",
                        help="NB201 de-duplication rule: network (default), functional (figures before 2026-12-05), "
                             "nb201")
    parser.add_argument("--per-point", action="store_true", help="print in how many seeds each true front "
                        "point was found (always stored in --out)")
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    if args.ask_times:
        name = args.settings.split(",")[0]
        results = stored_run(args.out, {"setting": name, "canonical_rule": args.canonical_rule,
                                        "strategy_kwargs": args.strategy_kwargs}, {"ask_cpu_seconds": {}})
        table = load_nb201(canonical_rule=args.canonical_rule)
        _CTX[name] = {**setting(name, table), "strategy_kwargs": args.strategy_kwargs}
        sizes = [int(n) for n in args.ask_times.split(",")]
        for s in (s for s in args.strategies.split(",") if s):
            results["ask_cpu_seconds"][s] = ask_times(s, _CTX[name], sizes)
            write_json(args.out, results)
        return
    results = stored_run(args.out, {"seeds": args.seeds, "first_seed": args.first_seed, "trials": args.trials,
                                    "canonical_rule": args.canonical_rule, "strategy_kwargs": args.strategy_kwargs},
                         {"settings": {}})
    table = load_nb201(canonical_rule=args.canonical_rule)
    for name in args.settings.split(","):
        _CTX[name] = {**setting(name, table), "strategy_kwargs": args.strategy_kwargs}
        cfg = _CTX[name]
        kept = results["settings"].get(name, {}).get("strategies", {})  # rows of other strategies stay
        results["settings"][name] = {"true_front_points": len(cfg["true"]), "reference": cfg["ref"],
                                     "constraint": cfg["constraint"], "dedup_ceiling": cfg["ceiling"],
                                     "strategies": kept}
        print(f"== {name}: {len(cfg['true'])}-point true front, reference {cfg['ref']}, "
              f"constraint {cfg['constraint']}; scoring canonical representatives (ts_hvi, qnehvi) reaches at most "
              f"{cfg['ceiling']['reachable_points']} points and gap {cfg['ceiling']['best_gap']:.4f}, and the "
              f"representatives' front has {cfg['ceiling']['reachable_front_points']} points; the true front is "
              f"{cfg['ceiling']['front_networks']} distinct networks (what de-duplication itself allows)", flush=True)
        groups = [(s, args.seeds, args.trials) for s in args.strategies.split(",") if s] + \
                 [(s, args.slow_seeds, args.slow_trials) for s in args.slow.split(",") if s]
        for strategy, seeds, trials in groups:
            start = time.perf_counter()
            tasks = [(strategy, name, args.first_seed + seed, trials) for seed in range(seeds)]
            if args.workers > 1:
                with get_context("fork").Pool(args.workers) as pool:
                    runs = pool.map(run, tasks, chunksize=1)
            else:
                runs = [run(t) for t in tasks]
            keys = dict.fromkeys(k for r in runs for k in r if k not in ("hits", "missed_points", "library"))
            # the mean over the seeds that have the figure (a seed that evaluated every contender has no error)
            row = {k: float(np.mean([r[k] for r in runs if k in r])) for k in keys}
            if "missed_points" in runs[0]:
                row["missed_points"] = pool_missed(runs)
            # per true front point (accuracy, cost): in how many seeds it was evaluated
            row["per_point"] = [[*p, sum(p in r["hits"] for r in runs)] for p in sorted(cfg["true"])]
            row.update(runs[0]["library"])
            found = [r["found"] for r in runs]
            row.update({"seeds": seeds, "trials": trials, "wall_seconds": time.perf_counter() - start,
                        "found_median": float(np.median(found)), "found_per_seed": found,
                        "found_standard_error": float(np.std(found, ddof=1) / np.sqrt(seeds)) if seeds > 1 else None})
            results["settings"][name]["strategies"][strategy] = row
            gaps = " ".join(f"{k} {v:.4f}" for k, v in row.items() if k.startswith("gap@"))
            sem = row["found_standard_error"]
            print(f"{strategy:18} seeds {seeds:3d}  {gaps}  found {row['found']:.2f} of {len(cfg['true'])} "
                  f"(median {row['found_median']:g}" + ("" if sem is None else f", standard error {sem:.2f}") + "); "
                  f"of the representatives' front "
                  f"{row['found_reachable_front']:.2f} of {cfg['ceiling']['reachable_front_points']}; "
                  f"networks of the true front trained {row['found_networks']:.2f} of {len(cfg['true'])}  "
                  f"{row['seconds']:.2f} s/run", flush=True)
            if args.per_point:  # under its strategy's row, named: the lines of several strategies follow each other
                print(f"  {strategy}: seeds that found each front point:",
                      ", ".join(f"{a:.3f}@{c:g}: {n}" for a, c, n in row["per_point"]), flush=True)
            if "contender_rmse" in row:
                print(f"  accuracy model on the {row['contenders_unseen']:.0f} of {len(cfg['contenders'][1])} "
                      f"contenders it did not evaluate: RMSE "
                      f"{row['contender_rmse']:.2f}, median |error| {row['contender_median_abs_error']:.2f}, "
                      f"off by > 3: {100 * row['contender_share_off_by_3']:.1f} %, "
                      f"median std {row['contender_median_std']:.2f}", flush=True)
            if row.get("missed_points", {}).get("count"):
                m = row["missed_points"]
                print(f"  the {m['count']} reachable front points it missed (all seeds): the final model ranks "
                      f"{m['median_rank']:.0f} unevaluated cells of their cost above them (median; "
                      f"{100 * m['share_ranked_below_20']:.0f} % have 20 or more above), under-predicts them by "
                      f"{m['median_underprediction']:.2f} with std {m['median_std']:.2f}", flush=True)
            write_json(args.out, results)  # after every row: a long run keeps its rows


if __name__ == "__main__":
    main()
