"""Pareto math for several objectives: dominance, non-dominated sorting, crowding, hypervolume.

A leaf module (NumPy only) shared by strategies, the study and analysis. Every function takes an
``(n, d)`` array where **higher is better** in every column (the convention of strategy scores),
unless ``directions`` says otherwise ("maximize"/"minimize" per column, or one of them for every
column): then minimized columns are flipped first.

Constraints enter as a per-point ``violation`` (0 for feasible points, the amount by which a
constraint is broken otherwise): with it, dominance is *feasible-first* (Deb et al. 2002): a feasible
point dominates every infeasible one, and of two infeasible points the smaller violation dominates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .checks import float_array
from .exceptions import UsageError

_CHUNK = 1024  # rows per block in pairwise comparisons (bounds memory at _CHUNK * n * d booleans)
_FEW = 64  # up to this many points, one pairwise comparison is quicker than the sweep's Python loop

Points = np.ndarray | Sequence[Sequence[float]]
Directions = str | Sequence[str]
SENSES = {"max": "maximize", "min": "minimize", "maximize": "maximize", "minimize": "minimize"}
"""How a direction may be written (any case) -> its stored name (:func:`as_direction`)."""
DIRECTIONS = ("maximize", "minimize")


def as_direction(value: object) -> str:
    """"maximize" or "minimize" for a direction written max, min, maximize or minimize (any case, as the CLI,
    ``Study`` and ``SearchConfig`` all take it); anything else is a UsageError."""
    sense = SENSES.get(value.strip().lower()) if isinstance(value, str) else None
    if sense is None:
        raise UsageError(f"unknown direction {value!r}; use max, min, maximize or minimize")
    return sense


def to_maximization(values: Points, directions: Directions | None = None) -> np.ndarray:
    """The points as a float array with the columns whose direction is "minimize" negated; ``directions`` is
    one name per column, or a single name for every column (as a Study takes it)."""
    points = _as_points(values)
    if directions is None:
        return points
    if isinstance(directions, str):
        directions = [directions] * points.shape[1]
    directions = [as_direction(d) for d in directions]
    if len(directions) != points.shape[1]:
        raise UsageError(f"{points.shape[1]} objective columns but {len(directions)} directions")
    signs = np.array([1.0 if d == "maximize" else -1.0 for d in directions])
    return points * signs


def dominance_matrix(points: Points, directions: Directions | None = None,
                     violation: Sequence[float] | None = None) -> np.ndarray:
    """``D[i, j]`` is True when point i dominates point j (>= everywhere, > somewhere; feasible-first
    when ``violation`` is given)."""
    p = to_maximization(points, directions)
    out = np.empty((len(p), len(p)), dtype=bool)
    for start in range(0, len(p), _CHUNK):
        out[start:start + _CHUNK] = _dominates(p, start, _violation(violation, len(p)))
    return out


def non_dominated_mask(points: Points, directions: Directions | None = None,
                       violation: Sequence[float] | None = None, least_violated_front: bool = False) -> np.ndarray:
    """Boolean mask of the points no other point dominates (the Pareto front; duplicates all stay). Two
    objectives: a sort and a sweep (O(n log n)); more: a sweep whose work grows with the points times the front.
    With violations, feasible-first: the front of the feasible points, else the least violated points (rank 0 of
    :func:`non_dominated_sort`, which strategies select by); ``least_violated_front``: else only those of them not
    dominated on the objectives (the front a study shows)."""
    p = to_maximization(points, directions)
    v = _violation(violation, len(p))
    if v is None or not (v > 0).any():
        return _front_mask(p)
    mask = np.zeros(len(p), dtype=bool)
    feasible = v <= 0
    if feasible.any():
        mask[feasible] = _front_mask(p[feasible])
    else:
        least = v == v.min()
        mask[least] = _front_mask(p[least]) if least_violated_front else True
    return mask


def _front_mask(p: np.ndarray) -> np.ndarray:
    """Non-dominated mask of maximized points without constraints: a few points (or no objective) compared
    pairwise at once, else by a sweep."""
    if p.shape[1] == 2:
        return _non_dominated_2d(p)
    if len(p) <= _FEW or p.shape[1] == 0:
        return ~_dominates(p, 0, None).any(0)
    return _sweep_non_dominated(p)


def _non_dominated_2d(p: np.ndarray) -> np.ndarray:
    """Non-dominated mask of 2-D points (maximized): sorted by x then y, both descending, a point is dominated
    when an earlier x-group reaches its y, or its own group (same x) has a larger y."""
    order = np.lexsort((-p[:, 1], -p[:, 0]))
    xs, ys = p[order, 0], p[order, 1]
    starts = np.r_[True, xs[1:] != xs[:-1]] if len(xs) else np.zeros(0, dtype=bool)
    group = np.maximum.accumulate(np.where(starts, np.arange(len(xs)), 0))  # first index of each point's x-group
    before = np.r_[-np.inf, np.maximum.accumulate(ys)[:-1]] if len(ys) else ys  # best y of the points before
    dominated = ((group > 0) & (before[group] >= ys)) | (ys[group] > ys)
    mask = np.empty(len(p), dtype=bool)
    mask[order] = ~dominated
    return mask


def _sweep_non_dominated(p: np.ndarray) -> np.ndarray:
    """Non-dominated mask of maximized points in any dimension.

    In descending lexicographic order a point comes after every point that dominates it and beside its equals, so
    each point still kept when its turn comes is non-dominated and drops the later points it is >= everywhere
    (past its equals, which it does not dominate): the work grows with the points times the front, not with the
    square of the points.
    """
    if len(p) == 0:
        return np.ones(0, dtype=bool)
    order = np.lexsort(p.T)[::-1]  # keys: last column first, ties broken by the ones before
    q = p[order]
    firsts = np.flatnonzero(np.r_[True, (q[1:] != q[:-1]).any(1)])  # the first row of each run of equal rows
    run_ends = np.r_[firsts[1:], len(q)]
    kept = np.ones(len(q), dtype=bool)
    for first, end in zip(firsts, run_ends):
        if kept[first]:
            kept[end:] &= ~(q[first] >= q[end:]).all(1)
    mask = np.empty(len(p), dtype=bool)
    mask[order] = kept
    return mask


def pareto_front(points: Points, directions: Directions | None = None,
                 violation: Sequence[float] | None = None) -> np.ndarray:
    """Indices of the non-dominated points, in input order."""
    return np.flatnonzero(non_dominated_mask(points, directions, violation))


def non_dominated_sort(points: Points, directions: Directions | None = None,
                       violation: Sequence[float] | None = None) -> np.ndarray:
    """Front rank of every point: 0 for the Pareto front, 1 for the front once rank 0 is removed, and so on."""
    dom = dominance_matrix(points, directions, violation)
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


def crowding_distance(points: Points) -> np.ndarray:
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


def rank_and_crowding(points: Points, violation: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """NSGA-II's order of a population: front rank (feasible-first) and crowding distance within each front."""
    p = _as_points(points)
    ranks = non_dominated_sort(p, violation=violation)
    crowding = np.zeros(len(p))
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        crowding[members] = crowding_distance(p[members])
    return ranks, crowding


def hypervolume(points: Points, reference: Sequence[float], directions: Directions | None = None) -> float:
    """Volume of the region dominated by ``points`` and dominating ``reference``.

    ``reference`` is in the same units as ``points`` (flipped with them for minimized columns).
    Points that do not strictly beat the reference in every objective add nothing. Exact: a sorted
    sweep in 2-D (O(n log n)), recursive slicing along the last objective beyond (fine for a few objectives).
    A non-finite point or reference is a UsageError.
    """
    p, ref = _hv_inputs(points, reference, directions)
    p = p[(p > ref).all(1)]
    if len(p) == 0:
        return 0.0
    return float(_hv(_kept(p - ref)))


REFERENCE_MARGIN = 0.1
"""How far :func:`reference_point` puts the hypervolume reference beyond the worst value of each objective: this
share of the objective's range, as BoTorch's ``infer_reference_point(scale=0.1)``."""


def reference_point(points: Points, directions: Directions | None = None) -> np.ndarray:
    """A hypervolume reference for ``points`` (original units, ``directions`` as :func:`to_maximization` takes
    them): beyond the worst value of each objective by :data:`REFERENCE_MARGIN` of its range, so that a front
    point worst on one objective still adds volume; an objective whose values are all equal gets that share of its
    magnitude (of 1 where it is 0). The reports' progress and ``summary.json`` of ``nasforge search`` use it."""
    p = to_maximization(points, directions)
    if not len(p):
        raise UsageError("a hypervolume reference point needs at least one point")
    worst, span = p.min(0), p.max(0) - p.min(0)
    span = np.where(span > 0, span, np.where(worst != 0, np.abs(worst), 1.0))
    return to_maximization((worst - REFERENCE_MARGIN * span)[None], directions)[0]


def hypervolume_progress(points: Points, reference: Sequence[float],
                         directions: Directions | None = None) -> np.ndarray:
    """``hypervolume(points[:n], reference, directions)`` for every n = 1..len(points), exactly and incrementally:
    the non-dominated set is kept as points arrive, and a point that enters it adds its box less the volume its
    box shares with the set (the hypervolume of the set clipped to the box), so only points that change the front
    cost more than a dominance check."""
    p, ref = _hv_inputs(points, reference, directions)
    out = np.zeros(len(p))
    front = np.empty((0, p.shape[1]))
    volume = 0.0
    for k, x in enumerate(p):
        if (x > ref).all() and not (front >= x).all(1).any():
            shared = _hv(_kept(np.minimum(front, x) - ref)) if len(front) else 0.0
            volume += max(float(np.prod(x - ref)) - shared, 0.0)
            front = np.vstack([front[~(x >= front).all(1)], x])
        out[k] = volume
    return out


def _hv_inputs(points: Points, reference: Sequence[float],
               directions: Directions | None) -> tuple[np.ndarray, np.ndarray]:
    """Points and reference of a hypervolume, maximized and checked (finite, one reference value per objective);
    an empty list of points has as many objectives as the reference."""
    ref = float_array("reference", reference)
    if np.ndim(points) == 1 and np.size(points) == 0 and ref.ndim == 1:
        points = np.empty((0, ref.size))
    p = to_maximization(points, directions)
    if ref.shape != (p.shape[1],):
        got = f"{ref.size} values for {p.shape[1]} objectives" if ref.ndim == 1 else f"shape {ref.shape}"
        raise UsageError(f"hypervolume reference must be one list of {p.shape[1]} numbers (one per objective), got "
                         f"{got}: {ref.tolist()}")
    if not np.isfinite(ref).all():
        raise UsageError(f"hypervolume reference must be finite, got {ref.tolist()}")
    if not np.isfinite(p).all():
        bad = np.flatnonzero(~np.isfinite(p).all(1))
        raise UsageError(f"hypervolume points must be finite: {len(bad)} point(s) are not, first row {bad[0]} "
                         f"{p[bad[0]].tolist()}")
    if directions is not None:
        ref = to_maximization(ref[None], directions)[0]
    return p, ref


def _kept(p: np.ndarray) -> np.ndarray:
    """The points :func:`_hv` needs: all of them in 1-D and 2-D (its sweep ignores dominated points), else the
    non-dominated ones (in input order, duplicates kept)."""
    return p if p.shape[1] <= 2 or len(p) <= 1 else p[_sweep_non_dominated(p)]


def _hv(p: np.ndarray) -> float:
    """Hypervolume of points against the origin (all coordinates positive; beyond 2-D, non-dominated points)."""
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
        volume += (upper - lower) * _hv(_kept(p[p[:, -1] >= upper, :-1]))
    return volume


def _dominates(p: np.ndarray, start: int, violation: np.ndarray | None) -> np.ndarray:
    """Rows ``start:start+_CHUNK`` of the dominance matrix."""
    block = p[start:start + _CHUNK, None, :]
    dom = (block >= p[None]).all(-1) & (block > p[None]).any(-1)
    if violation is None:
        return dom
    vi, vj = violation[start:start + _CHUNK, None], violation[None, :]
    both_feasible = (vi <= 0) & (vj <= 0)
    return np.where(both_feasible, dom, vi < vj)


def _violation(violation: Sequence[float] | None, n: int) -> np.ndarray | None:
    if violation is None:
        return None
    v = float_array("violation", violation).reshape(-1)
    if v.shape != (n,):
        raise UsageError(f"{v.size} violations for {n} points")
    if np.isnan(v).any():
        raise UsageError("violations contain NaN")
    return np.maximum(v, 0.0)


def _as_points(values: Points) -> np.ndarray:
    p = float_array("points", values)
    if p.ndim == 1 and p.size == 0:
        return p.reshape(0, 1)
    if p.ndim != 2:
        raise UsageError(f"points must be a 2-D array (n points x d objectives), got shape {p.shape}")
    if np.isnan(p).any():
        raise UsageError("points contain NaN")
    return p


__all__ = ["REFERENCE_MARGIN", "crowding_distance", "dominance_matrix", "hypervolume", "hypervolume_progress",
           "non_dominated_mask", "non_dominated_sort", "pareto_front", "rank_and_crowding", "reference_point",
           "to_maximization"]
