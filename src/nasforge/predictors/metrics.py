"""How well predictions match measured performance: regression and ranking metrics."""

from __future__ import annotations

import warnings

import numpy as np

from ..checks import float_array, is_real
from ..exceptions import UsageError


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = float_array("y_true", y_true).ravel()
    p = float_array("y_pred", y_pred).ravel()
    if t.shape != p.shape:
        raise UsageError(f"y_true has {t.size} values but y_pred has {p.size}")
    if t.size < 2:
        raise UsageError(f"need at least 2 values to score predictions, got {t.size}")
    for name, values in (("y_true", t), ("y_pred", p)):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise UsageError(f"{name} must be finite: it holds {bad.size} NaN/inf value(s) of {values.size} "
                             f"(first at position {bad[0]})")
    return t, p


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination (1 is perfect, 0 is as good as predicting the mean)."""
    t, p = _pair(y_true, y_pred)
    total = np.sum((t - t.mean()) ** 2)
    return float(1.0 - np.sum((t - p) ** 2) / total) if total > 0 else float("nan")


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error, in the metric's units (a UsageError for inputs of other lengths, fewer than 2
    values or NaN/inf, as every metric here)."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error, in the metric's units (inputs checked as for :func:`mae`)."""
    t, p = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def kendall_tau(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Kendall's tau-b rank correlation.

    NaN when either input is constant: it has no ranking to compare (as scipy says). This is not an
    error because predictor evaluations and surrogate hold-out scores must still record a score for a
    model that predicts one value for everything; :func:`r2` likewise gives NaN for a constant ``y_true``.
    """
    t, p = _pair(y_true, y_pred)
    return _rank_correlation("kendalltau", t, p)


def sparse_kendall_tau(y_true: np.ndarray, y_pred: np.ndarray, decimals: int | None = None) -> float:
    """Kendall tau after rounding both to ``decimals``, so that differences within measurement noise count as
    ties rather than as ranking errors (NaN when either is constant after rounding, as in :func:`kendall_tau`).

    ``decimals=None`` follows the metric's scale (:func:`tie_decimals`): 0.1 point for accuracies in percent,
    0.001 for accuracies as fractions in [0, 1].
    """
    t, p = _pair(y_true, y_pred)
    if decimals is None:
        decimals = tie_decimals(t)
    elif isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise UsageError(f"decimals must be a whole number of decimal places, got {decimals!r}")
    return _rank_correlation("kendalltau", np.round(t, decimals), np.round(p, decimals))


def tie_decimals(y_true: np.ndarray) -> int:
    """Decimal places of :func:`sparse_kendall_tau`'s ties for these measured values: a thousandth of their
    largest magnitude, as a power of ten (``3 - ceil(log10(max |y|))``: 1 for values above 10 up to 100, such
    as accuracies in percent; 3 for fractions up to 1; 3 for all-zero values)."""
    top = float(np.max(np.abs(np.asarray(y_true, dtype=np.float64)))) if np.size(y_true) else 0.0
    return 3 - int(np.ceil(np.log10(top))) if top > 0 and np.isfinite(top) else 3


def spearman(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Spearman's rank correlation (NaN when either input is constant, as in :func:`kendall_tau`)."""
    t, p = _pair(y_true, y_pred)
    return _rank_correlation("spearmanr", t, p)


def _rank_correlation(name: str, t: np.ndarray, p: np.ndarray) -> float:
    """scipy's ``name`` statistic; NaN for a constant input, without scipy's ConstantInputWarning (it is the
    documented result, not a problem to report)."""
    from scipy import stats  # lazily: importing nasforge must not load scipy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(getattr(stats, name)(t, p).statistic)


def precision_at_k(y_true: np.ndarray, y_pred: np.ndarray, k: int | float = 0.01, maximize: bool = True) -> float:
    """Fraction of the predicted top-k that are in the true top-k (the highest values with ``maximize``, the
    lowest without: pass ``maximize=False`` for a lower-is-better metric such as a loss or a latency).

    ``k`` is a count, or a fraction of the items when below 1 (at least one item). A predicted pick is a hit when
    its true value is at least as good as the k-th best true value, so items tied in ``y_true`` (isomorphic cells
    of a table) count alike and the score does not depend on their order. Predictions tied at the k-th place share
    the places left (the mean over every order of the ties), so the score does not depend on the items' order.
    """
    t, p = _pair(y_true, y_pred)
    if not is_real(k) or (k >= 1 and k != int(k)):
        raise UsageError(f"k must be a whole count or a fraction below 1, got k={k!r}")
    if not isinstance(maximize, (bool, np.bool_)):
        raise UsageError(f"maximize must be True or False, got {maximize!r}")
    count = max(1, int(round(k * t.size))) if 0 < k < 1 else int(k)
    if not 1 <= count <= t.size:
        raise UsageError(f"top-k size must be between 1 and {t.size}, got k={k!r}")
    sign = -1.0 if maximize else 1.0
    hit = sign * t <= np.sort(sign * t)[count - 1]
    score = sign * p
    cut = np.sort(score)[count - 1]
    inside, tied = score < cut, score == cut  # picks tied with the k-th predicted share the places left
    places = count - int(inside.sum())
    return float((hit[inside].sum() + places * hit[tied].mean()) / count)


METRICS = {"kendall_tau": kendall_tau, "sparse_kendall_tau": sparse_kendall_tau, "spearman": spearman,
           "r2": r2, "mae": mae, "rmse": rmse, "precision_top1pct": precision_at_k}


def score_all(y_true: np.ndarray, y_pred: np.ndarray, maximize: bool = True) -> dict[str, float]:
    """Every metric of ``METRICS``, by name (``precision_top1pct`` for the best 1% by ``maximize``; sparse
    Kendall tau with ties of :func:`tie_decimals`)."""
    scores = {name: fn(y_true, y_pred) for name, fn in METRICS.items() if name != "precision_top1pct"}
    return {**scores, "precision_top1pct": precision_at_k(y_true, y_pred, maximize=maximize)}
