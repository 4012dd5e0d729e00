"""Few-shot vs one-shot NAS on the ranking study's ground truth, over several supernet seeds.

    .venv/bin/python benchmarks/oneshot_fewshot.py [--out nasforge-runs/oneshot-study] [--seeds 0,1,2]

Reuses the ground truth stored by ``nasforge oneshot study`` in ``--out`` (trains it if missing). For each
supernet seed, one SPOS parent supernet is trained; every variant is scored on the same K architectures
with BN recalibration and compared with the ground truth (Kendall tau). Variants:

- ``one-shot``: the parent (``--epochs`` SPOS epochs);
- ``one-shot, few-shot's budget``: the parent trained further as long as the sub-supernets together;
- ``few-shot <edge> ...``: the parent split on one edge, each sub-supernet inherits its weights and trains
  ``--member-epochs`` more (learning rate restarted at ``lr / 2``, cosine); "seed+i" gives member i its
  own seed (batches, augmentation, paths), "shared seed" the parent's (common random numbers);
- ``equal epochs``: a parent of half the epochs split, members trained so that the total number of
  epochs equals the one-shot parent's (``--epochs``);
- ``--group continue``: the parent is snapshotted at epoch ``--split-epoch`` of its schedule; each
  sub-supernet (shared seed) starts from the snapshot and finishes the *same* cosine schedule (no restart, no jump in
  learning rate); compared with the one-shot parent (same schedule, same per-supernet epochs) and with a
  one-shot supernet trained as many epochs in total (split epoch + parts x remaining epochs);
- ``--group split``: where and how to split, every few-shot supernet at equal total epochs (a parent of
  ``--epochs / 2`` and the parts sharing the other half), against the one-shot parent of ``--epochs``:
  the fixed ``edge_0_3``; GM-NAS's gradient-matching choice (:func:`nasforge.oneshot.fewshot.choose_split`
  on the half-trained parent) of one edge split exhaustively, of one edge split into 2 option groups, of 2
  edges x 2 groups, and of 2 edges split exhaustively (25 parts). Every supernet is scored with several
  scorers (BN recalibration on 8 batches, on the whole training split, and the mean of 4 draws of 8
  batches), by accuracy and by loss; the summary adds seed ensembles (scores averaged over m supernet
  seeds, every subset of the seeds; m supernet trainings), their estimated limit for infinitely many
  seeds, and two-supernet pairs of one seed. ``--workers`` seeds run in parallel processes; ``--variants``
  / ``--scorers`` pick a subset; ``--resume`` keeps the seeds already in ``--results``; ``--sampling``
  sets every supernet's path sampling (e.g. ``unique``); ``--baseline FILE`` adds paired tau differences
  to the same rows of another run of the same seeds.

Every supernet here is as wide as the ground truth's networks (``supernet_width=1``) with the trainer's default
weight decay (3e-4) and scored by accuracy and loss: the settings of the stored results (the study's wider
defaults came later; docs/oneshot.md).

Per variant: tau, and the tau *within* each sub-supernet's architectures (averaged over parts, weighted
by pairs), which separates ranking inside a part from calibration between parts. Writes
``benchmarks/results/oneshot_fewshot.json`` (``--group continue``: ``oneshot_fewshot_continue.json``, ``--group
split``: ``oneshot_fewshot_split.json``): rows per seed, mean and std over seeds, paired deltas.
Torch uses one thread (the machine is shared).
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from nasforge.oneshot.fewshot import choose_split, split_supernet, train_few_shot
from nasforge.oneshot.scoring import ScoreConfig, SubnetScorer
from nasforge.oneshot.study import (RankingConfig, _supernet_for, ground_truth, kendall, sample_architectures,
                                    study_data)
from nasforge.oneshot.trainer import OneShotConfig, train_supernet
from nasforge.spaces import get_space

from _results import RESULTS, int_list, read_json, write_json


SCORERS = {"recal 8": ScoreConfig(bn_mode="recalibrate", recal_batches=8),
           "recal whole split": ScoreConfig(bn_mode="recalibrate", recal_batches=0),
           "recal 8 x 4 draws": ScoreConfig(bn_mode="recalibrate", recal_batches=8, draws=4)}

VARIANTS = ("fixed", "gm1", "gm1x2", "gm2x2", "gm2")
"""The few-shot variants of ``--group split`` (``--variants``): the fixed split and GM-NAS's choices."""

DEFAULT_RESULTS = {"restart": "oneshot_fewshot.json", "continue": "oneshot_fewshot_continue.json",
                   "split": "oneshot_fewshot_split.json"}
"""``--results`` of each ``--group`` by default: the file docs/oneshot.md cites for it."""


def within_tau(score: np.ndarray, truth: np.ndarray, groups: np.ndarray) -> float:
    """Kendall tau inside each group (pairs-weighted mean over groups with >= 3 members)."""
    taus, weights = [], []
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        if len(idx) >= 3:
            taus.append(kendall(score[idx], truth[idx]))
            weights.append(len(idx) * (len(idx) - 1) / 2)
    return float(np.average(taus, weights=weights))


def _summarize(results: dict, path: str) -> None:
    """Mean and std over seeds of every variant's tau, and its paired difference to one-shot; written out."""
    names = list(next(iter(results["per_seed"].values())))
    taus = {n: [results["per_seed"][s][n]["tau"] for s in results["per_seed"]] for n in names}
    results["summary"] = {n: {"tau_mean": float(np.mean(t)), "tau_std": float(np.std(t, ddof=1)) if len(t) > 1 else 0.0,
                              "delta_vs_one_shot": [a - b for a, b in zip(t, taus["one-shot"])]}
                          for n, t in taus.items()}
    write_json(path, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="nasforge-runs/oneshot-study")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--member-epochs", type=int, default=30)
    parser.add_argument("--group", default="restart", choices=("restart", "continue", "split"))
    parser.add_argument("--split-epoch", type=int, default=120)
    parser.add_argument("--workers", type=int, default=1, help="--group split: seeds run in parallel")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="--group split: few-shot variants")
    parser.add_argument("--scorers", default=",".join(SCORERS), help="--group split: scorers")
    parser.add_argument("--resume", action="store_true", help="--group split: keep the seeds already in --results")
    parser.add_argument("--sampling", default="uniform", help="--group split: SPOS path sampling of every supernet")
    parser.add_argument("--baseline", default=None,
                        help="--group split: a results file of the same seeds; paired tau differences to its rows")
    parser.add_argument("--results", default=None,
                        help="the results file (default: benchmarks/results/oneshot_fewshot[_GROUP].json, the one "
                             "docs/oneshot.md cites for the group)")
    args = parser.parse_args()
    args.results = args.results or str(RESULTS / DEFAULT_RESULTS[args.group])
    baseline = check_args(parser, args)
    torch.set_num_threads(1)
    if args.group == "split":
        split_group(args, baseline)
        return
    cfg = RankingConfig(supernet_epochs=args.epochs, fewshot_epochs=args.member_epochs, supernet_width=1)
    space, data, archs, truth, params = study_setup(cfg, args.out)
    recal = ScoreConfig(bn_mode="recalibrate", recal_batches=cfg.recal_batches)
    results: dict = {"config": {**vars(args), "k": cfg.k, "gt_seeds": cfg.gt_seeds}, "per_seed": {}}

    for seed in [int(s) for s in args.seeds.split(",")]:
        rows: dict[str, dict] = {}

        def score(name: str, net, split_on: str | None, seconds: float) -> None:
            scorer = SubnetScorer(net, data, replace(recal, seed=seed))
            values = np.array([scorer.score(a)["val_acc"] for a in archs])
            row = {"tau": kendall(values, truth), "train_seconds": seconds, "scores": values.tolist()}
            for edge in ("edge_0_3", "edge_0_1"):  # within-part tau for both splits, for every variant
                row[f"within_tau[{edge}]"] = within_tau(values, truth, np.array([p[edge] for p in params]))
            rows[name] = row
            print(f"seed {seed} {name:<48} tau {row['tau']:+.3f}  within(0_3) {row['within_tau[edge_0_3]']:+.3f} "
                  f"within(0_1) {row['within_tau[edge_0_1]']:+.3f}  ({seconds:.0f} s)", flush=True)

        base = OneShotConfig(epochs=args.epochs, seed=seed)
        member = replace(base, epochs=args.member_epochs, lr=base.lr / 2)
        cfg_seed = replace(cfg, supernet_seed=seed)
        parent = _supernet_for(cfg_seed, data)
        snapshot: dict = {}

        def keep(epoch: int, _entry: dict) -> None:
            if epoch == args.split_epoch - 1:
                snapshot.update(copy.deepcopy(parent.state_dict()))

        rec = train_supernet(parent, data, base, on_epoch=keep)
        score("one-shot", parent, None, rec.train_seconds)
        if args.group == "continue":
            at_split = copy.deepcopy(parent)
            at_split.load_state_dict(snapshot)
            tail = replace(base, start_epoch=args.split_epoch)
            few = split_supernet(at_split, ["edge_0_3"])
            start = time.perf_counter()
            for m, allowed in zip(few.members, few.allowed):  # shared seed: the parent's
                train_supernet(m, data, tail, allowed=allowed)
            score(f"few-shot edge_0_3, continued from {args.split_epoch}, shared seed", few, "edge_0_3",
                  time.perf_counter() - start)
            total = args.split_epoch + 5 * (args.epochs - args.split_epoch)
            equal = _supernet_for(cfg_seed, data)
            rec_eq = train_supernet(equal, data, replace(base, epochs=total))
            score(f"one-shot, {total} epochs (few-shot's total)", equal, None, rec_eq.train_seconds)
            results["per_seed"][str(seed)] = rows
            _summarize(results, args.results)
            continue

        longer = copy.deepcopy(parent)
        rec2 = train_supernet(longer, data, replace(member, epochs=args.member_epochs * 5))
        score("one-shot, few-shot's budget", longer, None, rec.train_seconds + rec2.train_seconds)
        del longer

        for edge, shared in (("edge_0_3", False), ("edge_0_3", True), ("edge_0_1", True)):
            few = split_supernet(parent, [edge])
            start = time.perf_counter()
            if shared:
                for m, allowed in zip(few.members, few.allowed):
                    train_supernet(m, data, member, allowed=allowed)
            else:
                train_few_shot(few, data, member)
            name = f"few-shot {edge}, {'shared seed' if shared else 'seed+i'}"
            score(name, few, edge, rec.train_seconds + time.perf_counter() - start)

        half = _supernet_for(cfg_seed, data)
        rec_half = train_supernet(half, data, replace(base, epochs=args.epochs // 2))
        score("one-shot, half epochs", half, None, rec_half.train_seconds)
        few = split_supernet(half, ["edge_0_3"])
        start = time.perf_counter()
        for m, allowed in zip(few.members, few.allowed):  # 5 members x epochs/10 = the other half
            train_supernet(m, data, replace(member, epochs=args.epochs // 10), allowed=allowed)
        score("few-shot edge_0_3, equal epochs", few, "edge_0_3", rec_half.train_seconds + time.perf_counter() - start)

        results["per_seed"][str(seed)] = rows
        _summarize(results, args.results)
    for n, s in results["summary"].items():
        print(f"{n:<48} tau {s['tau_mean']:+.3f} +- {s['tau_std']:.3f}  "
              f"delta vs one-shot {np.mean(s['delta_vs_one_shot']):+.3f}")


def _split_seed(args: argparse.Namespace, seed: int) -> dict:
    """--group split, one supernet seed: scores (per scorer, accuracy and loss) of every variant, the GM plans."""
    torch.set_num_threads(1)
    cfg = replace(RankingConfig(supernet_epochs=args.epochs, supernet_width=1), supernet_seed=seed)
    data = study_data(cfg.data, cfg.data_dir, cfg.noise, cfg.val_fraction, cfg.test_fraction, cfg.seed)
    archs = sample_architectures(get_space(cfg.space), cfg.k, cfg.seed)
    rows: dict[str, dict] = {}

    def score(name: str, net, seconds: float, **extra) -> None:
        row: dict = {"train_seconds": seconds, **extra}
        for scorer_name in args.scorers.split(","):
            scorer = SubnetScorer(net, data, replace(SCORERS[scorer_name], seed=seed))
            values = [scorer.score(a) for a in archs]
            row[scorer_name] = {"acc": [v["val_acc"] for v in values], "loss": [v["val_loss"] for v in values],
                                "seconds": scorer.seconds}
        rows[name] = row
        print(f"seed {seed} {name} done ({seconds:.0f} s training)", flush=True)

    base = OneShotConfig(epochs=args.epochs, seed=seed, sampling=args.sampling)
    parent = _supernet_for(cfg, data)
    rec = train_supernet(parent, data, base)
    score("one-shot", parent, rec.train_seconds)
    del parent
    half = _supernet_for(cfg, data)
    rec_half = train_supernet(half, data, replace(base, epochs=args.epochs // 2))
    score("one-shot, half epochs", half, rec_half.train_seconds)
    start = time.perf_counter()
    exhaustive = choose_split(half, data, n_decisions=2, seed=seed)
    binary = choose_split(half, data, n_decisions=2, n_groups=2, seed=seed)
    gm_seconds = time.perf_counter() - start
    plans = {"exhaustive": vars(exhaustive), "binary": vars(binary), "seconds": gm_seconds}
    variants = {"fixed": ("few-shot edge_0_3 (fixed)", ["edge_0_3"], None),
                "gm1": ("few-shot GM: 1 edge, exhaustive", exhaustive.on[:1], None),
                "gm1x2": ("few-shot GM: 1 edge x 2 groups", binary.on[:1], binary.groups),
                "gm2x2": ("few-shot GM: 2 edges x 2 groups", binary.on, binary.groups),
                "gm2": ("few-shot GM: 2 edges, exhaustive", exhaustive.on, None)}
    member = replace(base, lr=base.lr / 2)
    for name, on, groups in (variants[v] for v in args.variants.split(",")):
        few = split_supernet(half, on, {k: groups[k] for k in on} if groups else None)
        same = [n for n, r in rows.items() if r.get("allowed") == few.allowed]
        if same:  # GM chose the fixed split: the same supernet (deterministic), scored once
            rows[name] = {**rows[same[0]], "same_as": same[0]}
            continue
        epochs = max(1, round((args.epochs - args.epochs // 2) / len(few.members)))
        start = time.perf_counter()
        train_few_shot(few, data, replace(member, epochs=epochs), shared_seed=True)
        score(name, few, rec_half.train_seconds + time.perf_counter() - start, allowed=few.allowed, split_on=on,
              parts=len(few.members), part_epochs=epochs, total_epochs=args.epochs // 2 + epochs * len(few.members))
    return {"rows": rows, "plans": plans}


def ensemble_limit(tau_truth: float, tau_between: float) -> float:
    """Kendall tau with the ground truth expected of the mean score of infinitely many supernet seeds, from
    one seed's tau with the truth and the tau between two seeds' scores (Greiner's relation r = sin(pi tau / 2),
    classical test theory: the seed-noise-free score correlates r_truth / sqrt(r_between) with the truth)."""
    r_truth, r_between = np.sin(np.pi * tau_truth / 2), np.sin(np.pi * tau_between / 2)
    if r_between <= 0:
        return float("nan")
    return float(2 / np.pi * np.arcsin(min(1.0, r_truth / np.sqrt(r_between))))


COMBINATIONS = (("one-shot, half epochs", "few-shot edge_0_3 (fixed)"),  # the few-shot parent: no extra training
                ("one-shot", "few-shot edge_0_3 (fixed)"), ("one-shot", "one-shot, half epochs"))


def _with_combinations(rows: dict) -> dict:
    """Rows plus, per pair in COMBINATIONS, the mean of both supernets' scores (a two-supernet ensemble)."""
    out = dict(rows)
    for a, b in COMBINATIONS:
        if a in rows and b in rows:
            out[f"{a} + {b}"] = {k: {m: ((np.array(v[m]) + np.array(rows[b][k][m])) / 2).tolist() for m in ("acc", "loss")}
                                 for k, v in rows[a].items() if k in SCORERS and k in rows[b]}
    return out


def _split_summary(per_seed: dict, truth: np.ndarray, params: list[dict]) -> dict:
    """tau per variant x scorer x metric (mean, std, per seed, paired delta vs one-shot with the same scorer),
    and seed ensembles: scores averaged over every subset of m seeds (at most 200 subsets drawn at random per m).
    Only variants and scorers that every seed has are summarized."""
    from itertools import combinations

    seeds = sorted(per_seed, key=int)
    per_seed = {s: {"rows": _with_combinations(per_seed[s]["rows"])} for s in seeds}
    names = [n for n in per_seed[seeds[0]]["rows"] if all(n in per_seed[s]["rows"] for s in seeds)]
    groups = np.array([p["edge_0_3"] for p in params])
    rng = np.random.default_rng(0)
    summary: dict = {}
    for name in names:
        for scorer in [k for k in SCORERS if all(k in per_seed[s]["rows"][name] for s in seeds)]:
            for metric in ("acc", "loss"):
                sign = 1.0 if metric == "acc" else -1.0
                scores = [sign * np.array(per_seed[s]["rows"][name][scorer][metric]) for s in seeds]
                base = [sign * np.array(per_seed[s]["rows"]["one-shot"][scorer][metric]) for s in seeds]
                taus = [kendall(v, truth) for v in scores]
                deltas = [t - kendall(b, truth) for t, b in zip(taus, base)]
                ensembles = {}
                for m in range(2, len(seeds) + 1):
                    subsets = list(combinations(range(len(seeds)), m))
                    if len(subsets) > 200:
                        subsets = [subsets[i] for i in rng.choice(len(subsets), 200, replace=False)]
                    ens = [kendall(np.mean([scores[i] for i in c], axis=0), truth) for c in subsets]
                    ensembles[str(m)] = {"tau_mean": float(np.mean(ens)), "tau_min": float(np.min(ens)),
                                         "tau_max": float(np.max(ens)), "subsets": len(subsets)}
                between = [kendall(scores[i], scores[j]) for i, j in combinations(range(len(seeds)), 2)]
                summary[f"{name} | {scorer} | {metric}"] = {
                    "supernet_to_supernet_tau": float(np.mean(between)) if between else float("nan"),
                    "ensemble_limit_tau": ensemble_limit(float(np.mean(taus)), float(np.mean(between)))
                    if between else float("nan"),
                    "tau_mean": float(np.mean(taus)), "tau_std": float(np.std(taus, ddof=1)) if len(taus) > 1 else 0.0,
                    "per_seed": taus, "delta_vs_one_shot": deltas, "delta_mean": float(np.mean(deltas)),
                    "within_tau[edge_0_3]": float(np.mean([within_tau(v, truth, groups) for v in scores])),
                    "seed_ensembles": ensembles}
    return summary


def _paired_with(summary: dict, per_seed: dict, baseline: dict, truth: np.ndarray) -> None:
    """Per summary row: tau minus that of the same row in ``baseline`` (same seeds), per seed and mean."""
    mine = {s: _with_combinations(r["rows"]) for s, r in per_seed.items()}
    theirs = {s: _with_combinations(r["rows"]) for s, r in baseline["per_seed"].items() if s in per_seed}
    for key, row in summary.items():
        name, scorer, metric = key.split(" | ")
        sign = 1.0 if metric == "acc" else -1.0
        seeds = [s for s in sorted(mine, key=int) if s in theirs and name in theirs[s] and scorer in theirs[s][name]]
        deltas = [kendall(sign * np.array(mine[s][name][scorer][metric]), truth)
                  - kendall(sign * np.array(theirs[s][name][scorer][metric]), truth) for s in seeds]
        if deltas:
            row["delta_vs_baseline"] = {"seeds": seeds, "per_seed": deltas, "mean": float(np.mean(deltas))}


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict | None:
    """Refuse (one line, before any training) seeds, variants or scorers that are no such thing, a
    ``--split-epoch`` of ``--group continue`` that the parent's ``--epochs`` never reach, and a ``--baseline`` that
    is no results file of ``--group split``; returns the baseline's results (None without one)."""
    int_list(parser, "--seeds", args.seeds)
    for option, given, known in (("--variants", args.variants, VARIANTS), ("--scorers", args.scorers, SCORERS)):
        unknown = [name for name in given.split(",") if name not in known]
        if unknown:
            parser.error(f"{option}: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(known)}")
    if args.group == "continue" and not 1 <= args.split_epoch < args.epochs:
        parser.error(f"--split-epoch must be from 1 to below --epochs ({args.epochs}) for --group continue, "
                     f"got {args.split_epoch}")
    if args.baseline is None:
        return None
    if args.group != "split":
        parser.error(f"--baseline is for --group split only, not --group {args.group}")
    if not Path(args.baseline).is_file():
        parser.error(f"--baseline {args.baseline}: no such file")
    baseline = read_json(args.baseline, {})
    if not isinstance(baseline.get("per_seed"), dict):
        parser.error(f"--baseline {args.baseline}: no 'per_seed' results of a --group split run")
    return baseline


def study_setup(cfg: RankingConfig, out: str) -> tuple:
    """The study's space, data, K architectures, mean ground-truth accuracy (stored in ``out``, created if missing)
    and params."""
    Path(out).mkdir(parents=True, exist_ok=True)
    space = get_space(cfg.space)
    data = study_data(cfg.data, cfg.data_dir, cfg.noise, cfg.val_fraction, cfg.test_fraction, cfg.seed)
    archs = sample_architectures(space, cfg.k, cfg.seed)
    gt = ground_truth(cfg, archs, data, f"sqlite:///{Path(out) / 'ground_truth.db'}")
    return space, data, archs, gt["acc"].mean(0), [space.to_params(a) for a in archs]


def split_group(args: argparse.Namespace, baseline: dict | None) -> None:
    """--group split: every seed (``--workers`` at a time), summary rewritten after each; paired differences to
    ``baseline``'s rows when given."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    cfg = RankingConfig(supernet_epochs=args.epochs, supernet_width=1)
    space, data, archs, truth, params = study_setup(cfg, args.out)
    results: dict = {"config": {**vars(args), "k": cfg.k, "gt_seeds": cfg.gt_seeds,
                                "scorers": {n: sc.tricks() for n, sc in SCORERS.items()}}, "per_seed": {}}
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.resume and Path(args.results).is_file():  # seeds already measured are kept, not run again
        results["per_seed"] = read_json(args.results, {}).get("per_seed", {})
        seeds = [s for s in seeds if str(s) not in results["per_seed"]]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("fork")) as pool:
        futures = {pool.submit(_split_seed, args, s): s for s in seeds}
        for future in as_completed(futures):
            results["per_seed"][str(futures[future])] = future.result()
            results["summary"] = _split_summary(results["per_seed"], truth, params)
            if baseline is not None:
                _paired_with(results["summary"], results["per_seed"], baseline, truth)
            results["wall_seconds"] = time.perf_counter() - start
            write_json(args.results, results, default=float)
    n = len(results["per_seed"])
    for key, row in results["summary"].items():
        ens = row["seed_ensembles"].get(str(n), {}).get("tau_mean", float("nan"))
        print(f"{key:<64} tau {row['tau_mean']:+.3f} +- {row['tau_std']:.3f}  vs one-shot {row['delta_mean']:+.3f}  "
              f"ensemble of {n} {ens:+.3f}")


if __name__ == "__main__":
    main()
