"""Pareto analysis for several objectives: the math lives in :mod:`nasforge.pareto` (re-exported
here); this module adds the front plot.
"""

from __future__ import annotations

import numpy as np

from ..pareto import (crowding_distance, dominance_matrix, hypervolume, non_dominated_mask,  # noqa: F401
                      non_dominated_sort, pareto_front, rank_and_crowding, to_maximization)
from ..writes import write_figure


def plot_front(path: str, x: np.ndarray, y: np.ndarray, front: np.ndarray, xlabel: str, ylabel: str,
               title: str = "", extra: tuple[np.ndarray, np.ndarray, str] | None = None, log_x: bool = True,
               directions: tuple[str, str] = ("minimize", "maximize")) -> None:
    """Save a scatter of all points (grey) with the Pareto ``front`` indices highlighted as a step line (the
    best ``y`` attainable at each ``x`` under ``directions``, those of x and y); ``extra`` adds labelled points
    (e.g. retrained accuracies) as ``(x, y, label)``. The y axis zooms on the front (points far on its bad
    side are left out of view)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.scatter(x, y, s=14, c="0.7", label="trials")
    order = front[np.argsort(x[front], kind="stable")]
    # a minimized x attains a front point's y from its x on (post); a maximized x up to its x (pre)
    ax.step(x[order], y[order], where="post" if directions[0] == "minimize" else "pre", c="C0", lw=1.2)
    ax.scatter(x[order], y[order], s=30, c="C0", label="Pareto front")
    if extra is not None:
        ax.scatter(extra[0], extra[1], s=50, marker="*", c="C3", label=extra[2], zorder=3)
    shown = np.concatenate([y[front], extra[1] if extra is not None else []])
    if shown.size:
        spread = max(float(np.ptp(shown)), 1e-9)
        if directions[1] == "maximize":
            low = float(shown.min()) - 0.5 * spread
            if low > float(y.min()):
                ax.set_ylim(bottom=low, top=float(max(y.max(), shown.max())) + 0.1 * spread)
        else:
            high = float(shown.max()) + 0.5 * spread
            if high < float(y.max()):
                ax.set_ylim(bottom=float(min(y.min(), shown.min())) - 0.1 * spread, top=high)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    write_figure(fig, path, "plot", dpi=120)
