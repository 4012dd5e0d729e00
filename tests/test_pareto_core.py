"""nasforge.pareto: the one Pareto implementation (mixed directions, feasible-first dominance, hypervolume)."""

import itertools

import numpy as np
import pytest

from nasforge import pareto
from nasforge.exceptions import UsageError


def _brute_front(points):
    return [i for i, p in enumerate(points)
            if not any(np.all(q >= p) and np.any(q > p) for q in points)]


def test_front_matches_brute_force_and_mixed_directions_flip_columns():
    rng = np.random.default_rng(0)
    points = rng.integers(0, 6, size=(60, 3)).astype(float)
    assert list(pareto.pareto_front(points)) == _brute_front(points)
    mixed = points * np.array([1.0, -1.0, 1.0])
    assert list(pareto.pareto_front(mixed, ["maximize", "minimize", "maximize"])) == _brute_front(points)
    with pytest.raises(ValueError, match="direction"):
        pareto.pareto_front(points, ["maximize", "lower", "maximize"])


def test_one_direction_name_applies_to_every_column_and_unknown_names_are_usage_errors():
    from nasforge.exceptions import UsageError

    points = [[1.0, 5.0], [2.0, 4.0], [3.0, 6.0]]
    assert list(pareto.pareto_front(points, "minimize")) == [0, 1]
    assert list(pareto.pareto_front(points, "maximize")) == [2]
    assert list(pareto.non_dominated_sort(points, "minimize")) == [0, 0, 1]
    assert pareto.hypervolume(points, (4.0, 7.0), "minimize") == pytest.approx(3 * 2 + 1 * 2)
    assert np.array_equal(pareto.to_maximization(points, "minimize"), -np.array(points))
    for bad in ("lower", ["maximize", "up"]):
        with pytest.raises(UsageError, match="unknown direction"):
            pareto.pareto_front(points, bad)
    with pytest.raises(UsageError, match="2 objective columns but 3 directions"):
        pareto.pareto_front(points, ["minimize"] * 3)


def test_non_dominated_sort_peels_fronts():
    points = np.array([[3, 1], [1, 3], [2, 2], [1, 1], [2, 1], [0, 0]], dtype=float)
    ranks = pareto.non_dominated_sort(points)
    assert list(ranks) == [0, 0, 0, 2, 1, 3]
    for r in range(ranks.max() + 1):
        rest = points[ranks >= r]
        assert sorted(map(tuple, points[ranks == r])) == sorted(map(tuple, rest[_brute_front(rest)]))


def test_feasible_first_dominance():
    points = np.array([[10.0, 10.0], [1.0, 1.0], [5.0, 0.0], [0.0, 5.0]])
    violation = [2.0, 0.0, 1.0, 0.0]
    # the best point is infeasible: the feasible ones form the front
    assert list(pareto.pareto_front(points, violation=violation)) == [1, 3]
    ranks = pareto.non_dominated_sort(points, violation=violation)
    assert ranks[1] == ranks[3] == 0 and ranks[2] < ranks[0]  # smaller violation ranks first
    with pytest.raises(ValueError, match="violations"):
        pareto.pareto_front(points, violation=[0.0])


def test_crowding_gives_boundaries_infinity():
    points = np.array([[0.0, 4.0], [1.0, 3.0], [2.0, 1.5], [4.0, 0.0]])
    crowd = pareto.crowding_distance(points)
    assert np.isinf(crowd[[0, 3]]).all() and np.isfinite(crowd[[1, 2]]).all()
    assert crowd[2] > crowd[1]  # more room around the third point
    ranks, crowding = pareto.rank_and_crowding(points)
    assert (ranks == 0).all() and np.allclose(crowding, crowd)


@pytest.mark.parametrize("dims", [1, 2, 3, 4, 5])
def test_front_sweep_matches_pairwise_dominance(dims):
    """The sweeps (2-D: sort and scan; more: lexicographic) agree with the pairwise dominance matrix: ties,
    duplicates, infinities, mixed directions, feasible-first violations (some feasible, none feasible)."""
    rng = np.random.default_rng(5 + dims)
    for case in range(400):
        n = int(rng.integers(0, 25)) if case % 10 else 300
        points = rng.integers(0, 4 if case % 10 else 10, size=(n, dims)).astype(float)
        points[rng.random(n) < 0.1] = np.inf if case % 2 else -np.inf
        points[rng.random((n, dims)) < 0.05] = np.inf  # infinities in single columns too
        violation = [None, np.zeros(n), rng.integers(0, 3, n).astype(float),
                     rng.integers(1, 3, n).astype(float)][case % 4]
        directions = ["maximize", "minimize"][:dims] + ["maximize"] * (dims - 2) if case % 3 else None
        expected = ~pareto.dominance_matrix(points, directions, violation).any(0)
        assert (pareto.non_dominated_mask(points, directions, violation) == expected).all()


@pytest.mark.parametrize("dims", [2, 3])
def test_front_and_hypervolume_need_no_pairwise_comparison(monkeypatch, dims):
    """O(n^2) pairwise dominance made a 3,000-trial report spend seconds on its front (and every multi-objective
    ask pay for it): 2-D needs a sort only, more objectives a sweep against the front."""
    points = np.random.default_rng(0).random((5000, dims))
    expected = pareto.hypervolume(points, (0.0,) * dims)

    def pairwise(*args):
        raise AssertionError("pairwise comparison")

    monkeypatch.setattr(pareto, "_dominates", pairwise)
    assert pareto.non_dominated_mask(points, violation=np.zeros(5000)).sum() == pareto.pareto_front(points).size
    assert pareto.hypervolume(points, (0.0,) * dims) == expected
    assert pareto.hypervolume_progress(points, (0.0,) * dims)[-1] == pytest.approx(expected)


def test_hypervolume_2d_exact_and_with_directions():
    points = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [1.0, 1.0]])
    assert pareto.hypervolume(points, (0.0, 0.0)) == pytest.approx(6.0)
    # accuracy up, cost down: reference (0 accuracy, cost 4)
    acc_cost = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    assert pareto.hypervolume(acc_cost, (0.0, 4.0), ["maximize", "minimize"]) == pytest.approx(3 + 2 + 1)
    assert pareto.hypervolume(np.empty((0, 2)), (0.0, 0.0)) == 0.0
    assert pareto.hypervolume(points, (5.0, 5.0)) == 0.0


def test_an_empty_list_of_points_has_no_hypervolume():
    """Would fail: [] was read as 0 points of 1 objective, so a 2-D reference was 'reference point has 2 values'."""
    assert pareto.hypervolume([], [0, 0]) == 0.0
    assert pareto.hypervolume([], (0.0, 4.0), ["maximize", "minimize"]) == 0.0
    assert pareto.hypervolume_progress([], [0, 0, 0]).tolist() == []
    with pytest.raises(UsageError, match="3 values for 2 objectives"):
        pareto.hypervolume(np.empty((0, 2)), [0, 0, 0])  # a 2-D array keeps its objectives


def test_hypervolume_nd_matches_grid_count():
    rng = np.random.default_rng(3)
    points = rng.integers(1, 5, size=(8, 3)).astype(float)
    grid = np.array(list(itertools.product(range(5), repeat=3))) + 0.5  # unit cells of [0, 5]^3
    covered = sum(any(np.all(p >= c) for p in points) for c in grid)
    assert pareto.hypervolume(points, (0.0, 0.0, 0.0)) == pytest.approx(covered)


@pytest.mark.parametrize("d", [2, 3, 4])
def test_hypervolume_progress_is_exact_at_every_prefix(d):
    """hypervolume_progress(points)[n-1] == hypervolume(points[:n]) for every n: large fronts (anti-correlated
    objectives), ties and duplicates, points that do not beat the reference, mixed directions."""
    rng = np.random.default_rng(d)
    points = rng.random((120, d))
    points[:, 0] = 1.0 - points[:, 1] + 0.1 * rng.random(120)
    ties = rng.integers(0, 4, size=(80, d)).astype(float)
    directions = ["maximize", "minimize"] + ["maximize"] * (d - 2)
    for values, reference, dirs in ((points, np.zeros(d), None), (ties, [0.5, 3.5] + [0.5] * (d - 2), directions)):
        exact = [pareto.hypervolume(values[:n], reference, dirs) for n in range(1, len(values) + 1)]
        assert pareto.hypervolume_progress(values, reference, dirs) == pytest.approx(exact, rel=1e-12, abs=1e-12)
    assert pareto.hypervolume_progress(np.empty((0, d)), np.zeros(d)).shape == (0,)


def test_hypervolume_refuses_non_finite_points_and_references():
    """A NaN reference returned 0.0 silently and an infinite point inf; NaN points were a bare ValueError."""
    points = np.array([[1.0, 2.0], [2.0, 1.0]])
    for function in (pareto.hypervolume, pareto.hypervolume_progress):
        for reference in ((np.nan, 0.0), (0.0, -np.inf)):
            with pytest.raises(UsageError, match="reference must be finite"):
                function(points, reference)
        with pytest.raises(UsageError, match="points must be finite: 1 point"):
            function(np.array([[1.0, 2.0], [np.inf, 1.0]]), (0.0, 0.0))
        with pytest.raises(UsageError, match="NaN"):
            function(np.array([[1.0, np.nan]]), (0.0, 0.0))
        with pytest.raises(UsageError, match="3 values for 2 objectives"):
            function(points, (0.0, 0.0, 0.0))


def test_strategies_do_not_import_analysis():
    """Layering: strategies use the leaf module, never nasforge.analysis."""
    from pathlib import Path

    import nasforge.strategies

    folder = Path(nasforge.strategies.__file__).parent
    offenders = [p.name for p in folder.rglob("*.py") if "analysis" in
                 "".join(line for line in p.read_text().splitlines() if line.lstrip().startswith(("from", "import")))]
    assert offenders == []


def test_no_objective_leaves_every_point_non_dominated():
    assert pareto.non_dominated_mask(np.empty((3, 0))).tolist() == [True, True, True]
