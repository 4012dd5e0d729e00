"""Pareto analysis for several objectives: dominance, non-dominated sorting, crowding, hypervolume.

Every function takes an ``(n, d)`` array where **higher is better** in every column (the convention
of strategy scores); :func:`to_maximization` flips minimized columns first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_CHUNK = 1024  # rows per block in pairwise comparisons (bounds memory at _CHUNK * n * d booleans)


def to_maximization(values: np.ndarray | Sequence[Sequence[float]], directions: Sequence[str]) -> np.ndarray:
    """Negate the columns whose direction is "minimize"."""
    points = _as_points(values)
    if len(directions) != points.shape[1]:
        raise ValueError(f"{points.shape[1]} objective columns but {len(directions)} directions")
    bad = [d for d in directions if d not in ("maximize", "minimize")]
    if bad:
        raise ValueError(f"unknown direction(s) {bad}; use 'maximize' or 'minimize'")
    signs = np.array([1.0 if d == "maximize" else -1.0 for d in directions])
    return points * signs


def dominance_matrix(points: np.ndarray) -> np.ndarray:
    """``D[i, j]`` is True when point i dominates point j (>= everywhere, > somewhere)."""
    p = _as_points(points)
    out = np.empty((len(p), len(p)), dtype=bool)
    for start in range(0, len(p), _CHUNK):
        block = p[start:start + _CHUNK, None, :]
        out[start:start + _CHUNK] = (block >= p[None]).all(-1) & (block > p[None]).any(-1)
    return out


def non_dominated_mask(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the points no other point dominates (the Pareto front; duplicates all stay)."""
    p = _as_points(points)
    mask = np.ones(len(p), dtype=bool)
    for start in range(0, len(p), _CHUNK):
        block = p[start:start + _CHUNK, None, :]
        dominated_by_block = ((block >= p[None]).all(-1) & (block > p[None]).any(-1)).any(0)
        mask &= ~dominated_by_block
    return mask


def pareto_front(points: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points, in input order."""
    return np.flatnonzero(non_dominated_mask(points))


def non_dominated_sort(points: np.ndarray) -> np.ndarray:
    """Front rank of every point: 0 for the Pareto front, 1 for the front once rank 0 is removed, and so on."""
    dom = dominance_matrix(points)
    n = len(dom)
    ranks = np.full(n, -1, dtype=int)
    counts = dom.sum(0)  # how many points dominate each point
    current = np.flatnonzero(counts == 0)
    rank = 0
    while current.size:
        ranks[current] = rank
        counts = counts - dom[current].sum(0)
        counts[ranks >= 0] = -1
        current = np.flatnonzero(counts == 0)
        rank += 1
    return ranks


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance within one set of points (boundary points get infinity)."""
    p = _as_points(points)
    n, d = p.shape
    if n <= 2:
        return np.full(n, np.inf)
    order = np.argsort(p, axis=0, kind="stable")
    sorted_vals = np.take_along_axis(p, order, axis=0)
    span = sorted_vals[-1] - sorted_vals[0]
    gaps = np.zeros((n, d))
    gaps[1:-1] = (sorted_vals[2:] - sorted_vals[:-2]) / np.where(span > 0, span, 1.0)
    gaps[0] = gaps[-1] = np.inf
    distance = np.zeros(n)
    for k in range(d):
        np.add.at(distance, order[:, k], gaps[:, k])
    return distance


def hypervolume(points: np.ndarray, reference: Sequence[float]) -> float:
    """Volume of the region dominated by ``points`` and dominating ``reference`` (maximization).

    Points that do not strictly beat the reference in every objective add nothing. Exact: a sorted
    sweep in 2-D, recursive slicing along the last objective beyond.
    """
    p = _as_points(points)
    ref = np.asarray(reference, dtype=float)
    if ref.shape != (p.shape[1],):
        raise ValueError(f"reference point has {ref.size} values for {p.shape[1]} objectives")
    p = p[(p > ref).all(1)]
    if len(p) == 0:
        return 0.0
    return float(_hv(p[non_dominated_mask(p)] - ref))


def _hv(p: np.ndarray) -> float:
    """Hypervolume of non-dominated points against the origin (all coordinates positive)."""
    d = p.shape[1]
    if d == 1:
        return float(p.max())
    if d == 2:
        p = p[np.argsort(-p[:, 0], kind="stable")]
        heights = np.maximum.accumulate(p[:, 1])  # best y among points with x at least this large
        widths = p[:, 0] - np.append(p[1:, 0], 0.0)
        return float((widths * heights).sum())
    levels = np.unique(p[:, -1])[::-1]  # slice the last objective from the top down
    volume = 0.0
    for upper, lower in zip(levels, np.append(levels[1:], 0.0)):
        active = p[p[:, -1] >= upper, :-1]
        volume += (upper - lower) * _hv(active[non_dominated_mask(active)])
    return volume


def _as_points(values: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    p = np.asarray(values, dtype=float)
    if p.ndim == 1 and p.size == 0:
        return p.reshape(0, 1)
    if p.ndim != 2:
        raise ValueError(f"points must be a 2-D array (n points x d objectives), got shape {p.shape}")
    if np.isnan(p).any():
        raise ValueError("points contain NaN")
    return p


def plot_front(path: str, x: np.ndarray, y: np.ndarray, front: np.ndarray, xlabel: str, ylabel: str,
               title: str = "", extra: tuple[np.ndarray, np.ndarray, str] | None = None, log_x: bool = True) -> None:
    """Save a scatter of all points (grey) with the Pareto ``front`` indices highlighted as a step line;
    ``extra`` adds labelled points (e.g. retrained accuracies) as ``(x, y, label)``. The y axis zooms on
    the front (points far below it are left out of view)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.scatter(x, y, s=14, c="0.7", label="trials")
    order = front[np.argsort(x[front], kind="stable")]
    ax.step(x[order], y[order], where="post", c="C0", lw=1.2)
    ax.scatter(x[order], y[order], s=30, c="C0", label="Pareto front")
    if extra is not None:
        ax.scatter(extra[0], extra[1], s=50, marker="*", c="C3", label=extra[2], zorder=3)
    shown = np.concatenate([y[front], extra[1] if extra is not None else []])
    if shown.size:
        spread = max(float(np.ptp(shown)), 1e-9)
        low = float(shown.min()) - 0.5 * spread
        if low > float(y.min()):
            ax.set_ylim(bottom=low, top=float(max(y.max(), shown.max())) + 0.1 * spread)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
