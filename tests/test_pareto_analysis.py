"""Pareto analysis: dominance, non-dominated sorting, crowding distance, hypervolume."""

import itertools

import numpy as np
import pytest

from nasforge.analysis.pareto import (crowding_distance, dominance_matrix, hypervolume, non_dominated_mask,
                                      non_dominated_sort, pareto_front, plot_front, to_maximization)


def _brute_front(p):
    return [i for i in range(len(p)) if not any((p[j] >= p[i]).all() and (p[j] > p[i]).any() for j in range(len(p)))]


def test_front_matches_brute_force_with_ties_and_duplicates():
    rng = np.random.default_rng(0)
    p = rng.integers(0, 5, (200, 3)).astype(float)  # many ties and duplicates
    assert pareto_front(p).tolist() == _brute_front(p)
    assert non_dominated_mask(np.array([[1.0, 1.0], [1.0, 1.0]])).all()  # equal points do not dominate each other


def test_non_dominated_sort_peels_fronts():
    rng = np.random.default_rng(1)
    p = rng.random((60, 2))
    ranks = non_dominated_sort(p)
    remaining = np.arange(len(p))
    for rank in range(ranks.max() + 1):
        front = remaining[_brute_front(p[remaining])]
        assert sorted(np.flatnonzero(ranks == rank)) == sorted(front)
        remaining = np.setdiff1d(remaining, front)
    assert remaining.size == 0
    d = dominance_matrix(p)
    assert not (d & d.T).any() and not d.diagonal().any()


def test_hypervolume_exact_values():
    assert hypervolume(np.array([[1.0, 1.0]]), [0, 0]) == 1.0
    # staircase of three boxes: 3x1 + 2x2 + 1x3, overlapping to 6
    assert hypervolume(np.array([[3, 1], [2, 2], [1, 3]]), [0, 0]) == pytest.approx(6.0)
    assert hypervolume(np.array([[1, 1, 1], [2, 0.5, 0.5]]), [0, 0, 0]) == pytest.approx(1 + 0.25)
    assert hypervolume(np.array([[-1.0, 5.0]]), [0, 0]) == 0.0  # does not beat the reference
    assert hypervolume(np.array([[2.0], [3.0]]), [1.0]) == 2.0


@pytest.mark.parametrize("d", [2, 3, 4])
def test_hypervolume_matches_inclusion_exclusion(d):
    rng = np.random.default_rng(d)
    p = rng.random((7, d))
    exact = 0.0  # inclusion-exclusion over subsets: volume of the union of boxes [0, p_i]
    for k in range(1, len(p) + 1):
        for subset in itertools.combinations(range(len(p)), k):
            exact += (-1) ** (k + 1) * np.prod(p[list(subset)].min(0))
    assert hypervolume(p, np.zeros(d)) == pytest.approx(exact)
    assert hypervolume(np.vstack([p, p[:3] * 0.5]), np.zeros(d)) == pytest.approx(exact)  # dominated add nothing


def test_crowding_distance_boundaries_and_interior():
    p = np.array([[0.0, 4.0], [1.0, 3.0], [2.0, 1.0], [4.0, 0.0]])
    cd = crowding_distance(p)
    assert np.isinf(cd[[0, 3]]).all()
    assert cd[1] == pytest.approx(2 / 4 + 3 / 4) and cd[2] == pytest.approx(3 / 4 + 3 / 4)


def test_to_maximization_and_input_errors():
    assert to_maximization([[1.0, 2.0]], ["maximize", "minimize"]).tolist() == [[1.0, -2.0]]
    with pytest.raises(ValueError, match="unknown direction"):
        to_maximization([[1.0]], ["up"])
    with pytest.raises(ValueError, match="2 directions"):
        to_maximization([[1.0]], ["maximize", "minimize"])
    with pytest.raises(ValueError, match="NaN"):
        pareto_front(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="3 values for 2 objectives"):
        hypervolume(np.ones((2, 2)), [0, 0, 0])


def test_plot_front_writes_png(tmp_path):
    x, y = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.9, 0.7])
    plot_front(str(tmp_path / "f.png"), x, y, np.array([0, 1]), "params", "acc",
               extra=(np.array([2.0]), np.array([0.95]), "retrained"))
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("directions, where, zoom", [(("minimize", "maximize"), "post", "bottom"),
                                                      (("maximize", "minimize"), "pre", "top")])
def test_plot_front_draws_the_staircase_and_zooms_by_the_directions(monkeypatch, tmp_path, directions, where, zoom):
    """The step line is the best y attainable at each x, and the y axis zooms on the front: a point far on y's bad
    side is drawn on the axis edge and counted in the legend (it was left out of view, the legend still listing
    grey trials)."""
    import nasforge.analysis.pareto as pareto_plots

    figures = []
    monkeypatch.setattr(pareto_plots, "write_figure", lambda fig, *a, **k: figures.append(fig))
    steps = []
    import matplotlib.axes

    real_step = matplotlib.axes.Axes.step
    monkeypatch.setattr(matplotlib.axes.Axes, "step",
                        lambda self, *a, **k: steps.append(k["where"]) or real_step(self, *a, **k))
    x, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([50.0, 51.0, 52.0, -1000.0 if zoom == "bottom" else 1000.0])
    plot_front(str(tmp_path / "f.png"), x, y, np.array([0, 1, 2]), "x", "y", log_x=False, directions=directions)
    ax = figures[0].axes[0]
    low, high = ax.get_ylim()
    assert steps == [where]
    assert (low > -1000 and high >= 52) if zoom == "bottom" else (high < 1000 and low <= 50)
    edge = ax.collections[-1].get_offsets()
    assert edge.tolist() == [[4.0, low if zoom == "bottom" else high]]
    labels = [t.get_text() for t in figures[0].legends[0].get_texts()]
    assert labels == ["Pareto front", f"1 other trial(s) {'below' if zoom == 'bottom' else 'above'} the axis "
                                      f"(to {y[3]:.4g})"]


def test_plot_front_without_zoom_keeps_every_point_in_view(monkeypatch, tmp_path):
    """A front of one point has no spread to zoom by: every trial stays in view (the axis was 1e-9 tall)."""
    import nasforge.analysis.pareto as pareto_plots

    figures = []
    monkeypatch.setattr(pareto_plots, "write_figure", lambda fig, *a, **k: figures.append(fig))
    x, y = np.array([1.0, 2.0, 3.0]), np.array([60.0, 20.0, 23.0])
    plot_front(str(tmp_path / "f.png"), x, y, np.array([0]), "x", "y", log_x=False)
    ax = figures[0].axes[0]
    low, high = ax.get_ylim()
    assert low < 20 and high > 60
    assert [t.get_text() for t in figures[0].legends[0].get_texts()] == ["other trials", "Pareto front"]
