"""Leave-one-out cross-validation of a model-based strategy's surrogate, as Ax shows it: predicted vs
actual with 95 % intervals, and how often the interval covers the actual value."""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ...checks import check_int
from ...exceptions import UsageError
from .strategy import ModelBasedStrategy
from .surrogates import fit_surrogate

Z95 = 1.959963984540054
PLOT_FILE = "loo.png"
"""The file :meth:`LOOResult.plot` writes into a folder."""
SCORE_UNITS = "score (higher is better)"
"""The units of a result computed from a strategy: what it was told (minimized objectives sign-flipped)."""
_MARK = ("nasforge", "leave-one-out plot")  # a PNG text chunk: recognises an earlier plot, which may be replaced


@dataclass
class LOOResult:
    """One row per left-out result: actual value, predicted mean and std, in ``units`` (the study's objective, or
    the strategy's higher-is-better score)."""

    archs: list[str]
    actual: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    units: str = SCORE_UNITS

    @property
    def lower(self) -> np.ndarray:
        return self.mean - Z95 * self.std

    @property
    def upper(self) -> np.ndarray:
        return self.mean + Z95 * self.std

    @property
    def coverage(self) -> float:
        """Share of actual values inside their 95 % interval (well calibrated: about 0.95)."""
        return float(np.mean((self.actual >= self.lower) & (self.actual <= self.upper)))

    def summary(self) -> dict[str, float]:
        from scipy.stats import kendalltau

        return {"n": len(self.actual), "coverage_95": self.coverage,
                "rmse": float(np.sqrt(np.mean((self.mean - self.actual) ** 2))),
                "kendall_tau": float(kendalltau(self.mean, self.actual)[0]),
                "mean_interval_width": float(np.mean(self.upper - self.lower))}

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary(), "units": self.units,
                "rows": [{"arch": a, "actual": float(y), "mean": float(m), "std": float(s),
                          "lower_95": float(m - Z95 * s), "upper_95": float(m + Z95 * s)}
                         for a, y, m, s in zip(self.archs, self.actual, self.mean, self.std)]}

    def plot(self, path: str | Path, title: str = "leave-one-out cross-validation", overwrite: bool = False) -> Path:
        """Predicted (with 95 % intervals) vs actual, the diagonal, and the coverage in the title, written to
        ``path`` in the format its suffix names (``.png`` added to a name without a suffix; ``.pdf``, ``.svg``, ...
        as matplotlib writes them), or to ``loo.png`` in ``path`` when it is a folder; returns the file written.
        An existing file is replaced (atomically) only when it is an earlier PNG plot of this kind, or with
        ``overwrite=True``; anything else is a UsageError before drawing."""
        from ...writes import check_target, head, write_figure

        target = Path(path)
        if target.is_dir():
            target = target / PLOT_FILE
        elif not target.suffix:
            target = target.with_suffix(".png")
        fmt = target.suffix.lower()[1:]
        mark = "\0".join(_MARK).encode()
        check_target(target, "plot", lambda p: overwrite or (fmt == "png" and mark in head(p)),
                     "a leave-one-out plot nasforge wrote")
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.2, 5.0))
        if fmt not in fig.canvas.get_supported_filetypes():
            plt.close(fig)
            raise UsageError(f"plot: matplotlib writes no {fmt!r} files; name a .png, .pdf or .svg file or a folder, "
                             f"got {str(path)!r}")
        inside = (self.actual >= self.lower) & (self.actual <= self.upper)
        for mask, color, label in ((inside, "tab:blue", "interval covers actual"),
                                   (~inside, "tab:red", "interval misses actual")):
            ax.errorbar(self.actual[mask], self.mean[mask], yerr=Z95 * self.std[mask], fmt="o", ms=3,
                        color=color, alpha=0.7, elinewidth=0.8, label=label)
        lo, hi = float(min(self.actual.min(), self.lower.min())), float(max(self.actual.max(), self.upper.max()))
        ax.plot([lo, hi], [lo, hi], color="gray", lw=1)
        ax.set_xlabel(f"actual {self.units}")
        ax.set_ylabel(f"predicted {self.units} (95 % interval)")
        ax.set_title(f"{title}\ncoverage {100 * self.coverage:.0f} % of {len(self.actual)}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return write_figure(fig, target, "plot", fmt=fmt, metadata=dict([_MARK]) if fmt == "png" else None)


def surrogate_strategies() -> list[str]:
    """The registered strategy names :func:`loo_cv` supports: those built on :class:`ModelBasedStrategy`."""
    from .. import STRATEGIES  # the registry imports this package

    return [name for name in STRATEGIES.names()
            if isinstance(STRATEGIES.get(name), type) and issubclass(STRATEGIES.get(name), ModelBasedStrategy)]


def _described(strategy: Any) -> str:
    """A strategy as its registered name (its class name if it has none)."""
    name = getattr(strategy, "name", None)
    return f"strategy {name!r}" if isinstance(name, str) else f"a {type(strategy).__name__}"


def loo_cv(strategy: Any, max_points: int | None = None, seed: int = 0,
           surrogate: str | dict[str, Any] | None = None) -> LOOResult:
    """Refit the strategy's surrogate without each observed result in turn and predict it.

    ``strategy``: a model-based strategy (values are the scores it was told: higher is better, so a minimized
    objective's are sign-flipped) or a single-objective Study of one (values in the objective's own units).

    ``max_points`` leaves out only that many results (a random subset; each fit still trains on all
    the others), for expensive surrogates or long histories. ``surrogate`` (a spec) refits that model
    instead of the strategy's own, on the same history, e.g. to compare calibrations.
    """
    sign, units = 1.0, SCORE_UNITS
    if not isinstance(strategy, ModelBasedStrategy) and hasattr(strategy, "signs"):  # a Study
        if len(strategy.signs) != 1:
            raise UsageError(f"leave-one-out needs a single-objective study, got objectives {strategy.objectives}")
        sign, units, strategy = strategy.signs[0], strategy.objectives[0], strategy.strategy
    if not isinstance(strategy, ModelBasedStrategy):
        raise UsageError(f"leave-one-out refits a model-based strategy's surrogate: it supports "
                         f"{', '.join(surrogate_strategies())} (single-objective, with a fitted surrogate); "
                         f"{_described(strategy)} has none")
    if max_points is not None:
        check_int("max_points", max_points, 1)
    history = strategy.history
    if len(history) < 3:
        raise UsageError(f"leave-one-out needs at least 3 finished results, got {len(history)}")
    rows = np.arange(len(history))
    if max_points is not None and max_points < len(history):
        rows = np.sort(np.random.default_rng(seed).choice(len(history), max_points, replace=False))
    if surrogate is None:
        new_surrogate = strategy.new_surrogate
    else:
        from .surrogates import make_surrogate

        template = make_surrogate(surrogate, strategy.space)  # a bad spec fails before any fit
        new_surrogate = partial(copy.copy, template)
    archs = [a for a, _ in history]
    y = np.array([v for _, v in history])
    mean, std = np.empty(len(rows)), np.empty(len(rows))
    for out, i in enumerate(rows):
        keep = np.flatnonzero(np.arange(len(history)) != i)
        model = fit_surrogate(new_surrogate(), [archs[j] for j in keep], y[keep], seed=seed + int(i))
        m, s = model.predict([archs[i]])
        mean[out], std[out] = m[0], s[0]
    if not np.any(std > 0):
        warnings.warn("leave-one-out: the surrogate gives no uncertainty (std 0, a point predictor), so coverage_95 "
                      "and mean_interval_width say nothing about calibration", UserWarning, stacklevel=2)
    return LOOResult([strategy.space.format(archs[i]) for i in rows], sign * y[rows], sign * mean, std, units)
