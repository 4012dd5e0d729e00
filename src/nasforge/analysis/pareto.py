"""Pareto analysis for several objectives: the math lives in :mod:`nasforge.pareto` (re-exported
here); this module adds the front plot.
"""

from __future__ import annotations

import numpy as np

from ..pareto import (crowding_distance, dominance_matrix, hypervolume, non_dominated_mask,  # noqa: F401
                      non_dominated_sort, pareto_front, rank_and_crowding, reference_point, to_maximization)
from ..writes import write_figure


def plot_front(path: str, x: np.ndarray, y: np.ndarray, front: np.ndarray, xlabel: str, ylabel: str,
               title: str = "", extra: tuple[np.ndarray, np.ndarray, str] | None = None, log_x: bool = True,
               directions: tuple[str, str] = ("minimize", "maximize"), infeasible: np.ndarray | None = None,
               bounds: tuple[list[float], list[float]] = ([], []), names: tuple[str, str] | None = None) -> None:
    """Save a scatter of the other points (grey) with the Pareto ``front`` indices highlighted as a step line (the
    best ``y`` attainable at each ``x`` under ``directions``, those of x and y); ``extra`` adds labelled points
    (e.g. retrained accuracies) as ``(x, y, label)``. The y axis zooms on the front and ``extra``: points far on
    y's bad side are drawn as triangles on the axis edge, counted in the legend. ``infeasible`` indices (trials
    breaking a constraint, never on the front) are drawn as orange crosses (orange triangles where cut off by the
    zoom); ``bounds`` are constraint bounds on x and on
    y, drawn as dashed lines where they lie within (or near) the points, else named in the legend as off the plot by
    ``names``, the metrics of x and y (by default ``xlabel`` and ``ylabel``). The legend sits below the axes, where
    it hides no point.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 5.2), layout="constrained")
    maximize = directions[1] == "maximize"
    limits = _zoom(y, np.concatenate([y[front], extra[1] if extra is not None else []]), maximize)
    rest = np.setdiff1d(np.arange(len(y)), front)
    cut = rest[(y[rest] < limits[0]) if maximize else (y[rest] > limits[1])] if limits else rest[:0]
    shown = np.setdiff1d(rest, cut)
    broken = np.intersect1d(shown, infeasible if infeasible is not None else [])
    shown = np.setdiff1d(shown, broken)
    if shown.size:
        ax.scatter(x[shown], y[shown], s=14, c="0.7", label="other trials")
    if broken.size:
        ax.scatter(x[broken], y[broken], s=22, c="C1", marker="x", label="infeasible (breaks a constraint)")
    y_range = limits or (float(np.min(y)), float(np.max(y)))
    if extra is not None and not limits:
        y_range = (min(y_range[0], float(np.min(extra[1]))), max(y_range[1], float(np.max(extra[1]))))
    drawn, away = [], []
    x_name, y_name = names or (xlabel, ylabel)
    for name, values, log, line, on in ((x_name, x, log_x, ax.axvline, bounds[0]),
                                        (y_name, y_range, False, ax.axhline, bounds[1])):
        for bound in on:
            if _near(bound, np.asarray(values, dtype=float), log):
                line(bound, c="C1", ls="--", lw=1, label=None if drawn else "constraint bound")
                drawn.append(bound)
            else:  # drawing it would stretch the axis and squeeze every point to one side
                away.append(f"{name} = {bound:.4g}")
    if away:
        ax.plot([], [], c="C1", ls="--", lw=1, label=f"constraint bound off the plot: {', '.join(away)}")
    order = front[np.argsort(x[front], kind="stable")]
    # a minimized x attains a front point's y from its x on (post); a maximized x up to its x (pre)
    ax.step(x[order], y[order], where="post" if directions[0] == "minimize" else "pre", c="C0", lw=1.2)
    ax.scatter(x[order], y[order], s=30, c="C0", label="Pareto front")
    if extra is not None:
        ax.scatter(extra[0], extra[1], s=50, marker="*", c="C3", label=extra[2], zorder=3)
    if limits:
        ax.set_ylim(*limits)
    if cut.size:  # on the axis edge; infeasible ones marked as such (orange), as on the plot
        edge, side = (limits[0], "below") if maximize else (limits[1], "above")
        cut_broken = np.intersect1d(cut, infeasible if infeasible is not None else [])
        for group, colour, what in ((np.setdiff1d(cut, cut_broken), "0.55", "other"),
                                    (cut_broken, "C1", "infeasible")):
            if group.size:
                far = y[group].min() if maximize else y[group].max()
                label = f"{group.size} {what} trial(s) {side} the axis (to {far:.4g})"
                ax.scatter(x[group], np.full(group.size, edge), s=24, c=colour, marker="v" if maximize else "^",
                           clip_on=False, zorder=3, label=label)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncol=2, fontsize=8)  # below the axes: it covers no point
    write_figure(fig, path, "plot", dpi=120)


def _near(bound: float, values: np.ndarray, log: bool) -> bool:
    """Whether a line at ``bound`` lies within the range of ``values`` or a tenth of its span beyond (on a log axis,
    in decades), so drawing it keeps the points legible."""
    values = values[np.isfinite(values)]
    if log:
        if not bound > 0 or not (values > 0).any():
            return False
        bound, values = float(np.log10(bound)), np.log10(values[values > 0])
    if not values.size:
        return False
    low, high = float(values.min()), float(values.max())
    pad = 0.1 * (high - low) or 0.1 * max(abs(high), 1.0)
    return low - pad <= bound <= high + pad


def _zoom(y: np.ndarray, shown: np.ndarray, maximize: bool) -> tuple[float, float] | None:
    """The y limits that keep ``shown`` (the front and extra points) legible: half their spread beyond them on y's
    bad side; None when that would cut off no point of ``y``, or when ``shown`` has no spread to scale it by."""
    spread = float(np.ptp(shown)) if shown.size else 0.0
    if not spread > 0:
        return None
    if maximize:
        low = float(shown.min()) - 0.5 * spread
        return (low, float(max(y.max(), shown.max())) + 0.1 * spread) if low > float(y.min()) else None
    high = float(shown.max()) + 0.5 * spread
    return (float(min(y.min(), shown.min())) - 0.1 * spread, high) if high < float(y.max()) else None
