"""The ranking study: how far can a supernet's scores be trusted on this space and data?

K random architectures are trained standalone with several seeds (the ground truth, stored as studies so a
rerun reuses and extends them); supernets are trained and score the same K architectures under several
configurations; every configuration and the cheap baselines (parameters, FLOPs, one-epoch training) are
compared with the ground truth: Kendall tau, Spearman, tau among the ground truth's best 10% (at least 5
architectures: ``top10_tau``, over ``top10_n``), top-1/top-10 picks vs random picks, bias (correlation with
size, per-op frequency among favourites) and search-space pruning. The
seed-to-seed agreement of the ground truth itself is the ceiling printed next to every tau.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import check_int, is_int, is_number
from ..exceptions import UsageError
from ..registry import did_you_mean
from ..spaces import Architecture, SearchSpace, get_space
from .checks import DATA_OPTIONS, check_augment, check_split_options

STUDY_DATASETS = ("digits", "digits-hard")
MIN_K = 10
"""The smallest ``RankingConfig.k`` (``oneshot study --k``): the report's top-10 figures need 10 architectures."""
BASELINE_SEED = 1000
"""Training seed of the short-training baseline: outside the ground-truth seeds (0 .. gt_seeds - 1), so the
baseline is an independent training (own initial weights and batch order), stored in its own study."""


def data_names() -> list[str]:
    """Every data set :func:`study_data` loads: the study's own digits sets, then :func:`load_dataset`'s."""
    from ..data.sources import DATASETS

    return list(dict.fromkeys([*STUDY_DATASETS, *DATASETS]))


def check_data_options(name: str, data_dir: str | None, noise: float | None, label: Callable[[str], str] = str,
                       test_fraction: float | None = None, strict_noise: bool = False) -> None:
    """``UsageError`` (naming ``label(field)``) for an unknown data set, a ``data_dir`` for the built-in digits
    sets (nothing is read from it) or none for the others, a ``noise`` other than :func:`study_data`'s default
    (None: not given; with ``strict_noise``, any noise given) for data other than digits-hard, or a
    ``test_fraction`` other than its default (or None) for CIFAR, whose test split is its own; :func:`study_data`
    would ignore them. The values themselves are :func:`~nasforge.oneshot.checks.check_split_options`'s."""
    from ..data.sources import stored_splits

    defaults = split_defaults()
    allowed_noise = (None,) if strict_noise else (None, defaults["noise"])
    if name not in data_names():
        raise UsageError(f"{label('data')} {name}: unknown data set{did_you_mean(name, data_names())}; "
                         f"choose from {data_names()}")
    if name in STUDY_DATASETS and data_dir is not None:
        raise UsageError(f"{label('data_dir')} {data_dir} applies to data read from files, not {name} (built in)")
    if name not in STUDY_DATASETS and data_dir is None:
        raise UsageError(f"{label('data')} {name}: needs a data directory ({label('data_dir')}: its folder or file)")
    if name != "digits-hard" and noise not in allowed_noise:
        raise UsageError(f"{label('noise')} {noise} applies to digits-hard only, not {name}")
    if (name in ("cifar10", "cifar100") and test_fraction not in (None, defaults["test_fraction"])
            and "test" in stored_splits(name, data_dir)):  # where the batches are missing, loading says so
        raise UsageError(f"{label('test_fraction')} {test_fraction} does not apply to {name}: its test split is "
                         "its own test batch")


@dataclass
class RankingConfig:
    """Settings of the ranking study (defaults: NB201 on digits, minutes on two CPU cores).

    ``data`` "digits", "digits-hard" (digits with fixed Gaussian pixel noise of std ``noise``) or a
    :func:`nasforge.data.load_dataset` name with ``data_dir``; ``val_fraction`` of the images validate
    (the ground truth and every supernet score), ``test_fraction`` are held out. Ground truth: ``k``
    architectures (distinct, output connected), ``gt_seeds`` trainings of ``gt_epochs`` epochs each of a
    C x N network (``gt_seeds`` at most :data:`BASELINE_SEED`); ``check_epochs``: further ground truths of other
    training lengths (same seeds), which every row is also scored against (does the verdict depend on how long
    the ground truth trains?). Baseline: one training of ``baseline_epochs`` per architecture with the seed
    :data:`BASELINE_SEED` (independent of every ground-truth training). Supernets:
    ``supernet_width`` times wider than the ground truth's networks (a sub-network only has to rank them, it
    need not be as narrow), trained with ``supernet_weight_decay``, scoring a sub-network by minus its
    validation loss or by its validation accuracy (``score_by`` "loss" / "acc"; the defaults rank best,
    docs/oneshot.md); SPOS for ``supernet_epochs``; few-shot splits on ``split_on``, each
    sub-supernet inherits the weights of a trained SPOS supernet (the SPOS row's, or with
    ``fewshot_parent_epochs`` one trained that long) and trains ``fewshot_epochs`` more (cosine restarted at
    ``fewshot_lr_factor`` x the SPOS learning rate) or, with ``fewshot_split_epoch`` e, inherits the SPOS
    weights after epoch e and finishes the SPOS schedule (``supernet_epochs`` - e epochs, no restart);
    ``fewshot_shared_seed``: every sub-supernet sees the same batch order and augmentation (common random
    numbers) instead of seed + i. Where the few-shot supernets' epochs (parent and parts) differ from
    ``supernet_epochs``, the row "SPOS, few-shot's budget" is a one-shot supernet trained as many (the CLI
    scales the few-shot epochs with ``supernet_epochs``: :func:`scaled_fewshot_budget`). Scoring recalibrates BN on
    ``recal_batches`` batches and fine-tunes ``finetune_steps`` steps where a row says so. ``extra_tricks``
    adds one row (and one supernet) per trick: "strict_fair", "affine_off", "drop_path", "ghost_bn",
    "group_norm". ``seed`` draws the data split and the architectures; every supernet row is repeated for
    ``supernet_seeds`` seeds from ``supernet_seed`` (weights, paths, scoring batches) and reported as mean and
    std over them (a tau over K=40 moves by about 0.1 between supernet trainings). ``workers``: processes
    for the ground-truth trainings and the supernet seeds; ``threads``: torch threads per process (one is
    fastest for these small networks, and far faster on a shared machine). ``augment``: the training
    augmentation of the ground truth and the supernets (:data:`~nasforge.oneshot.checks.AUGMENTATIONS`; None: the
    data set's own, "crop" for digits, "crop_flip" for files); part of the ground-truth protocol when given.
    """

    space: str = "nb201"
    data: str = "digits-hard"
    data_dir: str | None = None
    noise: float = 0.5
    val_fraction: float = 0.4
    test_fraction: float = 0.1
    k: int = 40
    gt_seeds: int = 4
    gt_epochs: int = 8
    check_epochs: tuple[int, ...] = ()
    C: int = 8
    N: int = 1
    supernet_width: int = 4
    supernet_weight_decay: float = 1e-2
    score_by: str = "loss"
    supernet_epochs: int = 150
    fewshot_epochs: int = 15
    split_on: tuple[str, ...] = ("edge_0_3",)
    recal_batches: int = 8
    finetune_steps: int = 20
    baseline_epochs: int = 1
    fewshot_lr_factor: float = 0.5
    fewshot_parent_epochs: int | None = 75
    fewshot_split_epoch: int | None = None
    fewshot_shared_seed: bool = True
    extra_tricks: tuple[str, ...] = ()
    seed: int = 0
    supernet_seed: int = 0
    supernet_seeds: int = 2
    workers: int = 2
    threads: int = 1
    augment: str | None = None

    def validate(self, label: Callable[[str], str] = str) -> None:
        """Check the fields before any work starts; ``UsageError`` names a field as ``label(name)`` (the CLI
        passes its --option names). Settings the chosen few-shot variant would ignore are refused."""
        from .base import check_splittable, decisions

        check_data_options(self.data, self.data_dir, self.noise, label)
        check_augment(self.augment, label("augment"))
        check_split_options({"noise": self.noise, "val_fraction": self.val_fraction,
                             "test_fraction": self.test_fraction, "seed": self.seed}, label)
        check_int(label("k"), self.k, 1)
        if self.k < MIN_K:
            raise UsageError(f"{label('k')} must be >= {MIN_K} for top-10 figures, got {self.k}")
        get_space(self.space)  # an unknown name (or no name at all) is refused before the count is cached
        distinct = connected_count(self.space)
        if distinct is not None and self.k > distinct:
            raise UsageError(f"{label('k')} must be at most {distinct} for {self.space}: it has {distinct} distinct "
                             f"architectures whose output depends on the input, got {self.k}")
        check_int(label("finetune_steps"), self.finetune_steps, 1)  # 0 would copy the recal rows as fine-tune rows
        for name in ("supernet_epochs", "fewshot_epochs"):
            check_int(label(name), getattr(self, name), 1)
        if self.fewshot_parent_epochs is not None:  # None: split the SPOS row's trained supernet (the CLI's 0)
            try:
                check_int(label("fewshot_parent_epochs"), self.fewshot_parent_epochs, 1)
            except UsageError as exc:
                raise UsageError(f"{exc}; or None to split the SPOS row's trained supernet") from None
        if self.gt_seeds > BASELINE_SEED:
            raise UsageError(f"{label('gt_seeds')} must be at most {BASELINE_SEED}: the ground-truth seeds (0 .. "
                             f"{label('gt_seeds')} - 1) stay below the baseline's seed {BASELINE_SEED}, got "
                             f"{self.gt_seeds}")
        names = [name for name, _ in decisions(get_space(self.space))]
        unknown = [d for d in self.split_on if d not in names]
        if unknown or not self.split_on:
            what = f"unknown decision(s) {', '.join(unknown)}" if unknown else "no decision given"
            hint = did_you_mean(unknown[0], names) if unknown else ""
            raise UsageError(f"{label('split_on')} {','.join(self.split_on)}: {what}{hint}; "
                             f"choose from {', '.join(names)}")
        repeated = sorted({d for d in self.split_on if self.split_on.count(d) > 1})
        if repeated:
            raise UsageError(f"{label('split_on')} {','.join(self.split_on)}: decision(s) {', '.join(repeated)} "
                             "given twice; split on distinct decisions")
        check_splittable(get_space(self.space), self.split_on, label("split_on"))
        bad = [t for t in self.extra_tricks if t not in EXTRA_TRICKS]
        if bad:
            raise UsageError(f"{label('extra_tricks')}: unknown {bad}{did_you_mean(bad[0], EXTRA_TRICKS)}; "
                             f"choose from {list(EXTRA_TRICKS)}")
        repeated = sorted({t for t in self.extra_tricks if self.extra_tricks.count(t) > 1})
        if repeated:
            raise UsageError(f"{label('extra_tricks')}: trick(s) {', '.join(repeated)} given twice; each adds one row, "
                             "give it once")
        repeated = sorted({str(e) for e in self.check_epochs if self.check_epochs.count(e) > 1})
        if repeated:
            raise UsageError(f"{label('check_epochs')}: epoch count(s) {', '.join(repeated)} given twice; each trains "
                             "one more ground truth, give it once")
        if self.score_by not in SCORE_BY:
            raise UsageError(f"{label('score_by')} must be one of {list(SCORE_BY)}, got {self.score_by!r}")
        if self.supernet_width < 1 or self.supernet_weight_decay < 0:
            raise UsageError(f"{label('supernet_width')} must be >= 1 and {label('supernet_weight_decay')} >= 0")
        if self.fewshot_split_epoch is not None:
            if not 0 < self.fewshot_split_epoch < self.supernet_epochs:
                raise UsageError(f"{label('fewshot_split_epoch')} must be in (0, {label('supernet_epochs')}="
                                 f"{self.supernet_epochs}), got {self.fewshot_split_epoch}")
            unused = [label(n) for n in ("fewshot_parent_epochs", "fewshot_epochs", "fewshot_lr_factor")
                      if getattr(self, n) != _DEFAULTS[n]]
            if unused:
                raise UsageError(f"{', '.join(unused)} would be ignored with {label('fewshot_split_epoch')} (the "
                                 "parts inherit SPOS's weights at that epoch and finish its schedule); give one or "
                                 "the other")

    def gt_protocol(self) -> dict[str, Any]:
        """What makes ground-truth trainings comparable (their study name is a hash of it)."""
        keys = ("space", "data", "data_dir", "noise", "val_fraction", "test_fraction", "C", "N")
        protocol = {k: getattr(self, k) for k in keys}
        if self.seed:  # the data split depends on it (seed 0 is left out so stored studies keep their names)
            protocol["seed"] = self.seed
        if self.augment is not None:  # the trainings depend on it (left out unless given, for the same reason)
            protocol["augment"] = self.augment
        return protocol


_DEFAULTS = {f.name: f.default for f in fields(RankingConfig)}


def scaled_fewshot_budget(supernet_epochs: int) -> dict[str, int]:
    """``fewshot_parent_epochs`` and ``fewshot_epochs`` for ``supernet_epochs``: their defaults scaled by
    ``supernet_epochs`` / the default ``supernet_epochs`` (rounded down, at least 1), so the default split's
    parent and 5 parts train about as long as the SPOS row (at the default 150 epochs: 75 and 15, the defaults)."""
    base = _DEFAULTS["supernet_epochs"]
    return {name: max(1, supernet_epochs * _DEFAULTS[name] // base)
            for name in ("fewshot_parent_epochs", "fewshot_epochs")}


SCORE_BY = {"acc": lambda metrics: metrics["val_acc"], "loss": lambda metrics: -metrics["val_loss"]}  # higher = better
EXTRA_TRICKS = ("strict_fair", "affine_off", "drop_path", "ghost_bn", "group_norm")


# -- data and architectures -----------------------------------------------------------------------
def study_data(name: str = "digits-hard", data_dir: str | None = None, noise: float = 0.5,
               val_fraction: float = 0.4, test_fraction: float = 0.1, seed: int = 0, augment: str | None = None):
    """The study's data set: digits (optionally noisy) with a large validation split, or any loadable set;
    ``augment``: its training augmentation (None: the data set's own)."""
    from ..data import load_dataset, load_digits

    if name not in data_names():
        raise UsageError(f"unknown data set {name!r}{did_you_mean(name, data_names())}; choose from {data_names()}")
    if name not in STUDY_DATASETS:  # only the fractions that apply: a split the files hold is not drawn
        from ..evaluators.training import held_fractions

        void = held_fractions(name, data_dir)
        fractions = {k: v for k, v in (("val_fraction", val_fraction), ("test_fraction", test_fraction))
                     if k not in void}
        return load_dataset(name, data_dir, seed=seed, augment=augment, **fractions)
    data = load_digits(seed, val_fraction, test_fraction, noise=noise if name == "digits-hard" else 0.0,
                       augment=augment)
    return replace(data, name=name)


def split_defaults() -> dict[str, Any]:
    """:func:`study_data`'s defaults for the :data:`~nasforge.oneshot.checks.DATA_OPTIONS`: the split an option
    left unrecorded means."""
    return dict(_SPLIT_DEFAULTS)


_SPLIT_DEFAULTS = {k: p.default for k, p in inspect.signature(study_data).parameters.items() if k in DATA_OPTIONS}


@functools.lru_cache(maxsize=None)
def connected_count(space: str) -> int | None:
    """How many functionally distinct architectures whose output depends on the input the space named ``space``
    has: the most :func:`sample_architectures` can draw (None: too large to enumerate)."""
    found = get_space(space)
    if not found.is_enumerable:
        return None
    return len({found.canonical_key(a) for a in found.enumerate()} - {()})


def sample_architectures(space: SearchSpace, k: int, seed: int = 0) -> list[Architecture]:
    """``k`` functionally distinct architectures whose output depends on the input (a cell cut off from its
    input ranks last trivially and would inflate every correlation); the first ``k`` of a larger draw."""
    rng = np.random.default_rng(seed)
    seen: set = set()
    archs: list[Architecture] = []
    for _ in range(1000 * k):
        arch = space.sample(rng)
        key = space.canonical_key(arch)
        if key in seen or key == ():
            continue
        seen.add(key)
        archs.append(arch)
        if len(archs) == k:
            return archs
    raise ValueError(f"could not draw {k} distinct connected architectures from {space.name!r}")


# -- ground truth and baselines (stored as studies) ------------------------------------------------
def _trained(space: SearchSpace, archs: Sequence[Architecture], data, storage: str, name: str, C: int, N: int,
             epochs: int, seed: int, threads: int = 1, workers: int = 1,
             fingerprint: str | None = None) -> list[dict[str, float]]:
    """Metrics of each architecture trained standalone (``epochs``, ``seed``), reusing the study ``name``;
    ``workers`` processes train at a time. ``fingerprint`` (of data read from files) is recorded with a new
    study, and a stored study that recorded another one is refused: its trainings saw other data."""
    from ..evaluators.training import TrainingEvaluator
    from ..experiment import Study, TrialState
    from .checkpoint import check_study_fingerprint

    study = Study(space, strategy="random", name=name, storage=storage, load_if_exists=True, seed=seed)
    if fingerprint is not None:
        check_study_fingerprint(study, fingerprint, "keep this ground truth with the old files, or train a new one "
                                                    "in another --storage or --out")
    done = {t.arch: t for t in study.trials if t.state == TrialState.COMPLETE}
    queued = {t.arch for t in study.trials if t.state == TrialState.WAITING}
    for arch in archs:
        if arch not in done and arch not in queued:
            study.enqueue(arch)
    if any(arch not in done for arch in archs):
        evaluator = TrainingEvaluator(data=data, C=C, N=N, train={"epochs": epochs}, seed=seed, threads=threads,
                                      latency_repeats=1)
        # inline, an error propagates (catch=False); worker processes fail the trial, which the check below names
        parallel = {"n_workers": workers, "executor": "process",
                    "executor_options": {"threads_per_worker": threads, "start_method": "fork"}} \
            if workers > 1 and sys.platform.startswith("linux") else {"catch": False}
        study.optimize(evaluator, n_trials=0, **parallel)
    done = {t.arch: t for t in study.trials if t.state == TrialState.COMPLETE}
    missing = [space.format(a) for a in archs if a not in done]
    if missing:
        raise RuntimeError(f"ground-truth study {name!r} could not train {missing[:3]} ...")
    return [dict(done[arch].metrics) for arch in archs]


def gt_study_name(cfg: RankingConfig, epochs: int, seed: int) -> str:
    """Name of the stored study holding trainings of ``epochs`` epochs with ``seed`` under ``cfg``'s protocol."""
    tag = hashlib.sha1(json.dumps(cfg.gt_protocol(), sort_keys=True).encode()).hexdigest()[:8]
    return f"gt-{tag}-e{epochs}-s{seed}"


def train_standalone(cfg: RankingConfig, archs: Sequence[Architecture], data, storage: str,
                     epochs: int | None = None, seeds: Sequence[int] | None = None) -> list[list[dict[str, float]]]:
    """Metrics of each architecture trained standalone under the ground-truth protocol, per seed (reused from
    and added to the stored studies; with data read from files, a stored study trained on other contents is
    refused)."""
    from .checkpoint import data_fingerprint

    space = get_space(cfg.space)
    epochs = cfg.gt_epochs if epochs is None else epochs
    seeds = range(cfg.gt_seeds) if seeds is None else seeds
    fingerprint = data_fingerprint(data) if cfg.data_dir is not None else None  # a built-in set cannot change
    return [_trained(space, archs, data, storage, gt_study_name(cfg, epochs, s), cfg.C, cfg.N, epochs, s, cfg.threads,
                     cfg.workers, fingerprint) for s in seeds]


def _stored_trainings(archs: Sequence[Architecture], storage: str, names: Sequence[str]) -> list[int]:
    """How many of ``archs`` each study of ``names`` in ``storage`` already holds trained (reused, not trained
    again); the storage is opened once."""
    from ..exceptions import StorageError
    from ..experiment import TrialState
    from ..experiment.storage import open_storage

    try:
        opened = open_storage(storage, readonly=True)
    except StorageError:  # no storage yet: nothing to reuse
        return [0] * len(names)
    counts = []
    with opened:
        for name in names:
            try:
                done = {t.arch for t in opened.trials(opened.load_study(name).id) if t.state == TrialState.COMPLETE}
            except StorageError:  # no such study yet: nothing to reuse
                done = set()
            counts.append(sum(arch in done for arch in archs))
    return counts


def ground_truth(cfg: RankingConfig, archs: Sequence[Architecture], data, storage: str,
                 log: Callable[[str], None] = print) -> dict[str, Any]:
    """Per-seed validation accuracy/loss of the K architectures, their means, and the cheap baselines' inputs
    (the short-training baseline trains with :data:`BASELINE_SEED`, not a ground-truth seed)."""
    per_seed = []
    stored = _stored_trainings(archs, storage, [gt_study_name(cfg, cfg.gt_epochs, s) for s in range(cfg.gt_seeds)])
    for s, reused in enumerate(stored):  # each seed's own study: training one leaves the others' counts as they are
        start = time.perf_counter()
        per_seed += train_standalone(cfg, archs, data, storage, seeds=[s])
        kept = "" if not reused else "all reused, " if reused == len(archs) else f"{reused} reused, "
        log(f"ground truth seed {s}: {len(archs)} architectures ({kept}{time.perf_counter() - start:.0f} s)")
    acc = np.array([[m["val_acc"] for m in seed] for seed in per_seed])
    loss = np.array([[m["val_loss"] for m in seed] for seed in per_seed])
    baseline = train_standalone(cfg, archs, data, storage, epochs=cfg.baseline_epochs, seeds=[BASELINE_SEED])[0]
    return {"acc": acc, "loss": loss, "params": np.array([m["params"] for m in per_seed[0]]),
            "flops": np.array([m["flops"] for m in per_seed[0]]),
            "train_seconds": float(sum(m["train_seconds"] for seed in per_seed for m in seed)),
            "one_epoch_acc": np.array([m["val_acc"] for m in baseline]),
            "one_epoch_seconds": float(sum(m["train_seconds"] for m in baseline))}


# -- ranking metrics -------------------------------------------------------------------------------
def kendall(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic) if len(a) > 1 else float("nan")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic) if len(a) > 1 else float("nan")


def top_fraction(truth: np.ndarray, fraction: float = 0.1, minimum: int = 5) -> np.ndarray:
    """Indices of the ground truth's best ``fraction`` (at least ``minimum``)."""
    n = max(minimum, int(round(fraction * len(truth))))
    return np.argsort(-truth)[:n]


def expected_best_of_random(truth: np.ndarray, n: int) -> float:
    """Expected best ground truth among ``n`` architectures picked at random without replacement (exact)."""
    from math import comb

    values = np.sort(truth)
    k = len(values)
    if n >= k:
        return float(values[-1])
    probs = np.array([comb(i, n - 1) / comb(k, n) for i in range(k)])  # value i is the max of the pick
    return float((probs * values).sum())


def ceiling(acc: np.ndarray) -> dict[str, float]:
    """How far any scorer can agree with the ground truth, the mean of ``n`` training seeds (rows of ``acc``).

    - ``seed_to_seed_tau``: mean Kendall tau over seed pairs (one training vs another);
    - ``split_half_tau``: mean tau between the means of two disjoint halves of the seeds, over every split;
    - ``reliability``: Spearman-Brown reliability of the ``n``-seed mean, ``n r / (1 + (n - 1) r)``, with the
      single-seed correlation ``r = sin(pi tau / 2)`` from ``seed_to_seed_tau`` (Greiner's relation for
      bivariate normal scores);
    - ``replicate_tau``: the tau expected between this ground truth and an independent repeat of it (``n``
      fresh seeds), ``2 / pi * asin(reliability)``: **the ceiling** -- a scorer reaching it ranks as well as
      the standalone protocol itself;
    - ``oracle_tau``: the tau of a noise-free ranking against this ground truth,
      ``2 / pi * asin(sqrt(reliability))``: no scorer can expect more.
    """
    from itertools import combinations

    n = acc.shape[0]
    pairs = [kendall(acc[i], acc[j]) for i, j in combinations(range(n), 2)]
    halves = [h for h in combinations(range(n), n // 2) if 0 in h] if n >= 2 else []
    split = [kendall(acc[list(h)].mean(0), acc[[i for i in range(n) if i not in h]].mean(0)) for h in halves]
    tau1 = float(np.mean(pairs)) if pairs else float("nan")
    r1 = np.sin(np.pi * tau1 / 2)
    reliability = float(n * r1 / (1 + (n - 1) * r1)) if pairs and r1 > 0 else float("nan")
    return {"seed_to_seed_tau": tau1, "split_half_tau": float(np.mean(split)) if split else float("nan"),
            "reliability": reliability, "replicate_tau": float(2 / np.pi * np.arcsin(reliability)),
            "oracle_tau": float(2 / np.pi * np.arcsin(np.sqrt(reliability))), "n_seeds": n}


def ranking_row(name: str, score: np.ndarray, truth: np.ndarray, truth_loss: np.ndarray, params: np.ndarray,
                archs: Sequence[Architecture], space: SearchSpace, **extra: Any) -> dict[str, Any]:
    """Every ranking figure of one scorer (higher ``score`` = better) against the ground truth."""
    top = top_fraction(truth)
    order = np.argsort(-score, kind="stable")
    row = {"name": name, "kendall_tau": kendall(score, truth), "spearman": spearman(score, truth),
           "kendall_tau_loss": kendall(score, -truth_loss),
           "top10_tau": kendall(score[top], truth[top]), "top10_n": int(len(top)),
           "top1_pick": float(truth[order[0]]), "top10_pick": float(truth[order[:10]].max()),
           "params_corr": spearman(score, params), **extra}
    row["fav_ops"] = _op_frequency([archs[i] for i in order[:10]], space)
    return row


def _op_frequency(archs: Sequence[Architecture], space: SearchSpace) -> dict[str, float]:
    counts: dict[str, int] = {}
    for arch in archs:
        for op in space.to_params(arch).values():
            counts[op] = counts.get(op, 0) + 1
    total = sum(counts.values()) or 1
    return {op: counts[op] / total for op in sorted(counts)}


def pruning_effect(score: np.ndarray, truth: np.ndarray, archs: Sequence[Architecture], space: SearchSpace,
                   seed: int = 0, repeats: int = 200) -> dict[str, Any]:
    """Prune each decision's option with the lowest mean supernet score (over the K architectures using it);
    report the best ground truth left among the K, and the same for random pruning (one option per
    decision, ``repeats`` draws)."""
    from .base import decisions

    params = [space.to_params(a) for a in archs]
    worst = {}
    for name, options in decisions(space):
        means = {o: score[[i for i, p in enumerate(params) if p[name] == o]].mean()
                 for o in options if any(p[name] == o for p in params)}
        worst[name] = min(means, key=means.get)

    def best_left(pruned: dict[str, str]) -> tuple[float, int]:
        keep = [i for i, p in enumerate(params) if all(p[n] != o for n, o in pruned.items())]
        return (float(truth[keep].max()) if keep else float("nan")), len(keep)

    rng = np.random.default_rng(seed)
    random_best = [best_left({n: opts[int(rng.integers(len(opts)))] for n, opts in decisions(space)})[0]
                   for _ in range(repeats)]
    best, kept = best_left(worst)
    return {"pruned": worst, "best_left": best, "archs_left": kept,
            "random_best_left": float(np.nanmean(random_best)), "best_overall": float(truth.max())}


# -- the study -------------------------------------------------------------------------------------
@dataclass
class RankingStudy:
    """Everything the study measured (``to_json`` for the report). ``rows``: one per scorer, figures
    averaged over the supernet seeds (``kendall_tau_std`` etc. their standard deviation, NaN with one seed,
    ``per_seed`` the single-seed rows); ``scores``: each scorer's score of the K architectures, averaged over seeds;
    ``seed_scores``: per seed; ``horizons``: per ``check_epochs`` ground truth, its accuracies, ceiling and tau
    with the main ground truth (each row's tau against it is ``kendall_tau@<epochs>ep``)."""

    config: dict[str, Any]
    archs: list[str]
    ground_truth: dict[str, Any]
    ceiling: dict[str, float]
    rows: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, list[float]] = field(default_factory=dict)
    seed_scores: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    pruning: dict[str, Any] = field(default_factory=dict)
    records: dict[str, Any] = field(default_factory=dict)
    horizons: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The study as strict JSON data: numpy numbers as Python ones, NaN and infinities (e.g. a ceiling that
        could not be computed) as None."""
        from ..experiment._export import json_safe

        return json_safe(json.loads(json.dumps(asdict(self), default=float)))


def _supernet_for(cfg: RankingConfig, data, trick: str | None = None, seed: int | None = None):
    import torch

    from ..models.layers import Norm
    from .registry import build_supernet

    norm = {"affine_off": Norm(affine=False), "ghost_bn": Norm("ghost", ghost_batch=16),
            "group_norm": Norm("group", groups=4)}.get(trick or "", Norm())
    torch.manual_seed(cfg.supernet_seed if seed is None else seed)
    return build_supernet(cfg.space, data.num_classes, data.in_channels, norm=norm,
                          drop_path=0.1 if trick == "drop_path" else 0.0, C=cfg.C * cfg.supernet_width, N=cfg.N)


def supernet_scores(cfg: RankingConfig, seed: int, truth: np.ndarray | None = None,
                    verbose: bool = True) -> dict[str, Any]:
    """Train the supernets of one supernet ``seed`` and score the K architectures under every configuration
    (progress lines show each scorer's tau against ``truth`` where given).

    Returns ``{"scores": {name: [K scores]}, "info": {name: {...}}, "records": {...}, "timing": {...}}``.
    Rebuilds the data and the architecture sample from ``cfg``, so seeds can run in separate processes.
    """
    import copy

    import torch

    from .fewshot import split_supernet, train_few_shot
    from .scoring import ScoreConfig, SubnetScorer
    from .trainer import OneShotConfig, train_supernet

    torch.set_num_threads(cfg.threads)
    log = (lambda m: print(f"[supernet seed {seed}] {m}", flush=True)) if verbose else (lambda _m: None)
    data = study_data(cfg.data, cfg.data_dir, cfg.noise, cfg.val_fraction, cfg.test_fraction, cfg.seed,
                      cfg.augment)
    archs = sample_architectures(get_space(cfg.space), cfg.k, cfg.seed)
    out: dict[str, Any] = {"scores": {}, "info": {}, "records": {}, "timing": {}}

    def score_all(net, name: str, score_cfg: ScoreConfig, **extra: Any) -> None:
        scorer = SubnetScorer(net, data, score_cfg)
        values = [SCORE_BY[cfg.score_by](scorer.score(a)) for a in archs]
        out["scores"][name] = values
        out["timing"][f"score_seconds[{name}]"] = scorer.seconds
        out["info"][name] = {"kind": "supernet", "tricks": scorer.describe()["tricks"],
                             "archs_per_second": len(archs) / scorer.seconds, **extra}
        log(f"{name:<34} tau {kendall(np.array(values), truth):+.3f}" if truth is not None else f"{name} scored")

    one_shot = OneShotConfig(epochs=cfg.supernet_epochs, seed=seed, weight_decay=cfg.supernet_weight_decay)
    net = _supernet_for(cfg, data, seed=seed)
    split_state: dict[str, Any] = {}

    def snapshot(epoch: int, _entry: dict[str, float]) -> None:
        if cfg.fewshot_split_epoch is not None and epoch + 1 == cfg.fewshot_split_epoch:
            split_state.update(copy.deepcopy(net.state_dict()))

    record = train_supernet(net, data, one_shot, on_epoch=snapshot)
    out["records"]["spos"] = record.to_json()
    out["timing"]["supernet_seconds"] = record.train_seconds
    log(f"SPOS supernet: {cfg.supernet_epochs} epochs in {record.train_seconds:.0f} s")
    inherited = ScoreConfig(bn_mode="inherited", seed=seed)
    recal = ScoreConfig(bn_mode="recalibrate", recal_batches=cfg.recal_batches, seed=seed)
    tuned = replace(recal, finetune_steps=cfg.finetune_steps)
    score_all(net, "SPOS (inherited BN)", inherited)
    score_all(net, "SPOS + batch-stat BN", replace(inherited, bn_mode="batch"))
    score_all(net, "SPOS + BN recalibration", recal)
    score_all(net, "SPOS + recal + fine-tune", tuned)

    parent, parent_epochs = net, cfg.supernet_epochs
    if cfg.fewshot_split_epoch is not None:  # split mid-schedule (fewshot_parent_epochs unused): the parts finish
        # SPOS's cosine schedule
        parent, parent_epochs = copy.deepcopy(net), cfg.fewshot_split_epoch
        parent.load_state_dict(split_state)
        few_cfg = replace(one_shot, start_epoch=cfg.fewshot_split_epoch)
    else:  # split a trained supernet: the parts restart the schedule at a lower learning rate
        if cfg.fewshot_parent_epochs is not None:  # a parent of its own, shorter schedule
            parent, parent_epochs = _supernet_for(cfg, data, seed=seed), cfg.fewshot_parent_epochs
            out["records"]["few_shot_parent"] = train_supernet(parent, data, replace(one_shot, epochs=parent_epochs)).to_json()
            score_all(parent, f"few-shot's parent ({parent_epochs} ep) + recal", recal)
        few_cfg = replace(one_shot, epochs=cfg.fewshot_epochs, lr=one_shot.lr * cfg.fewshot_lr_factor)
    few = split_supernet(parent, list(cfg.split_on))
    del parent
    records = train_few_shot(few, data, few_cfg, shared_seed=cfg.fewshot_shared_seed)
    out["records"]["few_shot"] = [r.to_json() for r in records]
    out["timing"]["few_shot_extra_seconds"] = sum(r.train_seconds for r in records)
    part_epochs = few_cfg.epochs - few_cfg.start_epoch
    total = parent_epochs + part_epochs * len(few.members)
    log(f"few-shot: {len(few.members)} sub-supernets x {part_epochs} epoch{'s' * (part_epochs != 1)} in "
        f"{out['timing']['few_shot_extra_seconds']:.0f} s ({total} epoch{'s' * (total != 1)} in all)")
    if total != cfg.supernet_epochs:  # else the SPOS row itself had the few-shot supernets' budget
        if parent_epochs == cfg.supernet_epochs:  # the trained SPOS supernet, trained further as long as the parts
            same_budget = copy.deepcopy(net)
            budget = replace(few_cfg, epochs=part_epochs * len(few.members))
        else:  # a one-shot supernet trained as many epochs as the parent and the parts together
            same_budget = _supernet_for(cfg, data, seed=seed)
            budget = replace(one_shot, epochs=total)
        out["records"]["spos_same_budget"] = train_supernet(same_budget, data, budget).to_json()
        score_all(same_budget, "SPOS, few-shot's budget, + recal", recal)
        del same_budget
    score_all(few, "few-shot + recal", recal, split_on=list(cfg.split_on))
    score_all(few, "few-shot + recal + fine-tune", tuned, split_on=list(cfg.split_on))
    del few

    for trick in cfg.extra_tricks:
        trick_net = _supernet_for(cfg, data, trick, seed=seed)
        trick_cfg = replace(one_shot, sampling="strict_fair") if trick == "strict_fair" else one_shot
        rec = train_supernet(trick_net, data, trick_cfg)
        out["records"][f"trick:{trick}"] = rec.to_json()
        score_all(trick_net, f"SPOS {trick.replace('_', ' ')} + recal", recal, train_seconds=rec.train_seconds)
    return out


def _map_seeds(cfg: RankingConfig, seeds: Sequence[int], truth: np.ndarray, verbose: bool) -> list[dict[str, Any]]:
    """:func:`supernet_scores` for every seed, ``cfg.workers`` seeds at a time in separate processes."""
    workers = min(cfg.workers, len(seeds))
    if workers <= 1:
        return [supernet_scores(cfg, s, truth, verbose) for s in seeds]
    import multiprocessing as mp
    import sys
    from concurrent.futures import ProcessPoolExecutor

    context = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        n = len(seeds)
        return list(pool.map(supernet_scores, [cfg] * n, seeds, [truth] * n, [verbose] * n))


def _aggregate(name: str, per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from single-seed rows: numbers averaged (a count every seed shares, such as ``top10_n``, kept as
    that integer), tau/rho/top-10% (at least 5) tau with their std over seeds (NaN, null in ``ranking.json``,
    with one seed: undefined)."""
    row: dict[str, Any] = {"name": name, "n_seeds": len(per_seed)}
    for key, value in per_seed[0].items():
        if is_number(value):
            values = [r[key] for r in per_seed]
            row[key] = int(value) if is_int(value) and len(set(values)) == 1 else float(np.mean(values))
            if key.startswith("kendall_tau") or key in ("spearman", "top10_tau"):
                row[f"{key}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
        elif key == "fav_ops":
            ops = sorted({op for r in per_seed for op in r["fav_ops"]})
            row[key] = {op: float(np.mean([r["fav_ops"].get(op, 0.0) for r in per_seed])) for op in ops}
        elif key != "name":
            row[key] = value
    row["per_seed_tau"] = [r["kendall_tau"] for r in per_seed]
    return row


def check_horizons(cfg: RankingConfig, archs: Sequence[Architecture], data, storage: str, truth: np.ndarray,
                   result: RankingStudy, log: Callable[[str], None]) -> dict[int, np.ndarray]:
    """Ground truths of ``cfg.check_epochs`` training epochs (mean accuracy per architecture), recorded in
    ``result.horizons`` with their ceiling and their tau with the main ground truth ``truth``."""
    checks = {}
    for epochs in cfg.check_epochs:
        start = time.perf_counter()
        acc = np.array([[m["val_acc"] for m in seed] for seed in train_standalone(cfg, archs, data, storage, epochs)])
        checks[epochs] = acc.mean(0)
        horizon = {"acc": acc.tolist(), "mean_val_acc": float(acc.mean()), "ceiling": ceiling(acc),
                   "tau_with_ground_truth": kendall(checks[epochs], truth), "wall_seconds": time.perf_counter() - start}
        result.horizons[str(epochs)] = horizon
        log(f"{epochs}-epoch ground truth: tau {horizon['tau_with_ground_truth']:+.3f} with the {cfg.gt_epochs}-epoch "
            f"one, ceiling {_ceiling_text(horizon['ceiling'], short=True)}")
    return checks


def run_ranking_study(cfg: RankingConfig, out: str | Path, storage: str | None = None,
                      log: Callable[[str], None] = print, overwrite: bool = False,
                      label: Callable[[str], str] = str) -> RankingStudy:
    """Run the study; writes ``ranking.json``, ``ranking.md`` and plots into ``out``.

    Everything is checked first (``cfg.validate(label)``, ``out``, a database server's ``storage``, the data
    loaded): an earlier report in ``out`` is refused unless ``overwrite`` (the ground truth stored there is reused either way), and nothing
    is created when a check fails. ``label`` names a field in errors (the CLI passes its --option names)."""
    import torch

    from ..data.sources import check_out_of_data, check_storage_out_of_data
    from ..experiment.storage.urls import check_server_storage, sqlite_url

    cfg.validate(label)
    if not isinstance(overwrite, bool):
        raise UsageError(f"overwrite must be True or False, got {overwrite!r}")
    out = Path(out)
    _check_report_folder(out, overwrite, label("out"))
    check_out_of_data(out, label("out"), cfg.data, cfg.data_dir)  # its ground_truth.db, report and plots
    check_storage_out_of_data(storage, label("storage"), cfg.data, cfg.data_dir)
    if storage is not None:  # a wrong URL, password or an unreachable server: before any work, creating nothing
        check_server_storage(storage)
    try:
        data = study_data(cfg.data, cfg.data_dir, cfg.noise, cfg.val_fraction, cfg.test_fraction, cfg.seed,
                      cfg.augment)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(f"{label('data')} {cfg.data}: {exc}") from None
    torch.set_num_threads(cfg.threads)
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or sqlite_url(out / "ground_truth.db")  # encoded: a '%', '?' or '#' in the path names it
    space = get_space(cfg.space)
    log(f"data: {data!r}")
    archs = sample_architectures(space, cfg.k, cfg.seed)
    gt = ground_truth(cfg, archs, data, storage, log)
    truth, truth_loss, params = gt["acc"].mean(0), gt["loss"].mean(0), gt["params"]
    result = RankingStudy(asdict(cfg), [space.format(a) for a in archs],
                          {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in gt.items()},
                          ceiling(gt["acc"]))
    result.ceiling["seed_to_seed_tau_loss"] = ceiling(-gt["loss"])["seed_to_seed_tau"]
    log(f"ground-truth ceiling: {_ceiling_text(result.ceiling)}")
    checks = check_horizons(cfg, archs, data, storage, truth, result, log)

    def row(name: str, score: Sequence[float], **extra: Any) -> dict[str, Any]:
        score = np.asarray(score, dtype=float)
        extra.update({f"kendall_tau@{epochs}ep": kendall(score, t) for epochs, t in checks.items()})
        return ranking_row(name, score, truth, truth_loss, params, archs, space, **extra)

    def add(r: dict[str, Any]) -> None:
        result.rows.append(r)
        std = f" +- {r['kendall_tau_std']:.3f}" if r.get("n_seeds", 1) > 1 else ""
        log(f"{r['name']:<40} tau {r['kendall_tau']:+.3f}{std}  spearman {r['spearman']:+.3f}  "
            f"top-{int(r['top10_n'])} tau {r['top10_tau']:+.3f}")

    for name, score, extra in (("baseline: params", params, {}), ("baseline: FLOPs", gt["flops"], {}),
                               (f"baseline: {cfg.baseline_epochs}-epoch training", gt["one_epoch_acc"],
                                {"seconds": gt["one_epoch_seconds"]})):
        add(row(name, score, kind="baseline", **extra))
        result.scores[name] = np.asarray(score, dtype=float).tolist()
    result.timing["standalone_seconds"] = gt["train_seconds"]
    result.timing["standalone_trainings"] = cfg.k * cfg.gt_seeds
    result.timing["ground_truth_wall_seconds"] = time.perf_counter() - start

    seeds = [cfg.supernet_seed + i for i in range(cfg.supernet_seeds)]
    runs = _map_seeds(cfg, seeds, truth, verbose=log is print)
    for name in runs[0]["scores"]:
        per_seed = [row(name, run["scores"][name], **run["info"][name]) for run in runs]
        add(_aggregate(name, per_seed))
        result.seed_scores[name] = {str(s): run["scores"][name] for s, run in zip(seeds, runs)}
        result.scores[name] = np.mean([run["scores"][name] for run in runs], axis=0).tolist()
    if len(runs) > 1:  # a scorer that averages the scores of all the seeds' supernets (S times the cost)
        for name in runs[0]["scores"]:
            add(row(f"{name}, mean of {len(runs)} supernets", result.scores[name], kind="ensemble"))
    result.pruning = pruning_effect(np.array(result.scores["few-shot + recal + fine-tune"]), truth, archs, space,
                                    cfg.seed)
    for seed, run in zip(seeds, runs):
        result.records[str(seed)] = run["records"]
        result.timing.update({f"{k}@{seed}": v for k, v in run["timing"].items()})
    result.timing["supernet_seconds"] = float(np.mean([run["timing"]["supernet_seconds"] for run in runs]))
    result.timing["wall_seconds"] = time.perf_counter() - start
    write_report(result, out)
    return result


# -- report ----------------------------------------------------------------------------------------
def _ceiling_text(c: dict[str, float], short: bool = False) -> str:
    """The ceiling (:func:`ceiling`) in words: its taus, or why there is none."""
    if c["n_seeds"] < 2:
        return f"not measured (it needs >= 2 ground-truth seeds, this one has {c['n_seeds']})"
    if not np.isfinite(c["replicate_tau"]):
        return f"none (the ground-truth seeds do not agree: seed-to-seed tau {c['seed_to_seed_tau']:.3f})"
    if short:
        return f"{c['replicate_tau']:.3f}"
    return (f"replicate tau {c['replicate_tau']:.3f} (oracle {c['oracle_tau']:.3f}); seed-to-seed "
            f"{c['seed_to_seed_tau']:.3f}, split-half {c['split_half_tau']:.3f}")


def format_table(result: RankingStudy) -> str:
    """The study's main table (markdown, fits 80 columns): tau mean +- std over the supernet seeds."""
    c = result.ceiling
    cfg = result.config
    truth = np.array(result.ground_truth["acc"]).mean(0)
    top = len(top_fraction(truth))
    lines = [f"K={len(result.archs)} architectures, {c['n_seeds']} ground-truth seeds, "
             f"{cfg.get('supernet_seeds', 1)} supernet seed(s); supernets C={cfg.get('supernet_width', 1) * cfg['C']}, "
             f"weight decay {cfg.get('supernet_weight_decay', 3e-4):g}, scored by val {cfg.get('score_by', 'acc')}",
             f"ceiling: {_ceiling_text(c)}",
             f"top-{top} tau: tau among the ground truth's best {top} of the {len(truth)} "
             f"({100 * top / len(truth):.0f} %: the best 10 %, at least 5)"]
    if len(truth) <= 10:  # the scorer's 10 picks are all K: the column cannot tell scorers apart
        lines.append(f"top10: the best of the scorer's 10 highest-ranked, here all {len(truth)}: the best of the K "
                     "for every scorer (a larger --k tells them apart)")
    lines += [f"{e}-epoch ground truth: tau {h['tau_with_ground_truth']:+.3f} with the "
              f"{cfg.get('gt_epochs')}-epoch one, ceiling {_ceiling_text(h['ceiling'], short=True)}"
              for e, h in result.horizons.items()]
    checks = "".join(f" tau @{e} ep |" for e in result.horizons)
    lines += ["", f"| scorer | tau | rho | top-{top} tau | top1 | top10 |{checks}", "|---|---|---|---|---|---|"
              + "---|" * len(result.horizons)]
    for r in result.rows:
        if r.get("kind") != "ensemble":
            std = f" ±{r['kendall_tau_std']:.2f}" if r.get("n_seeds", 1) > 1 else ""
            cells = "".join(f" {r[f'kendall_tau@{e}ep']:+.3f} |" for e in result.horizons)
            lines.append(f"| {r['name']} | {r['kendall_tau']:+.3f}{std} | {r['spearman']:+.3f} | {r['top10_tau']:+.3f} "
                         f"| {r['top1_pick']:.1f} | {r['top10_pick']:.1f} |{cells}")
    lines.append(f"| random pick (expected) | | | | {expected_best_of_random(truth, 1):.1f} | "
                 f"{expected_best_of_random(truth, 10):.1f} |")
    lines.append(f"| best of the K | | | | {truth.max():.1f} | {truth.max():.1f} |")
    ensembles = [r for r in result.rows if r.get("kind") == "ensemble"]
    if ensembles:
        lines += ["", f"| scores averaged over {cfg.get('supernet_seeds')} supernets | tau | rho | top1 |",
                  "|---|---|---|---|"]
        lines += [f"| {r['name'].rsplit(', mean of', 1)[0]} | {r['kendall_tau']:+.3f} | {r['spearman']:+.3f} | "
                  f"{r['top1_pick']:.1f} |" for r in ensembles]
    return "\n".join(lines)


def _report_outputs() -> dict[str, Callable[[Path], bool]]:
    """Each file :func:`run_ranking_study` writes into its folder (beside the ground truth it reuses) -> whether an
    existing one is an earlier report's (what it starts with)."""
    from ..writes import is_matplotlib_png, json_starting, starts_with

    return {"ranking.json": json_starting(rb'"config"'), "ranking.md": starts_with(b"K="),
            "ranking_tau.png": is_matplotlib_png, "ranking_scatter.png": is_matplotlib_png}


def _check_report_folder(out: Path, overwrite: bool, name: str) -> None:
    """``UsageError`` naming ``name`` when ``out`` is a file, holds an earlier report and not ``overwrite``, or
    holds a file or symbolic link of the report's names that nasforge did not write (refused even with it)."""
    from ..writes import own_outputs, refuse_earlier_run

    if out.exists() and not out.is_dir():
        raise UsageError(f"{name} {str(out)!r} is a file, not a folder")
    found = own_outputs(out, _report_outputs(), name, "nasforge oneshot study")
    refuse_earlier_run(out, [path.name for path in found], overwrite, name, "study report",
                       " (the ground truth stored there is reused either way)")


def write_report(result: RankingStudy, out: Path) -> None:
    """Write the report files atomically (matplotlib, which draws the plots, is a base dependency)."""
    from ..writes import write_atomic

    write_atomic(out / "ranking.json", json.dumps(result.to_json(), indent=1, allow_nan=False), "out", follow=False)
    write_atomic(out / "ranking.md", format_table(result) + "\n", "out", follow=False)
    plot_study(result, out)


def plot_study(result: RankingStudy, out: Path) -> None:
    """``ranking_tau.png`` (tau per scorer with the ceiling) and ``ranking_scatter.png`` (score vs truth, one panel
    per supernet row)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..writes import write_figure

    names = [r["name"] for r in result.rows]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 2), layout="constrained")
    y = np.arange(len(names))
    ax.barh(y - 0.2, [r["kendall_tau"] for r in result.rows], 0.4, label="Kendall tau (± std over supernet seeds)",
            xerr=[r.get("kendall_tau_std", 0.0) for r in result.rows], error_kw={"lw": 0.8})
    top = len(top_fraction(np.array(result.ground_truth["acc"]).mean(0)))
    ax.barh(y + 0.2, [r["top10_tau"] for r in result.rows], 0.4, label=f"tau among the ground truth's best {top}")
    if np.isfinite(result.ceiling["replicate_tau"]):  # none with one ground-truth seed
        ax.axvline(result.ceiling["replicate_tau"], color="k", ls="--", label="ceiling: GT replicate tau")
        ax.axvline(result.ceiling["oracle_tau"], color="grey", ls=":", label="GT oracle tau")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel("rank correlation with standalone ground truth")
    fig.legend(loc="outside lower center", ncol=2, fontsize=7)  # below the axes: it hides no bar
    write_figure(fig, out / "ranking_tau.png", "out", follow=False)
    _plot_scatter(result, out)


def _plot_scatter(result: RankingStudy, out: Path) -> None:
    """``ranking_scatter.png``: every supernet row's scores against the ground truth, 4 panels a row; the scores
    are averaged over the supernet seeds (the ensemble rows'), and each panel names their tau."""
    import matplotlib.pyplot as plt

    from ..writes import write_figure

    truth = np.array(result.ground_truth["acc"]).mean(0)
    shown = [n for n in result.scores if not n.startswith("baseline")]
    seeds = result.config.get("supernet_seeds", 1)
    cols = min(4, len(shown)) or 1
    rows = -(-len(shown) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows + 0.4), squeeze=False, layout="constrained")
    for ax, name in zip(axes.flat, shown):
        ax.scatter(result.scores[name], truth, s=10)
        ax.set_title(f"{name}\ntau {kendall(np.array(result.scores[name]), truth):+.3f}", fontsize=7)
        ax.set_xlabel("supernet val acc (%)" if result.config.get("score_by", "acc") == "acc"
                      else "supernet score: - val loss", fontsize=7)
    for ax in axes.flat[len(shown):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("standalone val acc (%)", fontsize=7)
    if seeds > 1:
        fig.suptitle(f"scores averaged over the {seeds} supernet seeds (the ensemble rows; the main table's tau is "
                     "the mean of the single-seed taus)", fontsize=8)
    write_figure(fig, out / "ranking_scatter.png", "out", follow=False)
