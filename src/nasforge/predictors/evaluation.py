"""Compare predictors on measured data: predictors x training-set sizes x seeds, on held-out archs."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..checks import check_int, check_names
from ..exceptions import UsageError
from ..spaces import Architecture, SearchSpace
from ..writes import write_figure
from .metrics import METRICS, score_all
from .registry import get_predictor, predictor_class, refuse_seed

SUMMARY_METRICS = ("kendall_tau", "sparse_kendall_tau", "spearman", "r2", "mae")


def evaluate_predictors(space: SearchSpace, archs: Sequence[Architecture], y: Sequence[float],
                        predictors: Sequence[str] | Mapping[str, Mapping[str, Any]], train_sizes: Sequence[int],
                        seeds: int = 3, test_size: int = 5000,
                        on_result: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """One record per (predictor, training-set size, seed) with every metric and fit/predict times.

    ``predictors``: names, or labels mapped to ``{"predictor": name, **constructor arguments}``
    (``"predictor"`` defaults to the label), so one model can run with several settings.
    For seed ``s`` the architectures are shuffled with ``s``; the first ``test_size`` are held out
    and the training sets are the next ``n`` (so smaller sets are subsets of larger ones).
    """
    archs, target = list(archs), np.asarray(y, dtype=np.float64)
    if len(archs) != target.size:
        raise UsageError(f"got {len(archs)} architectures but {target.size} values")
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
    records = []
    for seed in range(seeds):
        order = np.random.default_rng(seed).permutation(len(archs))
        test = order[:test_size]
        test_archs = [archs[i] for i in test]
        for n in sizes:
            train = order[test_size:test_size + n]
            for label, spec in specs.items():
                params = {k: v for k, v in spec.items() if k != "predictor"}
                model = get_predictor(spec["predictor"], space, seed=seed, **params)
                start = time.perf_counter()
                model.fit([archs[i] for i in train], target[train])
                fitted = time.perf_counter()
                predicted = model.predict(test_archs)
                done = time.perf_counter()
                record = {"predictor": label, "train_size": n, "seed": seed, "test_size": test_size,
                          **score_all(target[test], predicted),
                          "fit_seconds": fitted - start, "predict_seconds": done - fitted}
                records.append(record)
                if on_result is not None:
                    on_result(record)
    return records


def summarize(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds of every metric and time, per predictor and size."""
    groups: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["predictor"], record["train_size"]), []).append(record)
    rows = []
    for (name, n), group in groups.items():
        row: dict[str, Any] = {"predictor": name, "train_size": n, "seeds": len(group)}
        for key in (*METRICS, "fit_seconds", "predict_seconds"):
            values = np.array([r[key] for r in group], dtype=np.float64)
            row[key] = float(values.mean())
            row[f"{key}_std"] = float(values.std())
        rows.append(row)
    return rows


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
