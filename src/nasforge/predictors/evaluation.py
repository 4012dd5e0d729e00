"""Compare predictors on measured data: predictors x training-set sizes x seeds, on held-out archs."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..checks import check_int, check_names
from ..exceptions import MissingDependencyError, UsageError, user_stacklevel
from ..pareto import DIRECTIONS
from ..spaces import Architecture, SearchSpace
from ..writes import write_figure
from .base import finite_predictions, target_values
from .metrics import METRICS, score_all, tie_decimals
from .registry import get_predictor, predictor_class, refuse_seed

SUMMARY_METRICS = ("kendall_tau", "sparse_kendall_tau", "spearman", "r2", "mae")


SPLITS = ("class", "row")

LIBRARIES = ("nasforge", "numpy", "scipy", "scikit-learn", "xgboost", "xgboost-cpu", "lightgbm", "ngboost", "torch")
"""The packages an evaluation's figures depend on (scipy: the rank correlations; xgboost-cpu: xgboost's CPU-only
wheel), whose versions a results file records (:func:`~nasforge.benchmarks.surrogate.library_versions`)."""


def evaluate_predictors(space: SearchSpace, archs: Sequence[Architecture], y: Sequence[float],
                        predictors: Sequence[str] | Mapping[str, Mapping[str, Any]], train_sizes: Sequence[int],
                        seeds: int = 3, test_size: int = 5000,
                        on_result: Callable[[dict[str, Any]], None] | None = None, split: str = "class",
                        direction: str = "maximize", on_start: Callable[[], None] | None = None,
                        settings_from: str | None = None) -> list[dict[str, Any]]:
    """One record per (predictor, training-set size, seed) with every metric and fit/predict times.

    ``predictors``: names, or labels mapped to ``{"predictor": name, **constructor arguments}``
    (``"predictor"`` defaults to the label), so one model can run with several settings.
    ``split="class"`` (the default) holds out whole canonical classes (``space.canonical_key``): for seed ``s``
    the classes are shuffled with ``s`` and the first ones give the ``test_size`` held-out rows (the members of
    the last class that do not fit are used nowhere), so no held-out architecture has a functionally identical
    twin (an NB201 isomorph) in a training set. ``split="row"`` shuffles the rows instead, so isomorphs of
    held-out cells can be trained on. The training sets are the first ``n`` of the remaining rows, shuffled with
    ``s`` (so smaller sets are subsets of larger ones). Each architecture may appear once (``UsageError``
    otherwise: average repeated measurements first). ``direction`` ("maximize" or "minimize") says which end of
    the metric ``precision_top1pct`` scores. ``on_start()`` is called once every input is checked (each predictor
    built with its settings), before the first fit (a run refused for bad input never starts);
    ``on_result(record)`` with each record as it is made. ``settings_from`` names where the predictors' settings
    came from (e.g. the command line's ``--params``) in the refusal of a bad one.
    """
    archs = list(archs)
    target = target_values(y, len(archs))  # before any work, counted over the values given (not a training subset)
    if split not in SPLITS:
        raise UsageError(f"split must be one of {list(SPLITS)}, got {split!r}")
    if direction not in DIRECTIONS:
        raise UsageError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
    _refuse_repeats(space, archs)
    if not isinstance(predictors, Mapping):
        predictors = check_names("predictors", predictors)  # one name alone is one predictor
    specs = {label: dict(predictors[label]) if isinstance(predictors, Mapping) else {} for label in predictors}
    for label, spec in specs.items():
        spec.setdefault("predictor", label)
        predictor_class(spec["predictor"])
        refuse_seed(spec, f"predictor {label!r}", "the runs are seeded 0..seeds-1")
    if isinstance(train_sizes, (str, bytes)) or not isinstance(train_sizes, (Sequence, np.ndarray)):
        raise UsageError(f"train_sizes must be a list of training-set sizes, got {train_sizes!r}")
    sizes = sorted({check_int("train_sizes", n, 0) for n in train_sizes})
    if not sizes or sizes[0] < 2:
        raise UsageError(f"training-set sizes must be at least 2, got {list(train_sizes)}")
    seeds, test_size = check_int("seeds", seeds, 1), check_int("test_size", test_size, 2)
    if test_size + sizes[-1] > len(archs):
        raise UsageError(f"test_size {test_size} + largest training set {sizes[-1]} exceeds the "
                         f"{len(archs)} architectures available")
    for spec in specs.values():  # bad settings are refused now, not after the predictors before them are fitted
        try:
            get_predictor(spec["predictor"], space, seed=0, **_settings(spec))
        except MissingDependencyError:  # the package, not the settings
            raise
        except UsageError as exc:
            raise UsageError(f"{settings_from}: {exc}" if settings_from else str(exc)) from None
    classes = _classes(space, archs) if split == "class" else None
    splits = [_split(classes, len(archs), seed, test_size) for seed in range(seeds)]
    short = [(seed, rest.size) for seed, (_, rest) in enumerate(splits) if rest.size < sizes[-1]]
    if short:
        raise UsageError(f"largest training set {sizes[-1]} exceeds the {short[0][1]} architectures left for seed "
                         f"{short[0][0]} once whole canonical classes give the {test_size} held-out ones; choose "
                         "smaller sizes")
    if classes is not None:
        _warn_one_class_fills(classes, splits, test_size)
    if on_start is not None:
        on_start()
    records = []
    for seed, (test, rest) in enumerate(splits):
        test_archs = [archs[i] for i in test]
        for n in sizes:
            train = rest[:n]
            for label, spec in specs.items():
                model = get_predictor(spec["predictor"], space, seed=seed, **_settings(spec))
                start = time.perf_counter()
                model.fit([archs[i] for i in train], target[train])
                fitted = time.perf_counter()
                predicted = finite_predictions(model.predict(test_archs), f"predictor {label!r} (n={n}, seed {seed})")
                done = time.perf_counter()
                record = {"predictor": label, "train_size": n, "seed": seed, "test_size": test_size,
                          **score_all(target[test], predicted, maximize=direction == "maximize"),
                          "sparse_kt_decimals": tie_decimals(target[test]),
                          "fit_seconds": fitted - start, "predict_seconds": done - fitted}
                records.append(record)
                if on_result is not None:
                    on_result(record)
    return records


def _settings(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor arguments of a predictor spec (all but its ``"predictor"`` name)."""
    return {k: v for k, v in spec.items() if k != "predictor"}


def _refuse_repeats(space: SearchSpace, archs: list[Architecture]) -> None:
    """``UsageError`` naming the first architecture given twice (its copies would land on both sides)."""
    first: dict[Architecture, int] = {}
    for i, arch in enumerate(archs):
        if arch in first:
            raise UsageError(f"architecture {space.format(arch)!r} is given twice (positions {first[arch]} and {i}): "
                             "evaluate_predictors needs one value per architecture; average repeated measurements "
                             "first")
        first[arch] = i


def _classes(space: SearchSpace, archs: list[Architecture]) -> list[list[int]]:
    """Row indices of each canonical class, in order of first appearance."""
    classes: dict[Any, list[int]] = {}
    for i, arch in enumerate(archs):
        classes.setdefault(space.canonical_key(arch), []).append(i)
    return list(classes.values())


def _split(classes: list[list[int]] | None, rows: int, seed: int, test_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (held out, training candidates in order) for one seed: whole ``classes`` held out, or rows
    (``classes=None``); see :func:`evaluate_predictors`."""
    rng = np.random.default_rng(seed)
    if classes is None:
        order = rng.permutation(rows)
        return order[:test_size], order[test_size:]
    test: list[int] = []
    rest: list[int] = []
    for g in rng.permutation(len(classes)):
        if len(test) < test_size:
            test += classes[g][:test_size - len(test)]  # a cut class's other members are used nowhere
        else:
            rest += classes[g]
    return np.array(test, dtype=np.int64), rng.permutation(np.array(rest, dtype=np.int64))


ONE_CLASS_SHARE = 0.25
"""The share of a held-out set one canonical class may fill before :func:`evaluate_predictors` warns."""


def _warn_one_class_fills(classes: list[list[int]], splits: list[tuple[np.ndarray, np.ndarray]],
                          test_size: int) -> None:
    """Warn for each seed whose held-out set is mostly copies of one network: its scores then rank few distinct
    networks (a small ``test_size`` with a large class, such as NB201's cells without an input-to-output path)."""
    class_of = {row: c for c, rows in enumerate(classes) for row in rows}
    for seed, (test, _) in enumerate(splits):
        counts = np.bincount([class_of[int(row)] for row in test])
        if counts.max() > ONE_CLASS_SHARE * test.size:
            warnings.warn(f"seed {seed}: {counts.max()} of its {test.size} held-out architectures are copies of one "
                          f"network (a canonical class), so its scores rank only {np.count_nonzero(counts)} distinct "
                          f"networks; a larger test size (now {test_size}) evens the seeds out", UserWarning,
                          stacklevel=user_stacklevel())


def summarize(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sample standard deviation (ddof=1; NaN for fewer than two values) over seeds of every metric and
    time, per predictor and size. A seed whose score is NaN (a rank score when the held-out values or the
    predictions are constant, R2 when the held-out values are) is left out of that metric's mean and spread;
    ``nan_seeds`` maps each such metric to how many seeds were left out (the mean is NaN only when every seed's
    is)."""
    groups: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["predictor"], record["train_size"]), []).append(record)
    rows = []
    for (name, n), group in groups.items():
        row: dict[str, Any] = {"predictor": name, "train_size": n, "seeds": len(group), "nan_seeds": {}}
        for key in (*METRICS, "fit_seconds", "predict_seconds"):
            values = np.array([r[key] for r in group], dtype=np.float64)
            finite = values[~np.isnan(values)]
            if finite.size < values.size:
                row["nan_seeds"][key] = int(values.size - finite.size)
            row[key] = float(finite.mean()) if finite.size else float("nan")
            row[f"{key}_std"] = float(finite.std(ddof=1)) if finite.size > 1 else float("nan")
        rows.append(row)
    return rows


def nan_note(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> str:
    """One line naming the rows whose ``metrics`` left out seeds with a NaN score (see :func:`summarize`), else ''."""
    parts = []
    for row in rows:
        left = {m: k for m, k in row.get("nan_seeds", {}).items() if m in metrics}
        for count in sorted(set(left.values())):
            names = ", ".join(m for m in metrics if left.get(m) == count)
            parts.append(f"{row['predictor']} n={row['train_size']} {names}: {count} of {row['seeds']}")
    if not parts:
        return ""
    return ("note: seeds whose score is undefined (NaN: the held-out values, or for rank scores the predictions, are "
            "constant) are left out of the mean and spread "
            f"(nan when none has one): {'; '.join(parts)}")


def plot_summary(rows: Sequence[Mapping[str, Any]], path: str | Path | BinaryIO,
                 metrics: Sequence[str] = SUMMARY_METRICS, title: str = "") -> Path | BinaryIO:
    """One panel per metric: its mean (with a +-1 std band over seeds) vs training-set size, as a PNG written
    to ``path`` (a file name or a binary file object, returned as a Path or as given). NaN means (e.g.
    Kendall tau of constant predictions) are left out; a panel without any value says so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.4), squeeze=False)
    names = list(dict.fromkeys(r["predictor"] for r in rows))
    sizes = sorted({r["train_size"] for r in rows})
    for ax, metric in zip(axes[0], metrics):
        for i, name in enumerate(names):
            mine = sorted((r for r in rows if r["predictor"] == name), key=lambda r: r["train_size"])
            x = np.array([r["train_size"] for r in mine])
            mean = np.array([r[metric] for r in mine], dtype=np.float64)
            std = np.nan_to_num(np.array([r[f"{metric}_std"] for r in mine], dtype=np.float64))
            shown = np.isfinite(mean)
            x, mean, std = x[shown], mean[shown], std[shown]
            line, = ax.plot(x, mean, marker="o", label=name, color=f"C{i % 10}", linestyle="-" if i < 10 else "--")
            ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.15)
        if sizes and not any(np.isfinite(r[metric]) for r in rows):  # nothing drawn: the log axis needs limits
            ax.set_xlim(sizes[0] / 1.5, sizes[-1] * 1.5)
            ax.text(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes)
        ax.set_xscale("log")
        ax.set_xlabel("training architectures")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if isinstance(path, (str, Path)):
        return write_figure(fig, path, "plot", dpi=80, fmt="png")
    fig.savefig(path, dpi=80, format="png")
    plt.close(fig)
    return path
